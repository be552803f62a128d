//! All SQL lives here, behind one backend-neutral API (DESIGN.md decision 10). Callers hold a
//! [`Store`] and never see which database is underneath.

mod decode;
mod postgres;
mod rules;
mod sqlite;
mod types;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::*;

use uuid::Uuid;

use crate::domain::TokenHash;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {url}: {source}; check MORNINGPOST_DATABASE_URL and that the folder exists and is writable"
    )]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database URL {0:?} is not supported: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error("applying the database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Connection settings of the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// PostgreSQL connections per process.
    pub pool_size: u32,
    /// Longest a statement may run (PostgreSQL), and longest to wait for a connection.
    pub statement_timeout: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            statement_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// The database, whichever it is.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

impl Store {
    /// Opens the database named by the URL and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(SqliteStore::connect(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url, options).await?))
        } else {
            Err(StoreError::UnsupportedUrl(
                crate::config::Secret::new(url).redacted(),
            ))
        }
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
        dispatch!(self, s => s.import_subscribers(batch).await)
    }

    pub async fn subscribers(&self, status: Option<SubscriberStatus>) -> Result<Vec<Subscriber>> {
        dispatch!(self, s => s.subscribers(status).await)
    }

    pub async fn subscriber_by_email(&self, email_key: &str) -> Result<Option<Subscriber>> {
        dispatch!(self, s => s.subscriber_by_email(email_key).await)
    }

    pub async fn subscriber_by_unsubscribe_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Subscriber>> {
        dispatch!(self, s => s.subscriber_by_unsubscribe_hash(hash).await)
    }

    /// Marks a subscriber unsubscribed and cancels what was not yet sent to them.
    pub async fn unsubscribe(&self, id: Uuid, now: i64) -> Result<bool> {
        dispatch!(self, s => s.unsubscribe(id, now).await)
    }

    /// Double opt-in: creates, re-mails, or leaves alone, by each address's state; many
    /// sign-ups share one transaction. Outcomes are in the order of the requests.
    pub async fn subscribe_batch(
        &self,
        requests: &[SubscribeRequest],
    ) -> Result<Vec<SubscribeOutcome>> {
        dispatch!(self, s => s.subscribe_batch(requests).await)
    }

    pub async fn subscribe(&self, request: &SubscribeRequest) -> Result<SubscribeOutcome> {
        let mut outcomes = self.subscribe_batch(std::slice::from_ref(request)).await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a sign-up produced no outcome".into()))
    }

    /// Spends a confirmation token.
    pub async fn confirm(&self, hash: &TokenHash, now: i64) -> Result<ConfirmOutcome> {
        dispatch!(self, s => s.confirm(hash, now).await)
    }

    /// The id of a stored transactional template with this content, stored if new.
    pub async fn ensure_template(&self, message: &NewMessage<'_>) -> Result<Uuid> {
        dispatch!(self, s => s.ensure_template(message).await)
    }

    /// Sent issues, newest first.
    pub async fn archive(&self) -> Result<Vec<ArchiveEntry>> {
        dispatch!(self, s => s.archive().await)
    }

    /// A trivial query: is the database there?
    pub async fn health(&self) -> Result<()> {
        dispatch!(self, s => s.health().await)
    }

    pub async fn store_issue(&self, issue: &NewMessage<'_>) -> Result<StoreIssueOutcome> {
        dispatch!(self, s => s.store_issue(issue).await)
    }

    pub async fn message_by_slug(&self, slug: &str) -> Result<Option<StoredMessage>> {
        dispatch!(self, s => s.message_by_slug(slug).await)
    }

    pub async fn message(&self, id: Uuid) -> Result<Option<StoredMessage>> {
        dispatch!(self, s => s.message(id).await)
    }

    /// One delivery per active subscriber, in one statement; returns how many are new.
    pub async fn enqueue_issue(&self, message_id: Uuid, now: i64) -> Result<u64> {
        dispatch!(self, s => s.enqueue_issue(message_id, now).await)
    }

    pub async fn count_active(&self) -> Result<i64> {
        dispatch!(self, s => s.count_active().await)
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

    /// The clock leases are timed by: the database's on PostgreSQL (shared by every host),
    /// the local one on SQLite.
    pub async fn now_ms(&self) -> Result<i64> {
        dispatch!(self, s => s.now_ms().await)
    }

    /// Claims up to `limit` due deliveries under a lease (DESIGN.md decision 3).
    pub async fn claim(&self, limit: usize, lease_until: i64, now: i64) -> Result<Vec<Claimed>> {
        dispatch!(self, s => s.claim(limit, lease_until, now).await)
    }

    /// Records outcomes in one transaction; each update is fenced by its attempt number.
    /// Returns how many were refused by the fence (a newer attempt owns the row).
    pub async fn record(&self, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
        dispatch!(self, s => s.record(outcomes, now).await)
    }

    pub async fn queue_counts(&self, message_id: Option<Uuid>) -> Result<QueueCounts> {
        dispatch!(self, s => s.queue_counts(message_id).await)
    }

    pub async fn status_report(&self, message_id: Option<Uuid>, now: i64) -> Result<StatusReport> {
        dispatch!(self, s => s.status_report(message_id, now).await)
    }

    /// True when no delivery (of this message, or at all) is queued or in flight.
    pub async fn is_done(&self, message_id: Option<Uuid>) -> Result<bool> {
        let pending = dispatch!(self, s => s.has_pending(message_id).await)?;
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
            Migration::new(
                *version,
                std::borrow::Cow::Borrowed(*name),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}
