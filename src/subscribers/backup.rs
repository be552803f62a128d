//! `subscribers export` and `subscribers import --restore`: every fact the database holds
//! about each subscriber, and the suppression list, in a CSV file whose first line names its
//! format version and the secret key it was made under (docs/architecture.md decision 29).
//! Export → restore → export gives the same bytes, on either backend.

use std::path::Path;

use uuid::Uuid;

use super::cells::{neutralize, restore};
use super::input::{Input, InputError, unreadable};
use super::times::{format_ms, parse_ms};
use crate::domain::{SubscriberEmail, TokenKey};
use crate::store::{
    Consent, LeftVia, Source, Store, StoreError, SubscriberBackup, SubscriberBatch, SubscriberRow,
    SubscriberStatus, Suppression, SuppressionReason,
};

/// The format this version writes. A later version reads every earlier one.
pub const FORMAT: u32 = 1;
const MAGIC: &str = "#morningpost-subscribers";

/// The columns of format 1, in order.
pub const COLUMNS: [&str; 21] = [
    "email",
    "name",
    "status",
    "source",
    "consent",
    "consent_note",
    "created_at",
    "updated_at",
    "confirmed_at",
    "confirm_ip",
    "confirm_user_agent",
    "unsubscribed_at",
    "left_via",
    "bounced_at",
    "bounce_reply",
    "complained_at",
    "time_zone",
    "suppressed",
    "suppressed_at",
    "email_hash",
    "id",
];

/// Rows read or written per database round trip.
const PAGE: usize = 2000;

/// A backup's first line: `#morningpost-subscribers format=1 key=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupHeader {
    pub format: u32,
    /// [`TokenKey::fingerprint`] of the key the file was made under.
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "the first line starts with `#` but is not a morningpost backup's (`{MAGIC} format=N key=…`)"
    )]
    NotOurs,
    #[error(
        "this backup has format {0}, newer than this morningpost reads ({FORMAT}): upgrade morningpost"
    )]
    Newer(u32),
}

impl BackupHeader {
    pub fn for_key(key: &TokenKey) -> Self {
        Self {
            format: FORMAT,
            key: key.fingerprint(),
        }
    }

    pub fn line(&self) -> String {
        format!("{MAGIC} format={} key={}\n", self.format, self.key)
    }

    pub fn parse(line: &[u8]) -> Result<Self, HeaderError> {
        let line = std::str::from_utf8(line).map_err(|_| HeaderError::NotOurs)?;
        let mut words = line.split_whitespace();
        if words.next() != Some(MAGIC) {
            return Err(HeaderError::NotOurs);
        }
        let (mut format, mut key) = (None, None);
        for word in words {
            match word.split_once('=') {
                Some(("format", v)) => format = v.parse::<u32>().ok(),
                Some(("key", v)) => key = Some(v.to_owned()),
                _ => {}
            }
        }
        let (Some(format), Some(key)) = (format, key) else {
            return Err(HeaderError::NotOurs);
        };
        if format > FORMAT {
            return Err(HeaderError::Newer(format));
        }
        Ok(Self { format, key })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export")]
    Csv(#[from] csv::Error),
    #[error("cannot write the export")]
    Write(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(
        "{0} is not a morningpost backup (its first line is not `{MAGIC} …`): import it without --restore"
    )]
    NotABackup(String),
    #[error(
        "the header row is not format {FORMAT}'s: expected {expected}, found {found}",
        expected = COLUMNS.join(","),
    )]
    Columns { found: String },
    #[error(
        "this backup was made under another secret key (fingerprint {file}, this installation's {ours}): \
         its unsubscribe links and erased addresses would not match. Put the old installation's \
         `secret_key` in the config, or import the file without --restore"
    )]
    OtherKey { file: String, ours: String },
    #[error(
        "the database already holds subscribers or suppressions: a restore goes into an empty database \
         (run `morningpost init` with a new database url), or import the file without --restore to merge it"
    )]
    NotEmpty,
    #[error("{count} rows cannot be restored (listed above); nothing was written")]
    BadRows { count: usize },
    #[error(
        "the file changed while it was restored ({0}): what was written so far stays; \
         start again with an empty database"
    )]
    Changed(String),
}

/// Writes every subscriber, then the suppression entries that belong to none, through
/// `sink`, a page at a time: memory stays flat whatever the list's size. Returns the number
/// of rows written.
pub async fn export<E>(
    store: &Store,
    key: &TokenKey,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, BackupError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let mut write = |bytes: &[u8]| sink(bytes).map_err(|e| BackupError::Write(Box::new(e)));
    write(BackupHeader::for_key(key).line().as_bytes())?;
    write(&csv_rows([COLUMNS.map(str::to_owned)])?)?;
    let mut rows = 0u64;
    let mut after: Option<Uuid> = None;
    loop {
        let page = store
            .backup_page(after, i64::try_from(PAGE).unwrap_or(i64::MAX))
            .await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.id);
        rows += page.len() as u64;
        write(&csv_rows(
            page.iter().map(|(b, s)| subscriber_cells(b, *s)),
        )?)?;
        if page.len() < PAGE {
            break;
        }
    }
    let orphans = store.orphan_suppressions().await?;
    rows += orphans.len() as u64;
    write(&csv_rows(orphans.iter().map(suppression_cells))?)?;
    Ok(rows)
}

fn csv_rows(rows: impl IntoIterator<Item = [String; 21]>) -> Result<Vec<u8>, BackupError> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        out.write_record(row.iter().map(|cell| neutralize(cell).into_owned()))?;
    }
    out.into_inner()
        .map_err(|e| BackupError::Csv(csv::Error::from(e.into_error())))
}

fn time(ms: Option<i64>) -> String {
    ms.map(format_ms).unwrap_or_default()
}

fn subscriber_cells(b: &SubscriberBackup, s: Option<(SuppressionReason, i64)>) -> [String; 21] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        b.email.clone(),
        text(&b.name),
        b.status.as_str().to_owned(),
        b.source.as_str().to_owned(),
        b.consent.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        text(&b.consent_note),
        format_ms(b.created_at),
        format_ms(b.updated_at),
        time(b.confirmed_at),
        text(&b.confirm_ip),
        text(&b.confirm_user_agent),
        time(b.unsubscribed_at),
        b.left_via
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default(),
        time(b.bounced_at),
        text(&b.bounce_reply),
        time(b.complained_at),
        text(&b.time_zone),
        s.map(|(r, _)| r.as_str().to_owned()).unwrap_or_default(),
        time(s.map(|(_, at)| at)),
        String::new(),
        b.id.simple().to_string(),
    ]
}

/// A row for an entry without a subscriber: the address (or, erased, its hash) and why.
fn suppression_cells(s: &Suppression) -> [String; 21] {
    let mut cells: [String; 21] = Default::default();
    cells[0] = s.email_key.clone().unwrap_or_default();
    cells[17] = s.reason.as_str().to_owned();
    cells[18] = format_ms(s.suppressed_at);
    cells[19] = s.email_hash.map(hex::encode).unwrap_or_default();
    cells
}

/// One row of a backup, read back.
#[derive(Debug)]
pub enum BackupRow {
    Subscriber {
        data: Box<SubscriberBackup>,
        email_key: String,
        suppression: Option<Suppression>,
    },
    Suppression(Suppression),
}

/// Reads one record of a format-1 file. The error says what is wrong with it. (The
/// unsubscribe hash is derived when the row is written: the checking pass needs none.)
pub fn parse_row(record: &csv::StringRecord) -> Result<BackupRow, String> {
    let cell = |i: usize| restore(record.get(i).unwrap_or_default());
    let opt = |i: usize| Some(cell(i).to_owned()).filter(|c| !c.is_empty());
    let time_at = |i: usize| -> Result<Option<i64>, String> {
        match cell(i) {
            "" => Ok(None),
            t => parse_ms(t)
                .map(Some)
                .ok_or_else(|| format!("{}: {t:?} is not an RFC 3339 time", COLUMNS[i])),
        }
    };
    let word = |i: usize, parse: fn(&str) -> bool| -> Result<Option<String>, String> {
        match cell(i) {
            "" => Ok(None),
            w if parse(w) => Ok(Some(w.to_owned())),
            w => Err(format!("{}: {w:?} is not a known value", COLUMNS[i])),
        }
    };
    if record.len() != COLUMNS.len() {
        return Err(format!(
            "the row has {} fields; format {FORMAT} has {}",
            record.len(),
            COLUMNS.len()
        ));
    }
    let suppression = match word(17, |w| SuppressionReason::parse(w).is_some())? {
        Some(reason) => Some((
            SuppressionReason::parse(&reason).ok_or("suppressed: unknown reason")?,
            time_at(18)?.ok_or("suppressed_at: missing")?,
        )),
        None => None,
    };
    if cell(20).is_empty() {
        // An entry without a subscriber.
        let (reason, suppressed_at) =
            suppression.ok_or("a row without id must be a suppression")?;
        let email_hash = match cell(19) {
            "" => None,
            h => Some(
                hex::decode(h)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or("email_hash: not 64 hex digits")?,
            ),
        };
        let email_key = match cell(0) {
            "" => None,
            e => Some(
                SubscriberEmail::parse(e)
                    .map_err(|err| format!("{e:?}: {err}"))?
                    .normalized(),
            ),
        };
        if email_key.is_none() && email_hash.is_none() {
            return Err("a suppression row needs an email or an email_hash".into());
        }
        return Ok(BackupRow::Suppression(Suppression {
            email_key,
            email_hash,
            reason,
            suppressed_at,
        }));
    }
    let email = SubscriberEmail::parse(cell(0)).map_err(|e| format!("{:?}: {e}", cell(0)))?;
    let id = Uuid::try_parse(cell(20)).map_err(|_| format!("id: {:?} is not a uuid", cell(20)))?;
    let parse_word = |i: usize, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{}: {:?} is not a known value",
                COLUMNS[i],
                cell(i)
            ))
        }
    };
    let status = SubscriberStatus::parse(cell(2));
    parse_word(2, status.is_some())?;
    let source = Source::parse(cell(3));
    parse_word(3, source.is_some())?;
    let consent = word(4, |w| Consent::parse(w).is_some())?.and_then(|c| Consent::parse(&c));
    let left_via = word(12, |w| LeftVia::parse(w).is_some())?.and_then(|v| LeftVia::parse(&v));
    let (Some(status), Some(source)) = (status, source) else {
        return Err("status or source missing".into());
    };
    let time_zone = match opt(16) {
        None => None,
        Some(z) => Some(
            crate::domain::TimeZoneName::parse(&z)
                .map_err(|e| format!("time_zone: {e}"))?
                .as_str()
                .to_owned(),
        ),
    };
    let name = crate::domain::SubscriberName::parse_optional(cell(1))
        .map_err(|e| format!("name: {e}"))?
        .map(|n| n.as_str().to_owned());
    let email_key = email.normalized();
    let data = SubscriberBackup {
        id,
        email: email.as_str().to_owned(),
        name,
        status,
        source,
        consent,
        consent_note: opt(5),
        created_at: time_at(6)?.ok_or("created_at: missing")?,
        updated_at: time_at(7)?.ok_or("updated_at: missing")?,
        confirmed_at: time_at(8)?,
        confirm_ip: opt(9),
        confirm_user_agent: opt(10),
        unsubscribed_at: time_at(11)?,
        left_via,
        bounced_at: time_at(13)?,
        bounce_reply: opt(14),
        complained_at: time_at(15)?,
        time_zone,
    };
    let suppression = suppression.map(|(reason, suppressed_at)| Suppression {
        email_key: Some(email_key.clone()),
        email_hash: None,
        reason,
        suppressed_at,
    });
    Ok(BackupRow::Subscriber {
        data: Box::new(data),
        email_key,
        suppression,
    })
}

/// What a restore wrote.
#[derive(Debug, Default)]
pub struct Restored {
    pub subscribers: u64,
    pub suppressions: u64,
}

/// Restores a backup into an empty database. The file is read twice: a first pass checks
/// every row (one bad row and nothing is written, each reported through `bad`), the second
/// writes it a page per transaction.
pub async fn restore_file(
    store: &Store,
    key: &TokenKey,
    path: &Path,
    mut bad: impl FnMut(u64, &str),
) -> Result<Restored, BackupError> {
    if store.holds_subscriber_data().await? {
        return Err(BackupError::NotEmpty);
    }
    let mut count = 0usize;
    for_each_row(key, path, |line, row| {
        if let Err(why) = row {
            bad(line, why);
            count += 1;
        }
    })?;
    if count > 0 {
        return Err(BackupError::BadRows { count });
    }
    store.prepare_bulk_write().await?;
    let mut restored = Restored::default();
    // The csv reader is not `Send`: rows are gathered a page at a time, written between reads.
    let mut input = open_backup(key, path)?;
    let mut record = csv::StringRecord::new();
    let (mut rows, mut suppressions) = (Vec::with_capacity(PAGE), Vec::new());
    loop {
        let more = input
            .records
            .read_record(&mut record)
            .map_err(|e| BackupError::Changed(unreadable(&e)))?;
        if more {
            // Lets the tracker drop what it counted (lines are not needed on this pass).
            input.tracker.line_of(record.position());
            match parse_row(&record).map_err(BackupError::Changed)? {
                BackupRow::Subscriber {
                    data,
                    email_key,
                    suppression,
                } => {
                    rows.push(SubscriberRow {
                        unsubscribe_hash: key.unsubscribe_token(data.id).hash(),
                        data: *data,
                        email_key,
                    });
                    suppressions.extend(suppression);
                }
                BackupRow::Suppression(s) => suppressions.push(s),
            }
        }
        let full = rows.len() >= PAGE || suppressions.len() >= PAGE;
        let pending = !(rows.is_empty() && suppressions.is_empty());
        let last = !more && pending;
        if full || last {
            store
                .write_subscribers(&SubscriberBatch {
                    rows: &rows,
                    suppressions: &suppressions,
                    changes: &[],
                })
                .await?;
            restored.subscribers += rows.len() as u64;
            restored.suppressions += suppressions.len() as u64;
            rows.clear();
            suppressions.clear();
        }
        if !more {
            return Ok(restored);
        }
    }
}

fn open_backup(key: &TokenKey, path: &Path) -> Result<Input, BackupError> {
    let input = Input::open(path)?;
    let Some(header) = &input.backup else {
        return Err(BackupError::NotABackup(path.display().to_string()));
    };
    if header.key != key.fingerprint() {
        return Err(BackupError::OtherKey {
            file: header.key.clone(),
            ours: key.fingerprint(),
        });
    }
    if input.headers != COLUMNS {
        return Err(BackupError::Columns {
            found: input.headers.join(","),
        });
    }
    Ok(input)
}

/// Calls `each` with every record's line and what it parses to.
fn for_each_row(
    key: &TokenKey,
    path: &Path,
    mut each: impl FnMut(u64, Result<BackupRow, &str>),
) -> Result<(), BackupError> {
    let mut input = open_backup(key, path)?;
    for record in input.records.records() {
        match record {
            Ok(record) => {
                let line = input.tracker.line_of(record.position());
                match parse_row(&record) {
                    Ok(row) => each(line, Ok(row)),
                    Err(why) => each(line, Err(&why)),
                }
            }
            Err(e) => {
                let line = input.tracker.line_of(e.position());
                each(line, Err(&unreadable(&e)));
            }
        }
    }
    Ok(())
}
