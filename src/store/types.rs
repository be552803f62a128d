//! The values that cross the storage seam.

use uuid::Uuid;

use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName, TokenHash};

stored_words! {
    SubscriberStatus {
        Pending = "pending",
        Active = "active",
        Unsubscribed = "unsubscribed",
        Bounced = "bounced",
        /// Reported our mail as spam (an ARF complaint): never mailed again unless they sign
        /// up again through double opt-in.
        Complained = "complained",
    }
}

#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub status: SubscriberStatus,
    pub created_at: i64,
    /// An IANA zone name (checked before it was stored); `None`: the newsletter's `timezone`.
    pub time_zone: Option<String>,
}

pub struct NewSubscriber<'a> {
    pub id: Uuid,
    pub email: &'a SubscriberEmail,
    pub name: Option<&'a SubscriberName>,
    /// `None`: the newsletter's `timezone`.
    pub time_zone: Option<&'a TimeZoneName>,
    pub status: SubscriberStatus,
    pub source: super::Source,
    /// The basis they are mailed on; `None` for a pending reader.
    pub consent: Option<super::Consent>,
    /// An import's file and the operator's statement.
    pub consent_note: Option<&'a str>,
    pub unsubscribe_hash: TokenHash,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    /// The address was already there; nothing changed.
    Exists(SubscriberStatus),
}

stored_words! {
    MessageKind {
        Issue = "issue",
        Confirmation = "confirmation",
    }
}

/// A rendered message to store: parts with slots, rendered once.
pub struct NewMessage<'a> {
    pub id: Uuid,
    pub kind: MessageKind,
    pub slug: Option<&'a str>,
    pub subject: &'a str,
    pub title: &'a str,
    pub issue_date: Option<String>,
    pub html: &'a str,
    pub text: &'a str,
    pub web_html: Option<&'a str>,
    pub source_hash: [u8; 32],
    pub now: i64,
}

impl NewMessage<'_> {
    /// What tells two renders of a message apart: its subject and both parts, each ended by
    /// a NUL so that moving text between them changes the hash. Issues compare it to warn
    /// about an edited file; templates are found by it.
    pub fn content_hash(subject: &str, html: &str, text: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in [subject, html, text] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.finalize().into()
    }
}

#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: Uuid,
    pub kind: MessageKind,
    pub slug: Option<String>,
    pub subject: String,
    pub title: String,
    pub issue_date: Option<String>,
    pub html: String,
    pub text: String,
    pub web_html: Option<String>,
    pub source_hash: Vec<u8>,
    pub created_at: i64,
    pub enqueued_at: Option<i64>,
    pub send: SendControl,
}

/// Why a send is held: no delivery of it is claimed until the operator acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// By the operator (`pause`), a schedule found too late, or a failing relay; `resume`
    /// goes on.
    Paused,
    /// By the operator; what was not sent is cancelled (`send --resume` revives it).
    Cancelled,
}

impl Hold {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Paused, Self::Cancelled]
            .into_iter()
            .find(|h| h.as_str() == s)
    }
}

/// How an issue's send is scheduled and controlled (times in ms since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendControl {
    /// When a scheduled send's first deliveries come due; `None` when sent at once.
    pub scheduled_at: Option<i64>,
    /// `HH:MM` of a local-morning send.
    pub local_time: Option<String>,
    /// When the send started (its first due time arrived and a worker saw it).
    pub started_at: Option<i64>,
    pub hold: Option<Hold>,
    pub hold_reason: Option<String>,
    pub held_at: Option<i64>,
    /// The archive shows the issue from then on, unless `unpublished_at` is set.
    pub published_at: Option<i64>,
    pub unpublished_at: Option<i64>,
}

impl SendControl {
    /// Whether the web archive shows the issue at `now`.
    pub fn is_public(&self, now: i64) -> bool {
        self.unpublished_at.is_none() && self.published_at.is_some_and(|t| t <= now)
    }
}

/// When an issue's new deliveries come due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueTimes {
    /// Every delivery at this instant (now, or a schedule's time).
    At(i64),
    /// Local-morning: each listed IANA zone's subscribers at its instant, everyone else
    /// (no zone, or one not listed) at `default`.
    Local {
        local_time: String,
        default: i64,
        by_zone: Vec<(String, i64)>,
    },
}

impl DueTimes {
    /// The earliest instant any delivery comes due.
    pub fn first(&self) -> i64 {
        match self {
            Self::At(t) => *t,
            Self::Local {
                default, by_zone, ..
            } => by_zone.iter().map(|(_, t)| *t).fold(*default, i64::min),
        }
    }
}

/// What the worker found when it looked at the sends whose first due time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendStart {
    /// Started: published, its deliveries go out.
    Started { slug: String },
    /// Found more than the allowed lateness after its time: paused instead.
    PausedLate { slug: String, scheduled_at: i64 },
}

/// Which of an issue's unsent deliveries `retry` puts back in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryScope {
    /// Failed for good: queued again with a fresh retry budget.
    pub failed: bool,
    /// Waiting for a later retry: due now.
    pub waiting: bool,
    /// Only those whose last attempt was at or after this instant.
    pub since: Option<i64>,
}

/// One stored issue with its send's state and counts (`morningpost issues`).
#[derive(Debug, Clone)]
pub struct IssueSummary {
    pub id: Uuid,
    pub slug: String,
    pub issue_date: String,
    pub subject: String,
    pub enqueued_at: Option<i64>,
    pub send: SendControl,
    pub counts: QueueCounts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreIssueOutcome {
    Created(Uuid),
    /// An issue with this slug exists; `same_content` tells whether the new render matches.
    Existing {
        id: Uuid,
        same_content: bool,
    },
}

/// The two kinds of mail in the queue, told apart by priority: confirmations (a reader is
/// waiting for one) and issue mail. The worker shares its claims between them
/// (`queue::share`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueClass {
    /// Priority above 0: confirmation mail.
    Confirmations,
    /// Priority 0: issue mail.
    Issues,
}

/// A claim's SQL, for all classes or one: `$before`, the class's condition on `priority`,
/// `$after`, as one literal (sqlx takes literal SQL). The one place a class is defined in SQL.
macro_rules! claim_sql_for {
    ($class:expr, $before:literal, $after:expr) => {
        match $class {
            None => concat!($before, $after),
            Some($crate::store::QueueClass::Confirmations) => {
                concat!($before, " AND priority > 0", $after)
            }
            Some($crate::store::QueueClass::Issues) => {
                concat!($before, " AND priority = 0", $after)
            }
        }
    };
}
pub(crate) use claim_sql_for;

pub struct Claimed {
    pub delivery_id: i64,
    /// The fence: every update of this row must carry it.
    pub attempt: i64,
    pub failures: i64,
    pub message_id: Uuid,
    /// The confirmation token a confirmation mail carries.
    pub token_id: Option<Uuid>,
    pub subscriber_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub subscriber_status: SubscriberStatus,
    /// The basis they are mailed on: the footer says it.
    pub consent: Option<super::Consent>,
    pub queued_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered 250 to the message.
    Sent { reply: String },
    /// Temporary failure: try again at `due_at`.
    Retry { reply: String, due_at: i64 },
    /// Permanent failure; `bounce` also marks the subscriber bounced (5.1.x).
    Failed { reply: String, bounce: bool },
    /// Not sent and never will be (the subscriber left).
    Cancelled { reason: String },
    /// Not started; give the row back to the queue now (graceful shutdown, a held send).
    Released,
    /// The relay could not be used (not this recipient's fault): back to the queue at
    /// `due_at`, never failed for it. Counted as a retry (status shows it, with its reply).
    Deferred { reply: String, due_at: i64 },
}

#[derive(Debug, Clone)]
pub struct OutcomeRecord {
    pub delivery_id: i64,
    pub attempt: i64,
    pub subscriber_id: Uuid,
    pub outcome: Outcome,
}

/// The queue's rows that are not finished, by when they are due (the metrics' gauges).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Due now: queued, or leased by a worker whose lease ran out.
    pub due: i64,
    /// Due later: scheduled, waiting for a retry, or leased now.
    pub later: i64,
    /// Sends paused (by the operator, a late start, relay failures or complaints): their
    /// rows are in neither count.
    pub paused_sends: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Waiting for a first attempt.
    pub queued: i64,
    /// Leased by a worker now.
    pub sending: i64,
    pub sent: i64,
    /// Waiting for another attempt after a temporary failure (counted in `queued` too).
    pub retrying: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Held by a paused send.
    pub paused: i64,
}

impl QueueCounts {
    pub fn total(&self) -> i64 {
        self.queued + self.sending + self.sent + self.failed + self.cancelled + self.paused
    }

    /// Not sent yet and not given up on: queued, in flight or paused.
    pub fn unsent(&self) -> i64 {
        self.queued + self.sending + self.paused
    }
}

/// Deliveries that got the same reply, for a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyGroup {
    /// The SMTP reply code (`550 5.1.1`, `421`), or the reply itself when it has none.
    pub code: String,
    pub count: i64,
    /// One of the group's replies, and one of its addresses (none once erased).
    pub example: String,
    pub example_address: Option<String>,
    /// The earliest next attempt among them (ms since the epoch); `None` when final, and
    /// in `StatusReport::top_failures` (not shown there; `Store::reply_groups` reads it).
    pub next_attempt: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct StatusReport {
    pub counts: QueueCounts,
    /// Messages sent per second lately: over the last minute, or over the last few
    /// thousand sends when more went out in that minute.
    pub send_rate: f64,
    /// The largest groups of failed and retrying deliveries, by reply code, with their
    /// counts.
    pub top_failures: Vec<ReplyGroup>,
}

/// A confirmation token about to be issued (its hash; the token is derived from `id`).
#[derive(Debug, Clone, Copy)]
pub struct NewConfirmation {
    pub id: Uuid,
    pub hash: TokenHash,
    pub expires_at: i64,
}

/// A sign-up through the subscribe form, with everything it may need to create.
#[derive(Debug, Clone)]
pub struct SubscribeRequest {
    /// Used only when the address is new.
    pub new_id: Uuid,
    pub new_unsubscribe_hash: TokenHash,
    pub email: SubscriberEmail,
    /// [`crate::domain::TokenKey::email_hash`] of `email`: how an erased address is known.
    pub email_hash: [u8; 32],
    /// The form, or a JSON call.
    pub source: super::Source,
    pub name: Option<SubscriberName>,
    /// The zone the form's browser reported (`None`: absent or not a known zone). A new
    /// address gets it; a known one only when it has none (docs/architecture.md decision 26).
    pub time_zone: Option<TimeZoneName>,
    pub confirmation: NewConfirmation,
    /// The stored template of the confirmation mail.
    pub confirmation_message: Uuid,
    /// A pending address gets at most one mail per this many milliseconds.
    pub resend_after_ms: i64,
    /// Whether a bounced address may sign up again.
    pub allow_bounced: bool,
    pub now: i64,
}

/// What a sign-up did. The HTTP answer is the same for all of them (no enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// A new pending subscriber; confirmation mail queued.
    Created,
    /// Still pending; a fresh confirmation mail queued.
    Resent,
    /// Pending and mailed less than the resend interval ago: nothing queued.
    TooSoon,
    /// Unsubscribed (or bounced, when allowed) before: pending again, confirmation queued.
    Reactivated,
    /// Active: nothing changes (but a missing time zone, as for every known address).
    AlreadyActive,
    /// Bounced and not allowed to sign up again: nothing changes (but a missing time zone).
    Bounced,
    /// On the suppression list by the operator's block: nothing is stored or mailed.
    Blocked,
}

impl SubscribeOutcome {
    /// Its name in a log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Resent => "resent",
            Self::TooSoon => "too soon",
            Self::Reactivated => "reactivated",
            Self::AlreadyActive => "already active",
            Self::Bounced => "bounced",
            Self::Blocked => "blocked",
        }
    }

    pub fn queued_mail(self) -> bool {
        matches!(self, Self::Created | Self::Resent | Self::Reactivated)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed {
        email: String,
    },
    AlreadyConfirmed,
    /// Too old (or the subscriber's state no longer allows it): offer a new link.
    Expired {
        email: String,
    },
    Unknown,
}

#[derive(Debug, Clone)]
pub struct ArchiveEntry {
    pub slug: String,
    pub title: String,
    pub issue_date: String,
    /// When the issue went public (ms since the epoch): the feed's "updated".
    pub published_at: i64,
}

/// What a late report said about a recipient, as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceClass {
    /// The address is gone: suppressed at once.
    Hard,
    /// Full mailbox, expired, temporary: suppressed after a streak (`soft_bounce_limit`).
    Soft,
    /// The receiver refused the message or the sender, not the address: counted only.
    Refused,
    /// A spam complaint (ARF): the reader is marked complained at once.
    Complaint,
}

impl BounceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hard => "hard",
            Self::Soft => "soft",
            Self::Refused => "refused",
            Self::Complaint => "complaint",
        }
    }
}

/// How a report was tied to its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The VERP tag of the return path it came back to.
    Verp,
    /// Our Message-ID in the returned headers.
    MessageId,
    /// The original recipient's address alone.
    Recipient,
    /// Not a report: the relay refused the recipient during the SMTP conversation.
    Smtp,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verp => "verp",
            Self::MessageId => "message-id",
            Self::Recipient => "recipient",
            Self::Smtp => "smtp",
        }
    }
}

/// A delivery a report may be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRef {
    pub delivery_id: i64,
    pub subscriber_id: Uuid,
    pub message_id: Uuid,
}

/// One failed recipient of a report, matched, to record.
#[derive(Debug, Clone)]
pub struct NewBounceEvent {
    /// SHA-256 of the report's bytes and the recipient's place in it: the same report
    /// ingested twice is recorded once.
    pub report_key: [u8; 32],
    pub subscriber_id: Uuid,
    pub delivery: Option<DeliveryRef>,
    pub class: BounceClass,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    pub diagnostic: Option<String>,
    pub feedback_type: Option<String>,
    pub matched_by: MatchedBy,
    pub received_at: i64,
}

/// What recording a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceEffect {
    /// Recorded before: nothing changed.
    Duplicate,
    /// Recorded; the subscriber stays as they were.
    Recorded,
    /// Recorded, and the subscriber is no longer mailed (bounced or complained).
    Suppressed(SubscriberStatus),
}

/// Late reports about one issue's deliveries, by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BounceCounts {
    pub hard: i64,
    pub soft: i64,
    pub refused: i64,
    pub complaints: i64,
}

/// Everything held about one subscriber (`subscribers show`). Times in ms since the epoch.
#[derive(Debug, Clone)]
pub struct SubscriberRecord {
    /// Their row: status and its dates, how they joined, on what basis they are mailed.
    pub subscriber: super::SubscriberBackup,
    /// Their suppression entry, if any: why, and since when.
    pub suppressed: Option<(super::SuppressionReason, i64)>,
    /// Confirmation mails: when each was issued, and when it was used.
    pub confirmations: Vec<(i64, Option<i64>)>,
    pub deliveries: Vec<DeliveryHistory>,
    pub reports: Vec<ReportHistory>,
}

/// One delivery to a subscriber, with its outcome.
#[derive(Debug, Clone)]
pub struct DeliveryHistory {
    /// `issue SLUG`, or the kind of a transactional mail.
    pub what: String,
    pub state: String,
    pub attempts: i64,
    pub last_reply: Option<String>,
    pub queued_at: i64,
    pub sent_at: Option<i64>,
    pub updated_at: i64,
}

/// One bounce or complaint recorded about a subscriber.
#[derive(Debug, Clone)]
pub struct ReportHistory {
    pub class: String,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    pub diagnostic: Option<String>,
    pub feedback_type: Option<String>,
    pub matched_by: String,
    pub received_at: i64,
    pub issue: Option<String>,
}

/// Sign-ups waiting for their confirmation mail, and the hourly budget as a worker last
/// noted it (`None` before any worker has looked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfirmationBacklog {
    /// Confirmation mails due and not yet sent.
    pub waiting: i64,
    /// When the oldest of them was queued.
    pub oldest_waiting_since: Option<i64>,
    /// Subscribers who have not confirmed yet.
    pub pending: i64,
    pub per_hour: Option<i64>,
    /// Since when the budget has been used up with mail waiting; `None`: it is not.
    pub exhausted_since: Option<i64>,
    /// When a worker last looked at the budget.
    pub looked_at: Option<i64>,
    /// Sign-ups held in the inbox, not yet stored as subscribers (decision 40).
    pub held: i64,
    /// When the oldest of them was received.
    pub oldest_held_since: Option<i64>,
}

/// A sign-up held in the inbox: `None` when its row no longer reads as one (logged; it is
/// removed with the batch it was read in).
#[derive(Debug, Clone)]
pub struct HeldSignup {
    pub seq: i64,
    pub request: Option<SubscribeRequest>,
}

/// What `signups purge` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub confirmations_dropped: u64,
    pub subscribers_deleted: u64,
    /// Sign-ups dropped from the inbox before they were stored.
    pub held_dropped: u64,
}

/// How the secret key in use compares with the one recorded for the database
/// (docs/architecture.md decision 38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRecord {
    /// None was recorded: this key's fingerprint now is.
    Recorded,
    /// The recorded fingerprint is this key's.
    Same,
    /// Another key's fingerprint is recorded.
    Differs { recorded: String },
}

impl KeyRecord {
    pub(crate) fn compare(recorded: String, ours: &str) -> Self {
        if recorded == ours {
            KeyRecord::Same
        } else {
            KeyRecord::Differs { recorded }
        }
    }
}
