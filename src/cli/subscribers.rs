//! `morningpost subscribers …`: add, import, list, export, show, remove, set-zone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::csv_format::{LineIndex, neutralize, restore};
use super::stdout::{outln, write_bytes};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName, TokenKey};
use crate::store::{AddOutcome, NewSubscriber, Store, SubscriberStatus};

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add one active subscriber (you vouch for their consent).
    Add {
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Import subscribers from a CSV file with a header row: `email`, and optional `name`,
    /// `status` (as `export` writes it: a reader who left, bounced or complained is imported
    /// as such, never mailed; without it, active) and `time_zone` (or `timezone`: an IANA name
    /// such as Europe/Berlin).
    Import { file: PathBuf },
    /// List subscribers: address, name, status, time zone (`-`: the newsletter's).
    List {
        /// pending, active, unsubscribed, bounced or complained.
        #[arg(long)]
        status: Option<String>,
    },
    /// Write every subscriber as CSV to standard output.
    Export,
    /// Everything held about one address: status and its dates, confirmation mails,
    /// deliveries with their outcomes, bounces and complaints (a reader's access request).
    Show { email: String },
    /// Unsubscribe one address (what is queued for them is cancelled). Exit 1 when unknown.
    Remove { email: String },
    /// Set the time zone a local-morning send uses for one subscriber.
    SetZone {
        email: String,
        /// An IANA name such as Europe/Berlin; `-` or `none` clears it (the newsletter's
        /// `timezone` applies).
        zone: String,
    },
}

pub async fn run(settings: &Settings, cmd: SubscribersCommand) -> anyhow::Result<ExitCode> {
    // Adding may create the database; reading may not, and checks its arguments first, so a
    // typo is reported as a typo, not as a missing database.
    use super::Open::{CreateIfMissing, MustExist};
    match cmd {
        SubscribersCommand::Add { email, name } => {
            let store = super::open_store(settings, CreateIfMissing).await?;
            let email =
                SubscriberEmail::parse(&email).with_context(|| format!("cannot add {email:?}"))?;
            let name = SubscriberName::parse_optional(name.as_deref().unwrap_or_default())
                .context("cannot use that name")?;
            let key = settings.token_key()?;
            let new = new_subscriber(&key, &email, name.as_ref());
            match store.add_subscriber(&new).await? {
                AddOutcome::Added => outln!("added {email} (active)")?,
                AddOutcome::Exists(status) => {
                    outln!("{email} is already a subscriber ({status}); nothing changed")?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Import { file } => {
            let store = super::open_store(settings, CreateIfMissing).await?;
            import(settings, &store, &file).await
        }
        SubscribersCommand::List { status } => {
            let status = status
                .map(|s| {
                    SubscriberStatus::parse(&s).with_context(|| {
                        format!(
                            "unknown status {s:?}: use pending, active, unsubscribed, bounced or complained"
                        )
                    })
                })
                .transpose()?;
            let store = super::open_store(settings, MustExist).await?;
            for s in store.subscribers(status).await? {
                outln!(
                    "{}\t{}\t{}\t{}",
                    s.email,
                    s.name.as_deref().unwrap_or("-"),
                    s.status,
                    s.time_zone.as_deref().unwrap_or("-")
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Export => export(&super::open_store(settings, MustExist).await?).await,
        SubscribersCommand::SetZone { email, zone } => {
            super::set_zone::run(settings, &email, &zone).await
        }
        SubscribersCommand::Show { email } => {
            super::subscriber_record::show(&super::open_store(settings, MustExist).await?, &email)
                .await
        }
        SubscribersCommand::Remove { email } => {
            super::subscriber_record::remove(&super::open_store(settings, MustExist).await?, &email)
                .await
        }
    }
}

/// Every subscriber as CSV on standard output.
async fn export(store: &Store) -> anyhow::Result<ExitCode> {
    let subscribers = store.subscribers(None).await?;
    write_bytes(&csv_bytes([[
        "email",
        "name",
        "status",
        "created_at",
        "time_zone",
    ]])?)?;
    for chunk in subscribers.chunks(1000) {
        let created: Vec<String> = chunk.iter().map(|s| rfc3339(s.created_at)).collect();
        let rows = chunk.iter().zip(&created).map(|(s, created)| {
            [
                s.email.as_str(),
                s.name.as_deref().unwrap_or(""),
                s.status.as_str(),
                created.as_str(),
                s.time_zone.as_deref().unwrap_or(""),
            ]
        });
        write_bytes(&csv_bytes(rows)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Rows as CSV, each cell safe to open in a spreadsheet. In memory, then written with
/// `write_bytes`, so that a closed pipe is recognised as standard output's (stdout.rs).
fn csv_bytes<'a>(rows: impl IntoIterator<Item = [&'a str; 5]>) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.write_record(row.map(neutralize).iter().map(|cell| cell.as_bytes()))?;
    }
    Ok(out.into_inner().map_err(|e| e.into_error())?)
}

/// Milliseconds since the epoch as RFC 3339; empty if out of range.
pub(super) use crate::clock::rfc3339;

pub fn new_subscriber<'a>(
    key: &TokenKey,
    email: &'a SubscriberEmail,
    name: Option<&'a SubscriberName>,
) -> NewSubscriber<'a> {
    let id = uuid::Uuid::now_v7();
    NewSubscriber {
        id,
        email,
        name,
        time_zone: None,
        status: SubscriberStatus::Active,
        unsubscribe_hash: key.unsubscribe_token(id).hash(),
        now: now_ms(),
    }
}

/// One parsed row of an import file.
pub(crate) struct ImportRow {
    pub email: SubscriberEmail,
    pub name: Option<SubscriberName>,
    /// `None`: the cell was empty or there is no such column.
    pub time_zone: Option<TimeZoneName>,
    /// The file's `status` column (what `subscribers export` writes); active without one.
    /// A reader who left, bounced or complained is imported as such: never mailed.
    pub status: SubscriberStatus,
}

/// A rejected row: the line of the file it starts on, and why.
pub(crate) type BadRow = (u64, String);

/// Reads a CSV file: good rows, and a [`BadRow`] for each bad one.
pub(crate) fn read_csv(file: &Path) -> anyhow::Result<(Vec<ImportRow>, Vec<BadRow>)> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut lines = LineIndex::new(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .context("cannot read the header row")?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let email_col = headers.iter().position(|h| h == "email").with_context(|| {
        format!(
            "{}: the header row has no `email` column (found: {})",
            file.display(),
            headers.join(", ")
        )
    })?;
    let name_col = headers.iter().position(|h| h == "name");
    let zone_col = zone_column(&headers).with_context(|| file.display().to_string())?;
    let status_col = headers.iter().position(|h| h == "status");
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                bad.push((lines.line_of(e.position()), unreadable(&e)));
                continue;
            }
        };
        let line = lines.line_of(record.position());
        let Some(raw_email) = record.get(email_col).map(restore) else {
            bad.push((line, "the row has no email field".to_owned()));
            continue;
        };
        let email = match SubscriberEmail::parse(raw_email) {
            Ok(e) => e,
            Err(e) => {
                bad.push((line, format!("{raw_email:?}: {e}")));
                continue;
            }
        };
        let raw_name = name_col.and_then(|c| record.get(c)).unwrap_or_default();
        let name = match SubscriberName::parse_optional(restore(raw_name)) {
            Ok(n) => n,
            Err(e) => {
                bad.push((line, format!("name of {email}: {e}")));
                continue;
            }
        };
        let raw_zone = zone_col.and_then(|c| record.get(c)).map(restore);
        let time_zone = match raw_zone.filter(|z| !z.is_empty()).map(TimeZoneName::parse) {
            None => None,
            Some(Ok(zone)) => Some(zone),
            Some(Err(e)) => {
                bad.push((line, format!("time zone of {email}: {e}")));
                continue;
            }
        };
        let raw_status = status_col.and_then(|c| record.get(c)).map(restore);
        let status = match raw_status.filter(|s| !s.is_empty()) {
            None => SubscriberStatus::Active,
            Some(s) => match SubscriberStatus::parse(&s.to_ascii_lowercase()) {
                Some(status) => status,
                None => {
                    bad.push((
                        line,
                        format!(
                            "status of {email}: {s:?} is not one of pending, active, unsubscribed, bounced, complained"
                        ),
                    ));
                    continue;
                }
            },
        };
        good.push(ImportRow {
            email,
            name,
            time_zone,
            status,
        });
    }
    Ok((good, bad))
}

/// The column of the time zone, `time_zone` or `timezone`, if there is one.
fn zone_column(headers: &[String]) -> anyhow::Result<Option<usize>> {
    let mut columns = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| *h == "time_zone" || *h == "timezone")
        .map(|(i, _)| i);
    let first = columns.next();
    if columns.next().is_some() {
        anyhow::bail!(
            "the header row names the time zone column twice (`time_zone`, `timezone`): keep one"
        );
    }
    Ok(first)
}

/// Why a row could not be read. The csv crate's own text would name its own line count.
fn unreadable(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "the row is not valid UTF-8: save the file as UTF-8".to_owned()
        }
        _ => format!("unreadable row: {e}"),
    }
}

async fn import(settings: &Settings, store: &Store, file: &Path) -> anyhow::Result<ExitCode> {
    let (rows, bad) = read_csv(file)?;
    for (line, why) in &bad {
        eprintln!("{}:{line}: skipped: {why}", file.display());
    }
    let key = settings.token_key()?;
    let (mut added, mut existing) = (0u64, 0u64);
    let mut not_active: std::collections::BTreeMap<&'static str, u64> = Default::default();
    for chunk in rows.chunks(1000) {
        let batch: Vec<NewSubscriber<'_>> = chunk
            .iter()
            .map(|r| NewSubscriber {
                time_zone: r.time_zone.as_ref(),
                status: r.status,
                ..new_subscriber(&key, &r.email, r.name.as_ref())
            })
            .collect();
        for (outcome, row) in store.import_subscribers(&batch).await?.iter().zip(chunk) {
            match outcome {
                AddOutcome::Added => {
                    added += 1;
                    if row.status != SubscriberStatus::Active {
                        *not_active.entry(row.status.as_str()).or_default() += 1;
                    }
                }
                AddOutcome::Exists(_) => existing += 1,
            }
        }
    }
    outln!(
        "imported {added} new subscribers; {existing} were already present (left unchanged); {} rows skipped",
        bad.len()
    )?;
    if !not_active.is_empty() {
        let list: Vec<String> = not_active.iter().map(|(s, n)| format!("{n} {s}")).collect();
        outln!(
            "  of the new ones, imported as the file says and not mailed: {}",
            list.join(", ")
        )?;
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
