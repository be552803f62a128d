//! `subscribers import`: new addresses are added as the file (and the operator) say; an
//! address already there, or on the suppression list, is never changed unless the operator
//! asks (`--update-status`), and a suppressed one never becomes mailable (docs/architecture.md
//! decision 29). The file is read as a stream, a batch per transaction: memory stays flat.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use uuid::Uuid;

use super::confirmations::Signups;
use super::input::{Input, InputError, MAX_RECORD_BYTES, unreadable};
use super::sources::{Format, ImportRow, Parsed, RowReader};
use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName, TokenKey};
use crate::store::{
    AddOutcome, Consent, NewSubscriber, Source, StatusChange, Store, StoreError, SubscriberBackup,
    SubscriberBatch, SubscriberRow, SubscriberStatus, Suppression, SuppressionReason,
};

/// Rows per transaction.
const BATCH: usize = 5000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    /// The operator's statement of the basis for the file's readers (`--consent`): without
    /// it, or a basis in the file, a reader the file calls active is imported pending.
    pub consent: Option<Consent>,
    /// Free text kept with the basis (`--note`).
    pub note: Option<String>,
    /// Existing addresses take the file's status (`--update-status`).
    pub update_status: bool,
    /// Each new pending reader is sent a confirmation mail (`--send-confirmations`): their
    /// own double opt-in makes them active.
    pub confirmations: Option<Signups>,
    pub now: i64,
}

/// What happened to one line of the file, as it happens.
#[derive(Debug)]
pub enum ImportEvent<'a> {
    /// A row that could not be used: its line and why.
    Skipped { line: u64, why: &'a str },
    /// `--update-status` changed an address.
    Changed {
        email: &'a str,
        from: SubscriberStatus,
        to: SubscriberStatus,
    },
    /// Rows read so far.
    Progress(u64),
}

#[derive(Debug, Default)]
pub struct ImportReport {
    /// New subscribers, by status.
    pub added: BTreeMap<&'static str, u64>,
    /// Already subscribers: left as they were.
    pub present: u64,
    /// The same address earlier in the file.
    pub repeated: u64,
    /// On the suppression list (by reason): not added.
    pub suppressed: BTreeMap<&'static str, u64>,
    /// Suppression entries the file added.
    pub suppressions_added: u64,
    pub changed: u64,
    /// Rows skipped (each reported by an event).
    pub skipped: u64,
    /// Active in the file, imported pending: no basis to mail them was given.
    pub pending_for_want_of_consent: u64,
    /// Confirmation mails queued for new pending readers (`--send-confirmations`).
    pub confirmations_queued: u64,
    /// Erased entries of a backup made under another key: they cannot match anything here.
    pub foreign_hashes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}: {why}")]
    Columns { path: String, why: String },
    #[error(
        "cannot read {path} any further; the rows before were imported, and importing the \
         file again adds the rest"
    )]
    Read {
        path: String,
        #[source]
        source: csv::Error,
    },
    /// Said as such (not `transparent`): the store's error stays in the chain, where the
    /// command line finds what to do about it (a full disk).
    #[error(
        "the import stopped; the batches before were imported, and importing the file again \
         adds the rest"
    )]
    Store(#[from] StoreError),
    #[error("the task writing a batch stopped")]
    Writer(#[source] tokio::task::JoinError),
}

/// Imports a file. Rows are read and checked a batch at a time, then written in one
/// transaction; `on` hears of every skipped row and status change as it happens.
pub async fn import_file(
    store: &Store,
    key: &TokenKey,
    path: &Path,
    options: &ImportOptions,
    mut on: impl FnMut(ImportEvent<'_>),
) -> Result<ImportReport, ImportError> {
    let mut input = Input::open(path)?;
    store.prepare_bulk_write().await?;
    let reader =
        RowReader::new(options.format, &input, path).map_err(|why| ImportError::Columns {
            path: path.display().to_string(),
            why,
        })?;
    let same_key = input
        .backup
        .as_ref()
        .is_none_or(|h| h.key == key.fingerprint());
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut report = ImportReport::default();
    let mut batch: Vec<ImportRow> = Vec::with_capacity(BATCH);
    let mut hashes: Vec<Suppression> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut read = 0u64;
    let width = input.headers.len();
    let mut writing: Option<tokio::task::JoinHandle<Result<Written, StoreError>>> = None;
    loop {
        let more = match input.records.read_record(&mut record) {
            Ok(more) => more,
            // The file itself cannot be read any further: what was imported so far stays
            // (each batch is its own transaction), and importing the file again adds the rest.
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(ImportError::Read {
                    path: path.display().to_string(),
                    source: e,
                });
            }
            Err(e) => {
                let line = input.tracker.line_of(e.position());
                report.skipped += 1;
                on(ImportEvent::Skipped {
                    line,
                    why: &unreadable(&e),
                });
                continue;
            }
        };
        if more {
            read += 1;
            let line = input.tracker.line_of(record.position());
            let row = if record.as_byte_record().as_slice().len() > MAX_RECORD_BYTES {
                Err(format!(
                    "the row is {} bytes long; the limit is {MAX_RECORD_BYTES}",
                    record.as_byte_record().as_slice().len()
                ))
            } else if record.len() > width.max(1) * 2 + 16 {
                Err(format!(
                    "the row has {} fields; the header has {width}",
                    record.len()
                ))
            } else {
                reader.parse(&input, &record)
            };
            match row {
                Ok(Parsed::Subscriber(row)) => batch.push(*row),
                Ok(Parsed::ErasedHash(mut s)) if same_key => {
                    s.suppressed_at = options.now;
                    hashes.push(s);
                }
                Ok(Parsed::ErasedHash(_)) => report.foreign_hashes += 1,
                Ok(Parsed::Ignored(why)) => {
                    report.skipped += 1;
                    on(ImportEvent::Skipped { line, why });
                }
                Err(why) => {
                    report.skipped += 1;
                    on(ImportEvent::Skipped { line, why: &why });
                }
            }
            if read.is_multiple_of(10_000) {
                on(ImportEvent::Progress(read));
            }
        }
        let full = batch.len() >= BATCH || hashes.len() >= BATCH;
        let pending = !(batch.is_empty() && hashes.is_empty());
        let last = !more && pending;
        if full || last {
            let mut plan = plan_batch(store, key, &batch, options, &file_name, &mut report).await?;
            report.suppressions_added += hashes.len() as u64;
            plan.suppressions.append(&mut hashes);
            batch.clear();
            // One batch is written while the next is read and checked: the database and the
            // parsing overlap. Writes stay in file order, one at a time.
            if let Some(previous) = writing.take() {
                account(store, options, previous.await, &mut report, &mut on).await?;
            }
            let store = store.clone();
            writing = Some(tokio::spawn(async move {
                let inserted = store
                    .write_subscribers(&SubscriberBatch {
                        rows: &plan.rows,
                        suppressions: &plan.suppressions,
                        changes: &plan.changes,
                    })
                    .await?;
                Ok((plan, inserted.into_iter().collect()))
            }));
        }
        if !more {
            if let Some(previous) = writing.take() {
                account(store, options, previous.await, &mut report, &mut on).await?;
            }
            on(ImportEvent::Progress(read));
            return Ok(report);
        }
    }
}

/// A batch's plan and the addresses its write inserted.
type Written = (BatchPlan, HashSet<String>);

/// Counts what a written batch did, tells `on` of its status changes, and asks its new
/// pending readers to confirm when the operator wants that.
async fn account(
    store: &Store,
    options: &ImportOptions,
    written: Result<Result<Written, StoreError>, tokio::task::JoinError>,
    report: &mut ImportReport,
    on: &mut impl FnMut(ImportEvent<'_>),
) -> Result<(), ImportError> {
    let (plan, inserted) = written.map_err(ImportError::Writer)??;
    let mut pending = Vec::new();
    for row in &plan.rows {
        if inserted.contains(&row.email_key) {
            *report.added.entry(row.data.status.as_str()).or_default() += 1;
            if row.data.status == SubscriberStatus::Pending {
                pending.push(&row.data);
            }
        } else {
            // Signed up, or written by the batch before, between the check and the write.
            report.present += 1;
        }
    }
    if let Some(signups) = &options.confirmations {
        report.confirmations_queued += ask_to_confirm(store, signups, &pending).await?;
    }
    for (email, from, to) in &plan.changed {
        on(ImportEvent::Changed {
            email,
            from: *from,
            to: *to,
        });
    }
    report.changed += plan.changed.len() as u64;
    Ok(())
}

/// Queues a confirmation mail for each of these new pending readers.
async fn ask_to_confirm(
    store: &Store,
    signups: &Signups,
    pending: &[&SubscriberBackup],
) -> Result<u64, ImportError> {
    let requests: Vec<_> = pending
        .iter()
        .filter_map(|b| {
            // Parsed when the file was read: these cannot fail.
            let email = SubscriberEmail::parse(&b.email).ok()?;
            let name = SubscriberName::parse_optional(b.name.as_deref().unwrap_or_default())
                .ok()
                .flatten();
            let zone = b
                .time_zone
                .as_deref()
                .and_then(|z| TimeZoneName::parse(z).ok());
            Some(signups.request(email, name, zone, Source::Import))
        })
        .collect();
    let outcomes = store.subscribe_batch(&requests).await?;
    Ok(outcomes.iter().filter(|o| o.queued_mail()).count() as u64)
}

/// What one batch writes.
struct BatchPlan {
    rows: Vec<SubscriberRow>,
    suppressions: Vec<Suppression>,
    changes: Vec<StatusChange>,
    changed: Vec<(String, SubscriberStatus, SubscriberStatus)>,
}

async fn plan_batch(
    store: &Store,
    key: &TokenKey,
    batch: &[ImportRow],
    options: &ImportOptions,
    file_name: &str,
    report: &mut ImportReport,
) -> Result<BatchPlan, ImportError> {
    let addresses: Vec<(String, [u8; 32])> = batch
        .iter()
        .map(|r| (r.email.normalized(), key.email_hash(&r.email)))
        .collect();
    let known = store.known_among(&addresses).await?;
    let mut plan = BatchPlan {
        rows: Vec::with_capacity(batch.len()),
        suppressions: Vec::new(),
        changes: Vec::new(),
        changed: Vec::new(),
    };
    let mut seen = HashSet::with_capacity(batch.len());
    for (row, (email_key, _)) in batch.iter().zip(&addresses) {
        if !seen.insert(email_key.as_str()) {
            report.repeated += 1;
            continue;
        }
        let suppressed = known.suppressed.get(email_key).copied();
        // What the file adds to the list stays there, whatever else happens to the row.
        if let Some(reason) = row.suppressed.or(row.status.and_then(|s| s.suppression()))
            && suppressed.is_none()
            && !known.erased.contains(email_key)
        {
            plan.suppressions.push(Suppression {
                email_key: Some(email_key.clone()),
                email_hash: None,
                reason,
                suppressed_at: row
                    .bounced_at
                    .or(row.unsubscribed_at)
                    .unwrap_or(options.now),
            });
            report.suppressions_added += 1;
        }
        if let Some(&from) = known.statuses.get(email_key) {
            let to = row.status.unwrap_or(SubscriberStatus::Active);
            if options.update_status && to != from {
                if to == SubscriberStatus::Active && suppressed.is_some() {
                    report.present += 1;
                    continue;
                }
                plan.changes.push(StatusChange {
                    email_key: email_key.clone(),
                    status: to,
                    consent: row.consent.or(options.consent),
                    consent_note: consent_note(row, options, file_name),
                    now: options.now,
                });
                plan.changed.push((row.email.as_str().to_owned(), from, to));
            } else {
                report.present += 1;
            }
            continue;
        }
        if let Some(reason) = suppressed {
            *report.suppressed.entry(reason.as_str()).or_default() += 1;
            continue;
        }
        plan.rows
            .push(new_row(key, row, email_key, options, file_name, report));
    }
    Ok(plan)
}

/// Where a basis came from: the file's own record, or the operator's statement.
fn consent_note(row: &ImportRow, options: &ImportOptions, file_name: &str) -> Option<String> {
    match (&row.consent_note, row.consent, options.consent) {
        (Some(file_note), _, _) => Some(format!("imported from {file_name}; {file_note}")),
        (None, None, Some(basis)) => Some(format!(
            "imported from {file_name}; the operator stated: {basis}{}",
            options
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )),
        _ => None,
    }
}

/// A new subscriber from a row: active only with a basis to mail them (the file's or the
/// operator's), else pending.
fn new_row(
    key: &TokenKey,
    row: &ImportRow,
    email_key: &str,
    options: &ImportOptions,
    file_name: &str,
    report: &mut ImportReport,
) -> SubscriberRow {
    let consent = row.consent.or(options.consent);
    let mut status = row.status.unwrap_or(SubscriberStatus::Active);
    if status == SubscriberStatus::Active && consent.is_none() {
        status = SubscriberStatus::Pending;
        report.pending_for_want_of_consent += 1;
    }
    let consent = match status {
        SubscriberStatus::Pending => None,
        _ => Some(consent.unwrap_or(Consent::Unknown)),
    };
    let note = consent_note(row, options, file_name);
    let id = Uuid::now_v7();
    let mut new = NewSubscriber {
        id,
        email: &row.email,
        name: row.name.as_ref(),
        time_zone: row.time_zone.as_ref(),
        status,
        source: Source::Import,
        consent,
        consent_note: note.as_deref(),
        unsubscribe_hash: key.unsubscribe_token(id).hash(),
        now: options.now,
    }
    .to_row();
    let d = &mut new.data;
    d.created_at = row.created_at.unwrap_or(options.now);
    if status == SubscriberStatus::Active {
        d.confirmed_at = row.confirmed_at.or(d.confirmed_at);
    }
    if matches!(
        status,
        SubscriberStatus::Unsubscribed | SubscriberStatus::Complained
    ) {
        d.unsubscribed_at = row.unsubscribed_at.or(d.unsubscribed_at);
        d.left_via = Some(crate::store::LeftVia::Import);
    }
    if status == SubscriberStatus::Complained {
        d.complained_at = row.unsubscribed_at.or(d.complained_at);
    }
    if status == SubscriberStatus::Bounced {
        d.bounced_at = row.bounced_at.or(d.bounced_at);
    }
    debug_assert_eq!(new.email_key, email_key);
    new
}

/// What `subscribers add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Added,
    /// Already a subscriber: nothing changed.
    Exists(SubscriberStatus),
    /// On the suppression list: not added (the operator lifts it first, `unsuppress`).
    Suppressed(SuppressionReason),
}

/// One reader the operator adds by hand and vouches for (`subscribers add`, the demo): active,
/// on the operator's word. An address on the suppression list is refused.
pub async fn add_one(
    store: &Store,
    key: &TokenKey,
    email: &SubscriberEmail,
    name: Option<&SubscriberName>,
    now: i64,
) -> Result<Added, StoreError> {
    let known = store
        .known_among(&[(email.normalized(), key.email_hash(email))])
        .await?;
    if let Some(status) = known.statuses.get(&email.normalized()) {
        return Ok(Added::Exists(*status));
    }
    if let Some(reason) = known.suppressed.get(&email.normalized()) {
        return Ok(Added::Suppressed(*reason));
    }
    let id = Uuid::now_v7();
    let new = NewSubscriber {
        id,
        email,
        name,
        time_zone: None,
        status: SubscriberStatus::Active,
        source: Source::Admin,
        consent: Some(Consent::Admin),
        consent_note: None,
        unsubscribe_hash: key.unsubscribe_token(id).hash(),
        now,
    };
    Ok(match store.add_subscriber(&new).await? {
        AddOutcome::Added => Added::Added,
        AddOutcome::Exists(status) => Added::Exists(status),
    })
}
