//! The outbox folder: each message as `<message-id>.eml`. Messages hold every reader's address
//! and unsubscribe link, so the folder is the owner's alone (0700) and so is each file (0600).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Creates the folder (and its missing parents) readable by its owner only. A folder that
/// already exists keeps the permissions its owner gave it.
pub fn create_folder(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes a small file into the folder and removes it again, as a message's file is
/// written (0600, a new name): whether the folder takes messages now (`doctor`).
pub fn probe(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = dir.join(format!(".probe.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let written = file
        .write_all(b"morningpost doctor\n")
        .and_then(|()| file.sync_all());
    drop(file);
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}

/// The folder as the worker's slots share it. It remembers the temporary files it could
/// not remove when a write failed (the folder turned read-only between a file's creation
/// and its rename) and removes them after the next write that succeeds, so that a fault
/// leaves nothing half-written behind once it is over. (A slot drops its sender when the
/// folder fails, hence the list is the folder's.)
#[derive(Debug)]
pub struct Folder {
    dir: PathBuf,
    left_behind: std::sync::Mutex<Vec<PathBuf>>,
}

impl Folder {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            left_behind: std::sync::Mutex::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `<message-id>.eml` atomically: a re-sent copy replaces the first one. Returns
    /// the reply recorded for the delivery.
    pub async fn write(&self, message_id: &str, bytes: &[u8]) -> std::io::Result<String> {
        let written = write(&self.dir, message_id, bytes).await;
        let mut left_behind = self.left_behind.lock().unwrap_or_else(|p| p.into_inner());
        match &written {
            Ok(_) => left_behind.retain(|tmp| !removed(tmp)),
            Err(Failed { tmp: Some(tmp), .. }) if !removed(tmp) => left_behind.push(tmp.clone()),
            Err(_) => {}
        }
        written.map_err(|f| f.error)
    }
}

/// Whether `path` is gone now.
fn removed(path: &Path) -> bool {
    match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

struct Failed {
    error: std::io::Error,
    /// The temporary file, once it was created.
    tmp: Option<PathBuf>,
}

async fn write(dir: &Path, message_id: &str, bytes: &[u8]) -> Result<String, Failed> {
    use tokio::io::AsyncWriteExt;

    let name: String = message_id
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .await
        .map_err(|error| Failed { error, tmp: None })?;
    let written = async {
        file.write_all(bytes).await?;
        file.flush().await?;
        drop(file);
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    match written {
        Ok(()) => Ok(format!("250 written to {}", path.display())),
        Err(error) => Err(Failed {
            error,
            tmp: Some(tmp),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary file that could not be removed when its write failed is removed after
    /// the folder's next write that succeeds.
    #[tokio::test]
    async fn a_temporary_file_left_by_a_failed_write_goes_with_the_next_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path().to_owned());
        let stale = dir.path().join(".m1@example.com.0123.tmp");
        std::fs::write(&stale, b"half").unwrap();
        let gone = dir.path().join(".already-gone.tmp");
        folder
            .left_behind
            .lock()
            .unwrap()
            .extend([stale.clone(), gone]);
        let reply = folder.write("<m2@example.com>", b"whole").await.unwrap();
        assert!(reply.starts_with("250 written to "), "{reply}");
        assert!(!stale.exists());
        let left = folder.left_behind.lock().unwrap();
        assert!(left.is_empty(), "{left:?}");
        drop(left);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m2@example.com.eml"]);
    }
}
