//! `morningpost bounces ingest --maildir DIR | --mbox FILE | -`: reads delivery reports and
//! complaints that came back to the bounce address and records them (`feedback::Ingest`).
//! From stdin (one message, as Postfix's pipe(8) or a `.forward` hands it over) a database
//! error exits 75 (EX_TEMPFAIL), so the MTA keeps the message and tries again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinSet;

use super::stdout::outln;
use crate::config::Settings;
use crate::feedback::{Ingest, ReportSummary, Totals};
use crate::mailbox::{Entry, Maildir, read_stream_capped, split_mbox};
use crate::store::StoreError;

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
            let bytes = read_stream_capped(std::io::stdin())
                .context("cannot read the report from stdin")?;
            totals.add(&ingest.report(&bytes).await?);
        }
        Source::Mbox(file) => {
            let bytes = std::fs::read(file)
                .with_context(|| format!("cannot read the mbox {}", file.display()))?;
            let ingest = Arc::new(ingest);
            let mut tasks = JoinSet::new();
            for message in split_mbox(&bytes) {
                make_room(&mut tasks, &mut totals, &mut skipped).await?;
                let (ingest, message) = (ingest.clone(), message.to_vec());
                tasks.spawn(async move { Ok((ingest.report(&message).await?, None)) });
            }
            drain(&mut tasks, &mut totals, &mut skipped).await?;
        }
        Source::Maildir(dir) => {
            let maildir = Arc::new(Maildir::open(dir)?);
            let ingest = Arc::new(ingest);
            let mut tasks = JoinSet::new();
            for entry in maildir.entries()? {
                match entry {
                    Entry::Unreadable { path, error } => skipped.push((path, error.into())),
                    Entry::Message { path, bytes } => {
                        make_room(&mut tasks, &mut totals, &mut skipped).await?;
                        let (ingest, maildir) = (ingest.clone(), maildir.clone());
                        tasks.spawn(async move {
                            let summary = ingest.report(&bytes).await?;
                            // Filed only once recorded: a report whose run stopped on an
                            // error stays in new/ for the next run (recording twice is harmless).
                            let unmoved = maildir.mark_handled(&path).err().map(|e| (path, e));
                            Ok((summary, unmoved))
                        });
                    }
                }
            }
            drain(&mut tasks, &mut totals, &mut skipped).await?;
        }
    }
    print(&totals)?;
    if skipped.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for (path, why) in &skipped {
        eprintln!("{}: skipped: {why:#}", path.display());
    }
    Ok(ExitCode::from(2))
}

/// Reports recorded at once: PostgreSQL commits them in parallel, and on SQLite parsing
/// overlaps the one writer's commits.
const IN_FLIGHT: usize = 8;

/// What one report's task came to: its summary, and a maildir file it could not file away.
type Done = Result<(ReportSummary, Option<(PathBuf, std::io::Error)>), StoreError>;

/// Waits for a task to finish when `IN_FLIGHT` are running.
async fn make_room(
    tasks: &mut JoinSet<Done>,
    totals: &mut Totals,
    skipped: &mut Vec<(PathBuf, anyhow::Error)>,
) -> anyhow::Result<()> {
    while tasks.len() >= IN_FLIGHT {
        if let Some(done) = tasks.join_next().await {
            collect(done, totals, skipped)?;
        }
    }
    Ok(())
}

async fn drain(
    tasks: &mut JoinSet<Done>,
    totals: &mut Totals,
    skipped: &mut Vec<(PathBuf, anyhow::Error)>,
) -> anyhow::Result<()> {
    while let Some(done) = tasks.join_next().await {
        collect(done, totals, skipped)?;
    }
    Ok(())
}

/// Adds a finished task to the totals; a database error stops the run (the tasks still
/// running are dropped, their messages stay in new/).
fn collect(
    done: Result<Done, tokio::task::JoinError>,
    totals: &mut Totals,
    skipped: &mut Vec<(PathBuf, anyhow::Error)>,
) -> anyhow::Result<()> {
    let (summary, unmoved) = done.context("a report's task failed")??;
    totals.add(&summary);
    if let Some((path, e)) = unmoved {
        let why = anyhow::Error::from(e).context("processed, but cannot be moved to cur/");
        skipped.push((path, why));
    }
    Ok(())
}

/// Prints a run's totals.
fn print(totals: &Totals) -> anyhow::Result<()> {
    let s = &totals.sum;
    outln!(
        "{} reports read: {} hard, {} soft, {} refused, {} complaints recorded; {} readers suppressed; \
         {} recorded before; {} not bounces or complaints (ignored); {} recipients unmatched; \
         {} with a forged return path (nothing changed)",
        totals.read,
        s.hard,
        s.soft,
        s.refused,
        s.complaints,
        s.suppressed,
        s.duplicates,
        totals.ignored,
        s.unmatched,
        totals.forged
    )?;
    for why in &s.paused {
        outln!("send paused: {why}")?;
    }
    Ok(())
}
