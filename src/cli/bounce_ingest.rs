//! `morningpost bounces ingest --maildir DIR | --mbox FILE | -`: reads delivery reports and
//! complaints that came back to the bounce address and records them (`feedback::Ingest`).
//! From stdin (one message, as Postfix's pipe(8) or a `.forward` hands it over) a database
//! error exits 75 (EX_TEMPFAIL), so the MTA keeps the message and tries again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::stdout::outln;
use crate::config::Settings;
use crate::feedback::{Ingest, ReportSummary};
use crate::mailbox::{Entry, Maildir, split_mbox};

/// The largest report read from stdin; a delivery report with its original fits easily.
const STDIN_LIMIT: u64 = 50 * 1024 * 1024;
/// sysexits.h: "temporary failure; user is invited to retry".
const EX_TEMPFAIL: u8 = 75;

/// Where the reports are.
pub enum Source<'a> {
    Maildir(&'a Path),
    Mbox(&'a Path),
    Stdin,
}

pub async fn run(settings: &Settings, source: Source<'_>) -> anyhow::Result<ExitCode> {
    let from_stdin = matches!(source, Source::Stdin);
    match ingest(settings, source).await {
        Ok(code) => Ok(code),
        Err(e) if from_stdin => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(EX_TEMPFAIL))
        }
        Err(e) => Err(e),
    }
}

async fn ingest(settings: &Settings, source: Source<'_>) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    if settings.bounces.address.is_none() {
        eprintln!(
            "warning: bounce_address is not set: reports are matched by our Message-ID and the \
             recipient's address only (set it so each mail carries its own return path)"
        );
    }
    let ingest = Ingest::new(settings, store, settings.token_key()?);
    let mut totals = Totals::default();
    let mut skipped: Vec<(PathBuf, anyhow::Error)> = Vec::new();
    match source {
        Source::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(STDIN_LIMIT + 1)
                .read_to_end(&mut bytes)
                .context("cannot read the report from stdin")?;
            anyhow::ensure!(
                bytes.len() as u64 <= STDIN_LIMIT,
                "the message on stdin is larger than {} MB: not a delivery report",
                STDIN_LIMIT / 1024 / 1024
            );
            totals.add(&ingest.report(&bytes).await?);
        }
        Source::Mbox(file) => {
            let bytes = std::fs::read(file)
                .with_context(|| format!("cannot read the mbox {}", file.display()))?;
            for message in split_mbox(&bytes) {
                totals.add(&ingest.report(message).await?);
            }
        }
        Source::Maildir(dir) => {
            let maildir = Maildir::open(dir)?;
            for entry in maildir.entries()? {
                match entry {
                    Entry::Unreadable { path, error } => skipped.push((path, error.into())),
                    Entry::Message { path, bytes } => {
                        totals.add(&ingest.report(&bytes).await?);
                        if let Err(e) = maildir.mark_handled(&path) {
                            let why = anyhow::Error::from(e)
                                .context("processed, but cannot be moved to cur/");
                            skipped.push((path, why));
                        }
                    }
                }
            }
        }
    }
    totals.print()?;
    if skipped.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for (path, why) in &skipped {
        eprintln!("{}: skipped: {why:#}", path.display());
    }
    Ok(ExitCode::from(2))
}

#[derive(Default)]
struct Totals {
    read: u64,
    sum: ReportSummary,
    ignored: u64,
    forged: u64,
}

impl Totals {
    fn add(&mut self, s: &ReportSummary) {
        self.read += 1;
        self.sum.hard += s.hard;
        self.sum.soft += s.soft;
        self.sum.refused += s.refused;
        self.sum.complaints += s.complaints;
        self.sum.suppressed += s.suppressed;
        self.sum.duplicates += s.duplicates;
        self.sum.unmatched += s.unmatched;
        self.ignored += u64::from(s.ignored.is_some());
        self.forged += u64::from(s.forged);
        self.sum.paused.extend(s.paused.iter().cloned());
    }

    fn print(&self) -> anyhow::Result<()> {
        let s = &self.sum;
        outln!(
            "{} reports read: {} hard, {} soft, {} refused, {} complaints recorded; {} readers suppressed; \
             {} recorded before; {} not bounces or complaints (ignored); {} recipients unmatched; \
             {} with a forged return path (nothing changed)",
            self.read,
            s.hard,
            s.soft,
            s.refused,
            s.complaints,
            s.suppressed,
            s.duplicates,
            self.ignored,
            s.unmatched,
            self.forged
        )?;
        for why in &s.paused {
            outln!("send paused: {why}")?;
        }
        Ok(())
    }
}
