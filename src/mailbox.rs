//! Mail delivered to us by the MTA, as a maildir or an mbox: what `unsubscribe-mail` and
//! `bounces ingest` read. A maildir's new messages are handed over one by one and moved to
//! `cur/` once handled, so each is handled once; an mbox is only read.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The most of one message anything here reads (the bounce parser looks no further): a
/// huge file in a maildir costs no more memory than this.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// A message file's first [`MAX_MESSAGE_BYTES`].
pub fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    read_stream_capped(std::fs::File::open(path)?)
}

/// A message from a stream (stdin), its first [`MAX_MESSAGE_BYTES`].
pub fn read_stream_capped(stream: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    stream
        .take(MAX_MESSAGE_BYTES as u64)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot create {}", path.display())]
    CreateCur {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the maildir folder {}", path.display())]
    ReadNew {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A maildir's `new/` messages, read one at a time.
pub struct Maildir {
    new: PathBuf,
    cur: PathBuf,
}

/// One message of `new/`, or an entry that cannot be read (reported, left where it is).
pub enum Entry {
    Message {
        path: PathBuf,
        bytes: Vec<u8>,
    },
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl Maildir {
    pub fn open(dir: &Path) -> Result<Self, MailboxError> {
        let cur = dir.join("cur");
        std::fs::create_dir_all(&cur).map_err(|source| MailboxError::CreateCur {
            path: cur.clone(),
            source,
        })?;
        Ok(Self {
            new: dir.join("new"),
            cur,
        })
    }

    /// The entries of `new/` now (a folder or a file without read permission is an
    /// `Unreadable` entry: it must not hold up every other message).
    pub fn entries(&self) -> Result<impl Iterator<Item = Entry> + use<>, MailboxError> {
        let dir = std::fs::read_dir(&self.new).map_err(|source| MailboxError::ReadNew {
            path: self.new.clone(),
            source,
        })?;
        let new = self.new.clone();
        Ok(dir.map(move |entry| match entry {
            Ok(entry) => {
                let path = entry.path();
                match read_capped(&path) {
                    Ok(bytes) => Entry::Message { path, bytes },
                    Err(error) => Entry::Unreadable { path, error },
                }
            }
            Err(error) => Entry::Unreadable {
                path: new.clone(),
                error,
            },
        }))
    }

    /// Moves a handled message to `cur/`, flagged seen.
    pub fn mark_handled(&self, path: &Path) -> std::io::Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::rename(path, self.cur.join(format!("{name}:2,S")))
    }
}

/// Messages of an mbox: each starts with a line `From `, which is not part of it.
pub fn split_mbox(bytes: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut at_line_start = true;
    for (i, b) in bytes.iter().enumerate() {
        if at_line_start
            && bytes
                .get(i..)
                .is_some_and(|rest| rest.starts_with(b"From "))
        {
            starts.push(i);
        }
        at_line_start = *b == b'\n';
    }
    starts
        .iter()
        .enumerate()
        .filter_map(|(n, &start)| {
            let end = starts.get(n + 1).copied().unwrap_or(bytes.len());
            let message = bytes.get(start..end)?;
            // Skip the `From ` envelope line itself.
            Some(
                message
                    .iter()
                    .position(|b| *b == b'\n')
                    .and_then(|nl| message.get(nl + 1..))
                    .unwrap_or(message),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mbox_splits_into_messages() {
        let mbox = b"From a@example.com Fri Nov 27 06:00:00 2026\nSubject: one\n\nx\nFrom b@example.com Fri Nov 27 06:00:01 2026\nSubject: two\n\ny\n";
        let messages = split_mbox(mbox);
        assert_eq!(messages.len(), 2);
        assert!(messages[1].starts_with(b"Subject: two"));
        assert!(split_mbox(b"").is_empty());
    }

    #[test]
    fn a_maildir_hands_over_new_messages_and_files_them_in_cur() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("new/folder")).unwrap();
        std::fs::write(dir.path().join("new/1.eml"), b"Subject: x\n\n").unwrap();
        let maildir = Maildir::open(dir.path()).unwrap();
        let mut messages = 0;
        let mut unreadable = 0;
        for entry in maildir.entries().unwrap() {
            match entry {
                Entry::Message { path, .. } => {
                    messages += 1;
                    maildir.mark_handled(&path).unwrap();
                }
                Entry::Unreadable { .. } => unreadable += 1,
            }
        }
        assert_eq!((messages, unreadable), (1, 1));
        assert!(dir.path().join("cur/1.eml:2,S").exists());
    }
}
