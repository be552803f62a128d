//! All SQL lives here, behind one backend-neutral API. Callers hold a [`Store`] and never
//! see which database is underneath.
//!
//! Each query is written once, in `sql/`, with `$N` parameters (which SQLite accepts too).
//! That folder is compiled twice, once inside each backend's module, against that backend's
//! concrete types (`Db`, `Conn`, the store handle) — so the shared code has no generic
//! bounds to spell, and what differs lives in the backend folders only:
//! - `sqlite/`: one writer connection (`BEGIN IMMEDIATE`), the local clock, claims as an
//!   update then a read in one transaction, JSON rows through `json_each`;
//! - `postgres/`: `FOR UPDATE SKIP LOCKED` claims in one statement, the database's clock,
//!   advisory locks, dedicated connections for the worker, JSON rows through
//!   `jsonb_to_recordset`, the sent outcomes of a batch in one `unnest` update.
//!
//! A new table is a change to `sql/` (its queries), `types.rs` (its values) and one migration
//! per backend.

/// An enum stored as one of a fixed set of words: `as_str`, `parse`, `ALL`, `choices` (for
/// an error message) and `Display`, written once for every such column.
macro_rules! stored_words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word,)+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The words, for an error message: `a, b or c`.
            pub fn choices() -> String {
                let words: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match words.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => words.join(""),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Who may be mailed an issue: an active subscriber whose address is not on the suppression
/// list, whatever else their row says (docs/architecture.md decision 29). `s` is the
/// subscribers row. The one home of the rule, spliced into statements with `concat!`.
macro_rules! mailable {
    () => {
        "(s.status = 'active' AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_key = s.email_key))"
    };
}

mod error;
mod held;
mod options;
mod postgres;
mod rules;
mod schema;
mod sqlite;
mod subscriber_data;
mod types;

pub use error::{ResourceFault, Result, StoreError};
pub use options::StoreOptions;
pub use postgres::PgStore;
pub use schema::SchemaState;
pub use sqlite::{SqliteStore, sqlite_file};
pub use subscriber_data::*;
pub use types::*;

use uuid::Uuid;

use crate::domain::{TimeZoneName, TokenHash, TokenKey};
use crate::secret::Secret;

/// The database, whichever it is.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the backend's method, naming the operation in its error.
macro_rules! dispatch {
    ($self:ident, $op:literal, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
        .map_err(|e| e.during($op))
    };
}

impl Store {
    /// Opens the database named by the URL and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(
                SqliteStore::connect(url, options.create_if_missing).await?,
            ))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url, options).await?))
        } else {
            Err(StoreError::UnsupportedUrl(Secret::new(url).redacted()))
        }
    }

    /// Opens the database as [`Store::connect_with`] does, but waits out a PostgreSQL server
    /// that cannot be reached yet (still starting, restarting, the network not up): for the
    /// long-running processes (`worker`, `serve`), which a service manager would otherwise
    /// restart in a loop. Anything else (a wrong URL or password, a missing database, a
    /// SQLite file, which is opened at once or not at all) fails at once. `None` when `stop`
    /// turns true first.
    pub async fn connect_waiting(
        url: &str,
        options: &StoreOptions,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Option<Self>> {
        let mut pause = std::time::Duration::from_secs(1);
        loop {
            let attempt = tokio::select! {
                attempt = Self::connect_with(url, options) => attempt,
                _ = stop.wait_for(|stop| *stop) => return Ok(None),
            };
            let e = match attempt {
                Ok(store) => return Ok(Some(store)),
                Err(e) => e,
            };
            let waits = !url.starts_with("sqlite:")
                && e.resource_fault() == Some(ResourceFault::Unreachable);
            if !waits {
                return Err(e);
            }
            tracing::warn!(
                error = %crate::report::Chain(&e),
                "{}; trying again in {} s",
                ResourceFault::Unreachable.advice(),
                pause.as_secs()
            );
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|stop| *stop) => return Ok(None),
            }
            pause = (pause * 2).min(std::time::Duration::from_secs(30));
        }
    }

    /// Opens the database as it is: no migration is applied and no SQLite file created
    /// (`doctor`, which reports what it finds).
    pub async fn connect_without_migrating(url: &str, options: &StoreOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(
                SqliteStore::connect_without_migrating(url).await?,
            ))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(
                PgStore::connect_without_migrating(url, options).await?,
            ))
        } else {
            Err(StoreError::UnsupportedUrl(Secret::new(url).redacted()))
        }
    }

    /// The schema's state against this binary's migrations, changing nothing.
    pub async fn schema_state(&self) -> Result<SchemaState> {
        dispatch!(self, "reading the applied migrations", s => s.schema_state().await)
    }

    /// Whether the database takes writes: [`Store::health`]'s committed one-row write (the
    /// one `/healthz` makes; only a commit meets a full disk), with a SQLite file on a
    /// read-only filesystem said as such ([`StoreError::ReadOnlyFilesystem`]). For the
    /// commands that write, before they start, and for `doctor`.
    pub async fn check_writable(&self) -> Result<()> {
        match self.health(crate::clock::now_ms()).await {
            Err(e) if e.resource_fault() == Some(ResourceFault::Unwritable) => Err(match self {
                Store::Sqlite(s) => s.explain_unwritable(e),
                Store::Postgres(_) => e,
            }),
            other => other,
        }
    }

    /// The fingerprint of the secret key recorded for this database, if one is
    /// (docs/architecture.md decision 38).
    pub async fn key_fingerprint(&self) -> Result<Option<String>> {
        dispatch!(self, "reading the recorded key fingerprint", s => s.key_fingerprint().await)
    }

    /// Records the key's fingerprint when none is, the first time; says how the key compares
    /// with the one recorded. A recorded fingerprint is never replaced.
    pub async fn record_key_fingerprint(&self, key: &TokenKey, now: i64) -> Result<KeyRecord> {
        let fingerprint = key.fingerprint();
        dispatch!(self, "recording the key fingerprint", s => s.record_key_fingerprint(&fingerprint, now).await)
    }

    /// One subscriber: an import of one row.
    pub async fn add_subscriber(&self, new: &NewSubscriber<'_>) -> Result<AddOutcome> {
        self.import_subscribers(std::slice::from_ref(new))
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("adding one subscriber gave no outcome".into()))
    }

    /// Adds many subscribers in one transaction; existing addresses are left as they are.
    pub async fn import_subscribers(&self, batch: &[NewSubscriber<'_>]) -> Result<Vec<AddOutcome>> {
        dispatch!(self, "importing subscribers", s => s.import_subscribers(batch).await)
    }

    pub async fn subscribers(&self, status: Option<SubscriberStatus>) -> Result<Vec<Subscriber>> {
        dispatch!(self, "listing subscribers", s => s.subscribers(status).await)
    }

    pub async fn subscriber_by_email(&self, email_key: &str) -> Result<Option<Subscriber>> {
        dispatch!(self, "looking up a subscriber", s => s.subscriber_by_email(email_key).await)
    }

    pub async fn subscriber_by_unsubscribe_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Subscriber>> {
        dispatch!(self, "looking up an unsubscribe token", s => s.subscriber_by_unsubscribe_hash(hash).await)
    }

    /// Tunes this process's writer for a large batch of rows (an import, a restore).
    pub async fn prepare_bulk_write(&self) -> Result<()> {
        dispatch!(self, "preparing a bulk write", s => s.prepare_bulk_write().await)
    }

    /// Writes an import's or a restore's batch in one transaction (an address already
    /// there is left alone); returns the addresses inserted.
    pub async fn write_subscribers(&self, batch: &SubscriberBatch<'_>) -> Result<Vec<String>> {
        dispatch!(self, "writing subscribers", s => s.write_subscribers(batch).await)
    }

    /// What the database knows of these addresses (normalised, each with its keyed hash).
    pub async fn known_among(&self, addresses: &[(String, [u8; 32])]) -> Result<KnownAddresses> {
        dispatch!(self, "looking up addresses", s => s.known_among(addresses).await)
    }

    /// The status of each of these normalised addresses that is a subscriber's.
    pub async fn statuses_among(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, SubscriberStatus>> {
        dispatch!(self, "looking up addresses", s => s.statuses_among(keys).await)
    }

    /// One page of an export: subscribers after `after` in id order, with their
    /// suppression entries.
    pub async fn backup_page(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<(SubscriberBackup, Option<(SuppressionReason, i64)>)>> {
        dispatch!(self, "reading subscribers for an export", s => s.backup_page(after, limit).await)
    }

    /// The suppression entries that belong to no subscriber.
    pub async fn orphan_suppressions(&self) -> Result<Vec<Suppression>> {
        dispatch!(self, "reading the suppression list", s => s.orphan_suppressions().await)
    }

    /// Whether any subscriber or suppression entry is stored.
    pub async fn holds_subscriber_data(&self) -> Result<bool> {
        dispatch!(self, "checking for subscribers", s => s.holds_subscriber_data().await)
    }

    /// Blocks an address by hand; returns the reason it was already listed for, if it was.
    pub async fn suppress(
        &self,
        email_key: &str,
        email_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<SuppressionReason>> {
        dispatch!(self, "suppressing an address", s => s.suppress(email_key, email_hash, now).await)
    }

    /// Takes an address off the suppression list; returns why it was listed, if it was.
    pub async fn unsuppress(
        &self,
        email_key: &str,
        email_hash: &[u8; 32],
    ) -> Result<Option<SuppressionReason>> {
        dispatch!(self, "lifting a suppression", s => s.unsuppress(email_key, email_hash).await)
    }

    /// Deletes what is held about an address, keeping its suppression entry as a hash.
    pub async fn erase(&self, email_key: &str, email_hash: &[u8; 32], now: i64) -> Result<Erased> {
        dispatch!(self, "erasing a subscriber", s => s.erase(email_key, email_hash, now).await)
    }

    /// Everything held about the subscriber with this normalised address.
    pub async fn subscriber_record(&self, email_key: &str) -> Result<Option<SubscriberRecord>> {
        dispatch!(self, "reading what is held about a subscriber", s => s.subscriber_record(email_key).await)
    }

    /// Marks an active or pending subscriber unsubscribed and cancels what was not yet sent
    /// to them. A bounced address stays bounced: "never mail" is never weakened. Returns
    /// whether the status changed.
    pub async fn unsubscribe(&self, id: Uuid, via: LeftVia, now: i64) -> Result<bool> {
        dispatch!(self, "unsubscribing", s => s.unsubscribe(id, via, now).await)
    }

    /// Sets a subscriber's time zone, or clears it (`None`: the newsletter's `timezone`),
    /// whatever their status. Returns false when no subscriber has this normalised address
    /// ([`SubscriberEmail::normalized`](crate::domain::SubscriberEmail::normalized)).
    pub async fn set_time_zone(
        &self,
        email_key: &str,
        zone: Option<&TimeZoneName>,
        now: i64,
    ) -> Result<bool> {
        dispatch!(self, "setting a subscriber's time zone", s => s.set_time_zone(email_key, zone, now).await)
    }

    /// Double opt-in: creates, re-mails, or leaves alone, by each address's state; many
    /// sign-ups share one transaction. Outcomes are in the order of the requests.
    pub async fn subscribe_batch(
        &self,
        requests: &[SubscribeRequest],
    ) -> Result<Vec<SubscribeOutcome>> {
        dispatch!(self, "storing sign-ups", s => s.subscribe_batch(requests).await)
    }

    /// Stores sign-ups in the inbox as received (docs/architecture.md decision 40).
    pub async fn hold_signups(&self, requests: &[SubscribeRequest]) -> Result<()> {
        dispatch!(self, "holding sign-ups in the inbox", s => s.hold_signups(requests).await)
    }

    /// Whether the inbox holds any sign-up.
    pub async fn any_held(&self) -> Result<bool> {
        dispatch!(self, "reading the sign-up inbox", s => s.any_held().await)
    }

    /// The oldest `limit` sign-ups held in the inbox.
    pub async fn held_signups(&self, limit: i64) -> Result<Vec<HeldSignup>> {
        dispatch!(self, "reading the sign-up inbox", s => s.held_signups(limit).await)
    }

    /// Removes the held sign-ups up to `through` (their `seq`) once they are applied.
    pub async fn release_held(&self, through: i64) -> Result<u64> {
        dispatch!(self, "releasing held sign-ups", s => s.release_held(through).await)
    }

    /// When each sign-up held for this normalised address was received.
    pub async fn held_for(&self, email_key: &str) -> Result<Vec<i64>> {
        dispatch!(self, "reading the sign-up inbox", s => s.held_for(email_key).await)
    }

    /// Confirmation mails due at `now`, counted up to `cap`.
    pub async fn confirmations_due_up_to(&self, now: i64, cap: i64) -> Result<i64> {
        dispatch!(self, "counting the confirmation mail due", s => s.confirmations_due_up_to(now, cap).await)
    }

    pub async fn subscribe(&self, request: &SubscribeRequest) -> Result<SubscribeOutcome> {
        let mut outcomes = self.subscribe_batch(std::slice::from_ref(request)).await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a sign-up produced no outcome".into()))
    }

    /// Spends a confirmation token.
    pub async fn confirm(
        &self,
        hash: &TokenHash,
        by: &ConfirmedBy,
        now: i64,
    ) -> Result<ConfirmOutcome> {
        dispatch!(self, "confirming a subscription", s => s.confirm(hash, by, now).await)
    }

    /// The id of a stored transactional template with this content, stored if new.
    pub async fn ensure_template(&self, message: &NewMessage<'_>) -> Result<Uuid> {
        dispatch!(self, "storing a mail template", s => s.ensure_template(message).await)
    }

    /// The issues the web archive shows at `now`, newest first.
    pub async fn archive(&self, now: i64) -> Result<Vec<ArchiveEntry>> {
        dispatch!(self, "reading the archive", s => s.archive(now).await)
    }

    /// A trivial query: is the database there?
    /// Whether the database answers, changing nothing.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, "reaching the database", s => s.ping().await)
    }

    /// Whether the database answers and can be written (`/healthz`).
    pub async fn health(&self, now: i64) -> Result<()> {
        dispatch!(self, "checking the database's health", s => s.health(now).await)
    }

    pub async fn store_issue(&self, issue: &NewMessage<'_>) -> Result<StoreIssueOutcome> {
        dispatch!(self, "storing an issue", s => s.store_issue(issue).await)
    }

    pub async fn message_by_slug(&self, slug: &str) -> Result<Option<StoredMessage>> {
        dispatch!(self, "reading an issue", s => s.message_by_slug(slug).await)
    }

    pub async fn message(&self, id: Uuid) -> Result<Option<StoredMessage>> {
        dispatch!(self, "reading a message", s => s.message(id).await)
    }

    /// One delivery per active subscriber who has none, due when `due` says, in one
    /// statement; returns how many are new. The send is started and published unless its
    /// first due time is later (then the worker starts it, see `start_due_sends`).
    pub async fn enqueue_issue(&self, message_id: Uuid, due: &DueTimes, now: i64) -> Result<u64> {
        dispatch!(self, "queueing an issue", s => s.enqueue_issue(message_id, due, now).await)
    }

    /// Queues the issue for every active subscriber without it, due at `now`.
    pub async fn enqueue_now(&self, message_id: Uuid, now: i64) -> Result<u64> {
        self.enqueue_issue(message_id, &DueTimes::At(now), now)
            .await
    }

    /// `send --resume` after a cancel: the deliveries the operator cancelled come due again.
    pub async fn revive_cancelled(
        &self,
        message_id: Uuid,
        due: &DueTimes,
        now: i64,
    ) -> Result<u64> {
        dispatch!(self, "reviving a cancelled send", s => s.revive_cancelled(message_id, due, now).await)
    }

    /// How many deliveries `revive_cancelled` would queue again now.
    pub async fn count_revivable(&self, message_id: Uuid) -> Result<i64> {
        dispatch!(self, "counting cancelled deliveries", s => s.count_revivable(message_id).await)
    }

    /// The distinct time zones of active subscribers.
    pub async fn subscriber_zones(&self) -> Result<Vec<String>> {
        dispatch!(self, "listing the subscribers' time zones", s => s.subscriber_zones().await)
    }

    /// Pauses a send; `None` when it was held already, else how many rows it holds.
    pub async fn pause(&self, message_id: Uuid, reason: &str, now: i64) -> Result<Option<u64>> {
        dispatch!(self, "pausing a send", s => s.pause(message_id, reason, now).await)
    }

    /// Lifts a pause; `None` when it was not paused, else how many rows came back.
    pub async fn resume(&self, message_id: Uuid, now: i64) -> Result<Option<u64>> {
        dispatch!(self, "resuming a send", s => s.resume(message_id, now).await)
    }

    /// Cancels a send; `None` when it was cancelled before, else how many rows it cancelled.
    pub async fn cancel(&self, message_id: Uuid, now: i64) -> Result<Option<u64>> {
        dispatch!(self, "cancelling a send", s => s.cancel(message_id, now).await)
    }

    /// The messages whose send is held (paused or cancelled).
    pub async fn held_messages(&self) -> Result<Vec<Uuid>> {
        dispatch!(self, "reading held sends", s => s.held_messages().await)
    }

    /// Starts the scheduled sends whose time has come; pauses those found too late.
    pub async fn start_due_sends(&self, now: i64, max_lateness_ms: i64) -> Result<Vec<SendStart>> {
        dispatch!(self, "starting scheduled sends", s => s.start_due_sends(now, max_lateness_ms).await)
    }

    /// Re-queues an issue's failed and/or waiting deliveries to active subscribers.
    pub async fn retry_deliveries(
        &self,
        message_id: Uuid,
        scope: RetryScope,
        now: i64,
    ) -> Result<u64> {
        dispatch!(self, "re-queueing deliveries", s => s.retry_deliveries(message_id, scope, now).await)
    }

    /// Shows an issue in the archive, or takes it down.
    pub async fn set_published(&self, message_id: Uuid, public: bool, now: i64) -> Result<()> {
        dispatch!(self, "publishing or unpublishing an issue", s => s.set_published(message_id, public, now).await)
    }

    /// Every stored issue with its send's state and counts, newest first.
    pub async fn issues(&self) -> Result<Vec<IssueSummary>> {
        dispatch!(self, "listing issues", s => s.issues().await)
    }

    /// Issues paused, or scheduled and not started, with their send's state.
    pub async fn waiting_sends(&self) -> Result<Vec<(String, SendControl)>> {
        dispatch!(self, "listing paused and scheduled sends", s => s.waiting_sends().await)
    }

    /// The delivery a VERP tag names.
    pub async fn delivery_ref(&self, delivery_id: i64) -> Result<Option<DeliveryRef>> {
        dispatch!(self, "finding a delivery", s => s.delivery_ref(delivery_id).await)
    }

    /// The delivery of an issue to a subscriber (what our Message-ID names).
    pub async fn issue_delivery(
        &self,
        slug: &str,
        subscriber_id: Uuid,
    ) -> Result<Option<DeliveryRef>> {
        dispatch!(self, "finding an issue's delivery", s => s.issue_delivery(slug, subscriber_id).await)
    }

    /// The subscriber with this normalised address and their latest sent issue delivery.
    pub async fn latest_delivery_to(
        &self,
        email_key: &str,
    ) -> Result<Option<(Uuid, Option<DeliveryRef>)>> {
        dispatch!(self, "finding a subscriber's latest delivery", s => s.latest_delivery_to(email_key).await)
    }

    /// Records one failed recipient of a late report, once, and applies its class.
    pub async fn record_bounce(
        &self,
        event: &NewBounceEvent,
        soft_limit: u32,
        soft_window_ms: i64,
    ) -> Result<BounceEffect> {
        dispatch!(self, "recording a bounce", s => s.record_bounce(event, soft_limit, soft_window_ms).await)
    }

    /// The receiving domains that refused most of an issue's mail.
    pub async fn refused_by_domain(&self, message_id: Uuid) -> Result<Vec<(String, i64)>> {
        dispatch!(self, "counting refusals by domain", s => s.refused_by_domain(message_id).await)
    }

    /// Late reports about an issue's deliveries, by class.
    pub async fn bounce_counts(&self, message_id: Uuid) -> Result<BounceCounts> {
        dispatch!(self, "counting bounces", s => s.bounce_counts(message_id).await)
    }

    /// First attempts of an issue due in each coming hour.
    pub async fn due_by_hour(&self, message_id: Uuid, now: i64) -> Result<Vec<(i64, i64)>> {
        dispatch!(self, "counting deliveries due by hour", s => s.due_by_hour(message_id, now).await)
    }

    /// How many deliveries `enqueue_issue` would add now (what a dry run reports).
    pub async fn count_new_deliveries(&self, message_id: Uuid) -> Result<i64> {
        dispatch!(self, "counting subscribers still to queue", s => s.count_new_deliveries(message_id).await)
    }

    pub async fn count_active(&self) -> Result<i64> {
        dispatch!(self, "counting active subscribers", s => s.count_active().await)
    }

    /// A handle for the worker's claimer: on PostgreSQL it keeps one connection instead of
    /// borrowing one from the pool per statement. SQLite's pool is in-process and has
    /// nothing to save.
    pub fn for_claiming(&self) -> Store {
        match self {
            Store::Sqlite(s) => Store::Sqlite(s.clone()),
            Store::Postgres(s) => Store::Postgres(s.dedicated(postgres::Plans::Default)),
        }
    }

    /// A handle for the worker's recorder: its own connection too, and on PostgreSQL its
    /// statements (updates by key) are planned once per connection.
    pub fn for_recording(&self) -> Store {
        match self {
            Store::Sqlite(s) => Store::Sqlite(s.clone()),
            Store::Postgres(s) => Store::Postgres(s.dedicated(postgres::Plans::Generic)),
        }
    }

    /// Whether a commit is a round trip to a server that other processes share (PostgreSQL),
    /// rather than a write in this process (SQLite).
    pub fn commits_are_round_trips(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// The clock leases are timed by: the database's on PostgreSQL (shared by every host),
    /// the local one on SQLite.
    pub async fn now_ms(&self) -> Result<i64> {
        dispatch!(self, "reading the database clock", s => s.now_ms().await)
    }

    /// Claims up to `limit` due deliveries under a lease: their `due_at` becomes
    /// `lease_until` and their attempt number (the fence) goes up by one.
    pub async fn claim(&self, limit: usize, lease_until: i64, now: i64) -> Result<Vec<Claimed>> {
        dispatch!(self, "claiming deliveries", s => s.claim(None, limit, lease_until, now).await)
    }

    /// The same, from one class of mail only (the worker's share, `queue::share`).
    pub async fn claim_class(
        &self,
        class: QueueClass,
        limit: usize,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<Claimed>> {
        dispatch!(self, "claiming deliveries", s => s.claim(Some(class), limit, lease_until, now).await)
    }

    /// Confirmations sent at or after `since` (the budget's hour).
    pub async fn confirmations_sent_since(&self, since: i64) -> Result<i64> {
        dispatch!(self, "counting the confirmations sent", s => s.confirmations_sent_since(since).await)
    }

    /// Whether a confirmation mail is due and waiting.
    pub async fn confirmation_waiting(&self, now: i64) -> Result<bool> {
        Ok(self.confirmations_due_up_to(now, 1).await? > 0)
    }

    /// Notes the budget's limit and whether it is exhausted, for `status` and the metrics.
    pub async fn note_confirmation_budget(
        &self,
        per_hour: i64,
        exhausted: bool,
        now: i64,
    ) -> Result<()> {
        dispatch!(self, "noting the confirmation budget", s => s.note_confirmation_budget(per_hour, exhausted, now).await)
    }

    pub async fn confirmation_backlog(&self, now: i64) -> Result<ConfirmationBacklog> {
        dispatch!(self, "reading the sign-up backlog", s => s.confirmation_backlog(now).await)
    }

    /// Drops the waiting confirmations of sign-ups made before `cutoff` (`signups purge`).
    pub async fn purge_pending(&self, cutoff: i64) -> Result<PurgeReport> {
        dispatch!(self, "purging pending sign-ups", s => s.purge_pending(cutoff).await)
    }

    /// Records outcomes in one transaction; each update is fenced by its attempt number.
    /// Returns how many were refused by the fence (a newer attempt owns the row).
    pub async fn record(&self, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
        dispatch!(self, "recording delivery outcomes", s => s.record(outcomes, now).await)
    }

    pub async fn queue_counts(&self, message_id: Option<Uuid>) -> Result<QueueCounts> {
        dispatch!(self, "counting deliveries", s => s.queue_counts(message_id).await)
    }

    /// Folds the delivery counts written by database connections that are gone into one
    /// row per (message, state) (PostgreSQL; nothing to do on SQLite). The worker calls it
    /// now and then; the counts read the same before and after (decision 41).
    pub async fn fold_delivery_counts(&self) -> Result<u64> {
        dispatch!(self, "folding the delivery counts", s => s.fold_delivery_counts().await)
    }

    /// The queue's depth for the metrics (cheap at any size: read from an index).
    pub async fn queue_depth(&self, now: i64) -> Result<QueueDepth> {
        dispatch!(self, "reading the queue's depth", s => s.queue_depth(now).await)
    }

    /// The largest recipient domains of the active list, largest first (the metrics'
    /// domain label).
    pub async fn top_domains(&self, limit: usize) -> Result<Vec<String>> {
        dispatch!(self, "counting the list's domains", s => s.top_domains(limit).await)
    }

    pub async fn status_report(&self, message_id: Option<Uuid>, now: i64) -> Result<StatusReport> {
        dispatch!(self, "reading the send status", s => s.status_report(message_id, now).await)
    }

    /// Whether a delivery of this message is in flight or due before `horizon` (`send --wait`).
    pub async fn has_due_before(&self, message_id: Uuid, horizon: i64) -> Result<bool> {
        dispatch!(self, "checking for deliveries due soon", s => s.has_due_before(message_id, horizon).await)
    }

    /// The most frequent replies of a message's failed (or retrying) deliveries.
    pub async fn reply_groups(&self, message_id: Uuid, retrying: bool) -> Result<Vec<ReplyGroup>> {
        dispatch!(self, "grouping delivery replies", s => s.reply_groups(message_id, retrying).await)
    }

    /// True when no delivery (of this message, or at all) is queued or in flight.
    pub async fn is_done(&self, message_id: Option<Uuid>) -> Result<bool> {
        let pending = dispatch!(self, "checking for queued deliveries", s => s.has_pending(message_id).await)?;
        Ok(!pending)
    }
}

/// The migrator of one backend's migration files (embedded, in order).
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr as _;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    let migrations = files
        .iter()
        .map(|(version, name, sql)| {
            // A migration that must run outside a transaction says so on its first line
            // (SQLite's table rebuild turns foreign keys off, which a transaction forbids).
            let no_transaction = sql.starts_with("-- no-transaction");
            Migration::new(
                *version,
                std::borrow::Cow::Borrowed(*name),
                MigrationType::Simple,
                sql.into_sql_str(),
                no_transaction,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}
