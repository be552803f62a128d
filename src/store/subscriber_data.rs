//! What the database records about how a subscriber joined, on what basis they are mailed,
//! how they left, and why an address must never be mailed (docs/architecture.md decision 29).
//! Each is stored as the text its `as_str` gives; the migrations' CHECKs list the same words.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::types::{NewSubscriber, SubscriberStatus};
use crate::domain::TokenHash;

stored_words! {
    /// How an address came in.
    Source {
        /// The web form's sign-up.
        Form = "form",
        /// A JSON sign-up (another site's form or an integration).
        Api = "api",
        /// `subscribers import`.
        Import = "import",
        /// `subscribers add`.
        Admin = "admin",
    }
}

stored_words! {
    /// The basis a subscriber is mailed on. None (a pending reader) is not a basis.
    Consent {
        /// They clicked the confirmation link we mailed them.
        DoubleOptIn = "double-opt-in",
        /// Imported, the operator stating they opted in with another tool.
        ConfirmedElsewhere = "confirmed-elsewhere",
        /// Added by hand by an operator who vouches for them.
        Admin = "admin",
        /// Joined before the basis was recorded, without a confirmation from us.
        Unknown = "unknown",
    }
}

stored_words! {
    /// How an unsubscribed reader left.
    LeftVia {
        /// The unsubscribe page of the link in every mail.
        Link = "link",
        /// Their mail client's button (RFC 8058).
        OneClick = "one-click",
        /// A mail to the List-Unsubscribe mailto address.
        Mail = "mail",
        /// `subscribers remove`.
        Admin = "admin",
        /// An import whose file said so (`--update-status`).
        Import = "import",
    }
}

stored_words! {
    /// Why an address is on the suppression list.
    SuppressionReason {
        Bounced = "bounced",
        Complained = "complained",
        /// `subscribers suppress`.
        Manual = "manual",
        /// `subscribers erase` of an address that was not suppressed before.
        Erased = "erased",
    }
}

impl SuppressionReason {
    /// Whether the reader's own new double opt-in lifts it. A block the operator chose stays
    /// until the operator lifts it.
    pub fn lifted_by_opt_in(self) -> bool {
        self != Self::Manual
    }
}

/// Every fact about a subscriber that a restore needs: what `subscribers export` writes and
/// `subscribers import --restore` puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberBackup {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub status: SubscriberStatus,
    pub source: Source,
    pub consent: Option<Consent>,
    pub consent_note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub confirmed_at: Option<i64>,
    pub confirm_ip: Option<String>,
    pub confirm_user_agent: Option<String>,
    pub unsubscribed_at: Option<i64>,
    pub left_via: Option<LeftVia>,
    pub bounced_at: Option<i64>,
    pub bounce_reply: Option<String>,
    pub complained_at: Option<i64>,
    pub time_zone: Option<String>,
}

/// One entry of the suppression list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The normalised address; `None` once erased.
    pub email_key: Option<String>,
    /// The keyed hash of the address ([`crate::domain::TokenKey::email_hash`]); set when
    /// the address was erased.
    pub email_hash: Option<[u8; 32]>,
    pub reason: SuppressionReason,
    pub suppressed_at: i64,
}

/// What `subscribers erase` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Whether a subscriber row was deleted.
    pub subscriber: bool,
    pub confirmation_mails: u64,
    /// Deliveries kept for the issues' counts, without their subscriber or reply text.
    pub deliveries_detached: u64,
    /// Queued deliveries cancelled first.
    pub deliveries_cancelled: u64,
    pub reports_detached: u64,
    /// The suppression entry now holds only the hash, with this reason.
    pub suppression: Option<SuppressionReason>,
    /// Sign-ups of the address dropped from the inbox before they were stored.
    pub held_signups: u64,
}

/// A subscriber row to write whole (an import's new address, a restored one).
#[derive(Debug, Clone)]
pub struct SubscriberRow {
    pub data: SubscriberBackup,
    /// [`crate::domain::SubscriberEmail::normalized`] of `data.email`.
    pub email_key: String,
    pub unsubscribe_hash: TokenHash,
}

/// An import's `--update-status`: this address takes this status.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub email_key: String,
    pub status: SubscriberStatus,
    /// The basis recorded if the address becomes active without one, and where it came from.
    pub consent: Option<Consent>,
    pub consent_note: Option<String>,
    pub now: i64,
}

/// What one transaction of an import or a restore writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscriberBatch<'a> {
    pub rows: &'a [SubscriberRow],
    pub suppressions: &'a [Suppression],
    pub changes: &'a [StatusChange],
}

/// What the database knows of a batch's addresses, by normalised address.
#[derive(Debug, Default)]
pub struct KnownAddresses {
    pub statuses: HashMap<String, SubscriberStatus>,
    pub suppressed: HashMap<String, SuppressionReason>,
    /// The addresses among them that were erased: listed only by their keyed hash.
    pub erased: HashSet<String>,
}

/// Who clicked a confirmation link: the record of a double opt-in.
#[derive(Debug, Clone, Default)]
pub struct ConfirmedBy {
    pub ip: Option<String>,
    /// At most [`ConfirmedBy::MAX_USER_AGENT`] characters of it.
    pub user_agent: Option<String>,
}

impl ConfirmedBy {
    pub const MAX_USER_AGENT: usize = 300;

    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            ip,
            user_agent: user_agent.map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_USER_AGENT)
                    .collect()
            }),
        }
    }
}

impl NewSubscriber<'_> {
    /// The whole row of a subscriber who joins now: their status's own time is now too.
    pub fn to_row(&self) -> SubscriberRow {
        let at =
            |statuses: &[SubscriberStatus]| statuses.contains(&self.status).then_some(self.now);
        use SubscriberStatus::*;
        SubscriberRow {
            data: SubscriberBackup {
                id: self.id,
                email: self.email.as_str().to_owned(),
                name: self.name.map(|n| n.as_str().to_owned()),
                status: self.status,
                source: self.source,
                consent: self.consent,
                consent_note: self.consent_note.map(str::to_owned),
                created_at: self.now,
                updated_at: self.now,
                confirmed_at: at(&[Active]),
                confirm_ip: None,
                confirm_user_agent: None,
                unsubscribed_at: at(&[Unsubscribed, Complained]),
                left_via: None,
                bounced_at: at(&[Bounced]),
                bounce_reply: None,
                complained_at: at(&[Complained]),
                time_zone: self.time_zone.map(|z| z.as_str().to_owned()),
            },
            email_key: self.email.normalized(),
            unsubscribe_hash: self.unsubscribe_hash,
        }
    }
}

impl SubscriberStatus {
    /// The suppression entry a subscriber with this status must have.
    pub fn suppression(self) -> Option<SuppressionReason> {
        match self {
            SubscriberStatus::Bounced => Some(SuppressionReason::Bounced),
            SubscriberStatus::Complained => Some(SuppressionReason::Complained),
            _ => None,
        }
    }
}
