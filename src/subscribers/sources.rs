//! The subscriber files `subscribers import` reads: ours (what `export` writes, or any CSV
//! with an `email` column), and the exports of Mailchimp, Substack, listmonk, Buttondown and
//! Ghost, each mapped into our statuses, dates and suppressions. What each tool's columns
//! mean, and where that is documented, is in tests/imports/FORMATS.md.

use std::path::Path;

use super::cells::restore;
use super::input::Input;
use super::times::{parse_loose, parse_ms};
use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName};
use crate::store::{Consent, SubscriberStatus, Suppression, SuppressionReason};

/// Whose export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Ours, or any CSV with an `email` column (and optional `name`, `status`, `time_zone`,
    /// `consent`, `created_at`).
    Morningpost,
    /// One file of Mailchimp's audience export (subscribed, unsubscribed, cleaned or
    /// nonsubscribed: told apart by their columns and the file's name).
    Mailchimp,
    /// Substack's `email_list.*.csv`.
    Substack,
    /// listmonk's subscriber export.
    Listmonk,
    /// Buttondown's subscriber export.
    Buttondown,
    /// Ghost's members export.
    Ghost,
}

/// One subscriber as a file describes them; what the file does not say is `None`.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub email: SubscriberEmail,
    pub name: Option<SubscriberName>,
    /// `None`: the file has no status (active, if there is a basis to mail them).
    pub status: Option<SubscriberStatus>,
    /// The basis the file itself records (ours, or Mailchimp's confirmed opt-in).
    pub consent: Option<Consent>,
    /// What the file records about the basis (Mailchimp: when and from where).
    pub consent_note: Option<String>,
    pub time_zone: Option<TimeZoneName>,
    pub created_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
    pub bounced_at: Option<i64>,
    /// The file says never to mail the address again.
    pub suppressed: Option<SuppressionReason>,
}

/// What a record is.
#[derive(Debug)]
pub enum Parsed {
    Subscriber(Box<ImportRow>),
    /// One of our backups' entries for an erased address: only its keyed hash.
    ErasedHash(Suppression),
    /// A row the format says to leave out (Substack's deletion requests).
    Ignored(&'static str),
}

/// Reads the records of one format: the columns are found once, from the header row.
pub struct RowReader {
    format: Format,
    columns: Vec<Option<usize>>,
    /// Mailchimp: which of its files this is.
    mailchimp_file: MailchimpFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MailchimpFile {
    Subscribed,
    Unsubscribed,
    Cleaned,
    Nonsubscribed,
}

/// The column names each format's fields are found under, in [`Field`] order.
const NAMES: [(Field, &[&str]); 13] = [
    (Field::Email, &["email", "email address", "email_address"]),
    (Field::Name, &["name"]),
    (Field::FirstName, &["first name"]),
    (Field::LastName, &["last name"]),
    (Field::Status, &["status"]),
    (Field::TimeZone, &["time_zone", "timezone"]),
    (Field::Consent, &["consent"]),
    (
        Field::Created,
        &["created_at", "optin_time", "creation_date"],
    ),
    (Field::Confirmed, &["confirmed_at", "confirm_time"]),
    (
        Field::Left,
        &["unsubscribed_at", "unsub_time", "unsubscription_date"],
    ),
    (
        Field::Bounced,
        &["bounced_at", "clean_time", "undeliverability_date"],
    ),
    (Field::Suppressed, &["suppressed"]),
    (Field::EmailHash, &["email_hash"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Email,
    Name,
    FirstName,
    LastName,
    Status,
    TimeZone,
    Consent,
    Created,
    Confirmed,
    Left,
    Bounced,
    Suppressed,
    EmailHash,
}

impl RowReader {
    pub fn new(format: Format, input: &Input, path: &Path) -> Result<Self, String> {
        let columns: Vec<Option<usize>> =
            NAMES.iter().map(|(_, names)| input.column(names)).collect();
        let has = |c: &str| input.column(&[c]).is_some();
        let mailchimp_file = if has("clean_time") {
            MailchimpFile::Cleaned
        } else if has("unsub_time") {
            MailchimpFile::Unsubscribed
        } else if path.file_name().is_some_and(|n| {
            n.to_string_lossy()
                .to_ascii_lowercase()
                .contains("nonsubscribed")
        }) {
            MailchimpFile::Nonsubscribed
        } else {
            MailchimpFile::Subscribed
        };
        let reader = Self {
            format,
            columns,
            mailchimp_file,
        };
        if reader.column(Field::Email).is_none() {
            return Err(format!(
                "the header row has no email column (found: {})",
                input.headers.join(", ")
            ));
        }
        let needed: &[&str] = match format {
            Format::Morningpost | Format::Mailchimp => &[],
            Format::Substack => &["email_disabled"],
            Format::Listmonk => &["status"],
            Format::Buttondown => &["subscriber_type"],
            Format::Ghost => &["subscribed_to_emails"],
        };
        if let Some(missing) = needed.iter().find(|c| !has(c)) {
            return Err(format!(
                "the header row has no `{missing}` column: is this {format:?}'s export? (found: {})",
                input.headers.join(", ")
            ));
        }
        if matches!(format, Format::Morningpost) {
            let zones = input
                .headers
                .iter()
                .filter(|h| *h == "time_zone" || *h == "timezone")
                .count();
            if zones > 1 {
                return Err(
                    "the header row names the time zone column twice (`time_zone`, `timezone`): keep one"
                        .into(),
                );
            }
        }
        Ok(reader)
    }

    fn column(&self, field: Field) -> Option<usize> {
        NAMES
            .iter()
            .position(|(f, _)| *f == field)
            .and_then(|i| self.columns.get(i).copied().flatten())
    }

    /// Reads one record. The error says what is wrong with it.
    pub fn parse(&self, input: &Input, record: &csv::StringRecord) -> Result<Parsed, String> {
        let cell = |field: Field| -> &str {
            self.column(field)
                .and_then(|c| record.get(c))
                .map(restore)
                .unwrap_or_default()
                .trim()
        };
        let named = |name: &str| -> &str {
            input
                .column(&[name])
                .and_then(|c| record.get(c))
                .unwrap_or_default()
                .trim()
        };
        let raw_email = cell(Field::Email);
        if raw_email.is_empty() && !cell(Field::EmailHash).is_empty() {
            return erased_hash(cell(Field::EmailHash), cell(Field::Suppressed));
        }
        if self.format == Format::Substack
            && raw_email
                .to_ascii_lowercase()
                .ends_with("@deletion-request.substack.com")
        {
            return Ok(Parsed::Ignored(
                "a deletion request Substack kept in its export",
            ));
        }
        let email = SubscriberEmail::parse(raw_email).map_err(|e| format!("{raw_email:?}: {e}"))?;
        let name = match (cell(Field::Name), self.format) {
            (_, Format::Buttondown) => buttondown_name(named("metadata")),
            ("", _) => [cell(Field::FirstName), cell(Field::LastName)]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            (name, _) => name.to_owned(),
        };
        let name =
            SubscriberName::parse_optional(&name).map_err(|e| format!("name of {email}: {e}"))?;
        let time_zone = match cell(Field::TimeZone) {
            "" => None,
            zone => match TimeZoneName::parse(zone) {
                Ok(zone) => Some(zone),
                // Mailchimp geolocates its zones; an unknown one is no reason to lose a reader.
                Err(_) if self.format == Format::Mailchimp => None,
                Err(e) => return Err(format!("time zone of {email}: {e}")),
            },
        };
        let time = |field: Field| -> Result<Option<i64>, String> {
            match cell(field) {
                "" => Ok(None),
                t => parse_loose(t)
                    .map(Some)
                    .ok_or_else(|| format!("{t:?} is not a time this importer reads")),
            }
        };
        let mut row = ImportRow {
            email,
            name,
            status: None,
            consent: None,
            consent_note: None,
            time_zone,
            created_at: time(Field::Created)?,
            confirmed_at: time(Field::Confirmed)?,
            unsubscribed_at: time(Field::Left)?,
            bounced_at: time(Field::Bounced)?,
            suppressed: None,
        };
        let yes = |v: &str| v.eq_ignore_ascii_case("true");
        match self.format {
            Format::Morningpost => {
                row.status = word(cell(Field::Status), SubscriberStatus::parse, "status")?;
                row.consent = word(cell(Field::Consent), Consent::parse, "consent")?;
                row.suppressed = word(
                    cell(Field::Suppressed),
                    SuppressionReason::parse,
                    "suppressed",
                )?;
                // Ours: RFC 3339 only.
                if let c @ [_, ..] = cell(Field::Created).as_bytes() {
                    row.created_at = parse_ms(std::str::from_utf8(c).unwrap_or_default());
                }
            }
            Format::Mailchimp => self.mailchimp(&mut row, named),
            Format::Substack => {
                row.status = Some(if yes(named("email_disabled")) {
                    SubscriberStatus::Unsubscribed
                } else {
                    SubscriberStatus::Active
                });
            }
            Format::Listmonk => {
                let (status, suppressed) = match named("status") {
                    "enabled" => (SubscriberStatus::Active, None),
                    "disabled" => (SubscriberStatus::Unsubscribed, None),
                    "blocklisted" => (
                        SubscriberStatus::Unsubscribed,
                        Some(SuppressionReason::Manual),
                    ),
                    other => {
                        return Err(format!(
                            "listmonk status {other:?} is not enabled, disabled or blocklisted"
                        ));
                    }
                };
                row.status = Some(status);
                row.suppressed = suppressed;
            }
            Format::Buttondown => {
                let (status, suppressed) = buttondown_type(named("subscriber_type"))?;
                row.status = Some(status);
                row.suppressed = suppressed;
            }
            Format::Ghost => {
                row.status = Some(if yes(named("subscribed_to_emails")) {
                    SubscriberStatus::Active
                } else {
                    SubscriberStatus::Unsubscribed
                });
            }
        }
        Ok(Parsed::Subscriber(Box::new(row)))
    }

    fn mailchimp<'r>(&self, row: &mut ImportRow, named: impl Fn(&str) -> &'r str) {
        let (status, suppressed) = match self.mailchimp_file {
            MailchimpFile::Subscribed => (SubscriberStatus::Active, None),
            MailchimpFile::Nonsubscribed => (SubscriberStatus::Unsubscribed, None),
            MailchimpFile::Cleaned => (SubscriberStatus::Bounced, Some(SuppressionReason::Bounced)),
            MailchimpFile::Unsubscribed => {
                let reason = named("unsub_reason").to_ascii_lowercase();
                if reason.contains("spam") || reason.contains("abuse") {
                    (
                        SubscriberStatus::Complained,
                        Some(SuppressionReason::Complained),
                    )
                } else {
                    (SubscriberStatus::Unsubscribed, None)
                }
            }
        };
        row.status = Some(status);
        row.suppressed = suppressed;
        if row.created_at.is_none() {
            row.created_at = row.confirmed_at;
        }
        // A form sign-up confirmed by Mailchimp's own mail: its opt-in time and address, then
        // its confirmation. An address added by hand has no opt-in time, or 127.0.0.1.
        let (optin_ip, confirm_ip) = (named("optin_ip"), named("confirm_ip"));
        let optin = named("optin_time");
        if !optin.is_empty()
            && row.confirmed_at.is_some()
            && !optin_ip.is_empty()
            && optin_ip != "127.0.0.1"
        {
            row.consent = Some(Consent::ConfirmedElsewhere);
            row.consent_note = Some(format!(
                "Mailchimp: signed up {optin} UTC from {optin_ip}, confirmed {} UTC from {}",
                named("confirm_time"),
                if confirm_ip.is_empty() {
                    "-"
                } else {
                    confirm_ip
                }
            ));
        }
    }
}

fn word<T>(v: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<Option<T>, String> {
    match v {
        "" => Ok(None),
        v => parse(&v.to_ascii_lowercase())
            .map(Some)
            .ok_or_else(|| format!("{what} {v:?} is not a value this importer knows")),
    }
}

fn erased_hash(hash: &str, reason: &str) -> Result<Parsed, String> {
    let email_hash = hex::decode(hash)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or("email_hash: not 64 hex digits")?;
    Ok(Parsed::ErasedHash(Suppression {
        email_key: None,
        email_hash: Some(email_hash),
        reason: SuppressionReason::parse(reason).unwrap_or(SuppressionReason::Erased),
        suppressed_at: 0,
    }))
}

/// Buttondown keeps a name, when it has one, in the `metadata` JSON object.
fn buttondown_name(metadata: &str) -> String {
    serde_json::from_str::<serde_json::Value>(metadata)
        .ok()
        .and_then(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// Buttondown's subscriber types (tests/imports/FORMATS.md, 4.2).
fn buttondown_type(t: &str) -> Result<(SubscriberStatus, Option<SuppressionReason>), String> {
    use SubscriberStatus::*;
    Ok(match t {
        "regular" | "premium" | "trialed" | "unpaid" | "gifted" | "churning" | "paused"
        | "past_due" => (Active, None),
        "unactivated" => (Pending, None),
        "unsubscribed" | "removed" => (Unsubscribed, None),
        "complained" => (Complained, Some(SuppressionReason::Complained)),
        "undeliverable" | "spammy" | "malformed" => (Bounced, Some(SuppressionReason::Bounced)),
        "blocked" | "disposable" => (Unsubscribed, Some(SuppressionReason::Manual)),
        other => {
            return Err(format!(
                "Buttondown subscriber type {other:?} is not one this importer knows"
            ));
        }
    })
}
