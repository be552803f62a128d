//! `morningpost unsubscribe-mail`: the `mailto:` half of List-Unsubscribe. The MTA delivers
//! mail for the unsubscribe address (`unsubscribe@<domain>` by default) to a maildir or an
//! mbox; this command reads each message's Subject (`unsubscribe TOKEN`), and unsubscribes
//! the subscriber the token belongs to. Maildir messages are moved from new/ to cur/, so
//! each is processed once; an mbox is only read (unsubscribing twice is harmless). The token
//! of a test copy (`send --test`) unsubscribes nobody: it is counted apart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::stdout::outln;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::domain::{Token, TokenKey};
use crate::mailbox::{Entry, Maildir, split_mbox};
use crate::store::{LeftVia, Store};

pub async fn run(
    settings: &Settings,
    maildir: Option<&Path>,
    mbox: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    let links = Links {
        store,
        key: settings.token_key()?,
    };
    let mut report = Report::default();
    if let Some(dir) = maildir {
        read_maildir(&links, dir, &mut report).await?;
    }
    if let Some(file) = mbox {
        let text = std::fs::read(file)
            .with_context(|| format!("cannot read the mbox {}", file.display()))?;
        for message in split_mbox(&text) {
            handle(&links, message, &mut report).await?;
        }
    }
    outln!(
        "{} messages read: {} unsubscribed, {} already unsubscribed, {} without a valid token, \
         {} from test copies (nobody changed)",
        report.read,
        report.unsubscribed,
        report.already,
        report.invalid,
        report.test_copies
    )?;
    if report.skipped.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for (path, why) in &report.skipped {
        eprintln!("{}: skipped: {why:#}", path.display());
    }
    eprintln!(
        "{} entries of the maildir were skipped and left where they are: remove them or move \
         them out of new/ (the other messages were processed)",
        report.skipped.len()
    );
    Ok(ExitCode::from(2))
}

/// Processes each message in `new/` and moves it to `cur/`. An entry that cannot be read or
/// moved (a folder, a file without read permission) is skipped and reported: it must not
/// keep every other reader's unsubscribe waiting. Database errors stop the run, leaving the
/// message in `new/` for the next one.
async fn read_maildir(links: &Links, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    let maildir = Maildir::open(dir)?;
    for entry in maildir.entries()? {
        match entry {
            Entry::Unreadable { path, error } => report.skipped.push((path, error.into())),
            Entry::Message { path, bytes } => {
                handle(links, &bytes, report).await?;
                if let Err(e) = maildir.mark_handled(&path) {
                    let why =
                        anyhow::Error::from(e).context("processed, but cannot be moved to cur/");
                    report.skipped.push((path, why));
                }
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Report {
    read: u64,
    unsubscribed: u64,
    already: u64,
    invalid: u64,
    test_copies: u64,
    /// Maildir entries left alone, and why.
    skipped: Vec<(PathBuf, anyhow::Error)>,
}

/// What a token is looked up in.
struct Links {
    store: Store,
    key: TokenKey,
}

async fn handle(links: &Links, message: &[u8], report: &mut Report) -> anyhow::Result<()> {
    report.read += 1;
    let Some(token) = subject(message).as_deref().and_then(token_in_subject) else {
        report.invalid += 1;
        return Ok(());
    };
    if links.key.is_test_copy(&token) {
        report.test_copies += 1;
        return Ok(());
    }
    let store = &links.store;
    match store.subscriber_by_unsubscribe_hash(&token.hash()).await? {
        Some(s) => {
            if store.unsubscribe(s.id, LeftVia::Mail, now_ms()).await? {
                crate::metrics::record::unsubscribe(LeftVia::Mail.as_str());
                tracing::info!(subscriber = %s.id, "unsubscribed by mail");
                report.unsubscribed += 1;
            } else {
                report.already += 1;
            }
        }
        None => report.invalid += 1,
    }
    Ok(())
}

/// The unfolded Subject header of a message.
fn subject(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let head = head.split("\n\n").next().unwrap_or_default();
    let unfolded = head
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("subject")
            .then(|| value.trim().to_owned())
    })
}

/// `unsubscribe TOKEN`, as our mailto: link writes it (clients may prefix "Re:" and the like).
fn token_in_subject(subject: &str) -> Option<Token> {
    let lower = subject.to_ascii_lowercase();
    let at = lower.find("unsubscribe")?;
    subject[at + "unsubscribe".len()..]
        .split_whitespace()
        .next()
        .and_then(|t| Token::parse(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_in_the_subject() {
        let token = Token::generate();
        let mail = format!(
            "From: a@example.com\r\nSubject: unsubscribe\r\n {}\r\n\r\nbody",
            token.expose()
        );
        let found = subject(mail.as_bytes())
            .as_deref()
            .and_then(token_in_subject);
        assert_eq!(found, Some(token.clone()));
        assert_eq!(
            token_in_subject(&format!("Re: Unsubscribe {}", token.expose())),
            Some(token)
        );
        assert_eq!(token_in_subject("unsubscribe please"), None);
        assert_eq!(subject(b"From: a\n\nSubject: in the body"), None);
    }
}
