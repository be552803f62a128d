//! PostgreSQL: for operators who outgrow one machine. Any number of workers on any hosts
//! share the queue: claims use `FOR UPDATE SKIP LOCKED` in one short statement that commits
//! the lease before any SMTP conversation, and workers time leases by the database's clock
//! (`Store::now_ms`), so hosts with skewed clocks cannot steal each other's rows early.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

use super::{Result, StoreError, StoreOptions};

mod claims;
mod dialect;
/// The shared queries, compiled for PostgreSQL. Loading one file as two modules is the point:
/// each copy is checked against its backend's concrete types (see `store/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use dialect::{Conn, Db, Handle};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "operator controls",
        include_str!("../../../migrations/postgres/0002_operator_controls.sql"),
    ),
    (
        3,
        "bounces",
        include_str!("../../../migrations/postgres/0003_bounces.sql"),
    ),
    (
        4,
        "subscriber data",
        include_str!("../../../migrations/postgres/0004_subscriber_data.sql"),
    ),
    (
        5,
        "reply code",
        include_str!("../../../migrations/postgres/0005_reply_code.sql"),
    ),
    (
        6,
        "confirmation budget",
        include_str!("../../../migrations/postgres/0006_confirmation_budget.sql"),
    ),
    (
        7,
        "health probe",
        include_str!("../../../migrations/postgres/0007_health_probe.sql"),
    ),
    (
        8,
        "installation",
        include_str!("../../../migrations/postgres/0008_installation.sql"),
    ),
    (
        10,
        "signup inbox",
        include_str!("../../../migrations/postgres/0010_signup_inbox.sql"),
    ),
    (
        11,
        "delivery counts",
        include_str!("../../../migrations/postgres/0011_delivery_counts.sql"),
    ),
];

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Longest to wait for a new connection (the pool's acquire timeout).
    connect_timeout: Duration,
    /// Set on a handle made by [`PgStore::dedicated`].
    own: Option<Arc<Dedicated>>,
}

/// The connection a dedicated handle keeps (opened on first use, dropped after an error).
#[derive(Debug)]
struct Dedicated {
    conn: Mutex<Option<PgConnection>>,
    plans: Plans,
}

/// How a dedicated connection plans its statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plans {
    /// PostgreSQL's default: a custom plan whenever it looks cheaper than the generic one.
    Default,
    /// Plan each statement once per connection. Only for statements that find their rows
    /// by key, whose generic plan is the right one whatever the parameters: the default
    /// re-plans the recorder's `unnest` update on every call (a custom plan for a short
    /// array looks cheaper), which was a quarter of the database's CPU in the send benchmark.
    Generic,
}

impl PgStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let store = Self::connect_without_migrating(url, options).await?;
        // The migrator holds an advisory lock: many processes may start at once.
        super::migrator(MIGRATIONS).run(&store.pool).await?;
        Ok(store)
    }

    /// Connects to the database as it is, applying no migration: for `doctor`, which
    /// reports the schema's state instead of changing it.
    pub async fn connect_without_migrating(url: &str, options: &StoreOptions) -> Result<Self> {
        let connect_err = |source| StoreError::connect(url, source);
        let statement_timeout = format!("{}ms", options.statement_timeout.as_millis());
        let connect = PgConnectOptions::from_str(url)
            .map_err(connect_err)?
            .application_name("morningpost")
            .options([("statement_timeout", statement_timeout.as_str())]);
        // One plain connection first: the pool retries a refused connection silently until
        // its acquire timeout (30 s), and a server that is down should be said at once.
        PgConnection::connect_with(&connect)
            .await
            .map_err(connect_err)?
            .close()
            .await
            .map_err(connect_err)?;
        // A lost connection is dropped by the pool and replaced on the next acquire; callers
        // retry the failed statement (the worker's claimer and recorder do).
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_size)
            .min_connections(1)
            .acquire_timeout(options.statement_timeout)
            .test_before_acquire(true)
            .connect_with(connect)
            .await
            .map_err(connect_err)?;
        Ok(Self {
            pool,
            connect_timeout: options.statement_timeout,
            own: None,
        })
    }

    /// A handle that keeps one connection of its own (outside the pool) between its
    /// statements. A pooled statement costs two extra round trips (the pool tests the
    /// connection when it lends it and when it gets it back), which matters for a task that
    /// runs small statements back to back all day: the worker's claimer and recorder.
    pub fn dedicated(&self, plans: Plans) -> Self {
        Self {
            pool: self.pool.clone(),
            connect_timeout: self.connect_timeout,
            own: Some(Arc::new(Dedicated {
                conn: Mutex::new(None),
                plans,
            })),
        }
    }

    /// Runs `f` on this handle's own connection, or on one from the pool for a shared
    /// handle. After an error the kept connection is dropped (it may be broken) and the
    /// next call opens a fresh one: a lost connection is not fatal.
    async fn on_conn<T>(&self, f: impl AsyncFnOnce(&mut PgConnection) -> Result<T>) -> Result<T> {
        let Some(own) = &self.own else {
            let mut conn = self.pool.acquire().await?;
            return f(&mut conn).await;
        };
        let mut kept = own.conn.lock().await;
        // Out of the slot while in use: if this future is dropped mid-statement, the
        // connection goes with it instead of being reused with a reply still pending.
        let mut conn = match kept.take() {
            Some(conn) => conn,
            None => self.open_dedicated(own.plans).await?,
        };
        let result = f(&mut conn).await;
        if result.is_ok() {
            *kept = Some(conn);
        }
        result
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// The sign-up inbox is a table of the database.
    async fn inbox(&self, _create: bool) -> Result<Option<&PgPool>> {
        Ok(Some(&self.pool))
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>> {
        Ok(self.pool.begin().await?)
    }

    /// A server, not a file: nothing can be deleted under us.
    fn check_file(&self) -> Result<()> {
        Ok(())
    }

    /// Sign-up batches: a pool of connections has no single writer to wait for.
    async fn begin_write_after_others(&self) -> Result<sqlx::Transaction<'static, Db>> {
        self.begin_write().await
    }

    /// Nothing to tune: the server's own settings apply (`Store::prepare_bulk_write`).
    pub async fn prepare_bulk_write(&self) -> Result<()> {
        Ok(())
    }

    /// Sign-up batches from several servers take turns: each reads, decides, then writes.
    async fn lock_signups(tx: &mut Conn) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(7243001)")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Reports about one subscriber take turns (their row is locked until the commit), so a
    /// soft-bounce streak is judged with every earlier report in sight, whichever worker or
    /// ingest task records them.
    async fn lock_subscriber(tx: &mut Conn, subscriber_id: uuid::Uuid) -> Result<()> {
        sqlx::query("SELECT 1 FROM subscribers WHERE id = $1 FOR UPDATE")
            .bind(subscriber_id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Enqueues of the same message take turns (an advisory lock), so the anti-join of
    /// `ENQUEUE_ISSUE` sees every earlier row and no speculative insertion is needed; and a
    /// million rows take longer than an interactive statement may.
    async fn prepare_enqueue(tx: &mut Conn, message_id: uuid::Uuid) -> Result<()> {
        sqlx::query("SET LOCAL statement_timeout = '10min'")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7243002, hashtext($1::text))")
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// `ENQUEUE_ISSUE`, which counts its rows itself; returns how many it inserted.
    async fn insert_issue_deliveries(
        tx: &mut Conn,
        message_id: uuid::Uuid,
        now: i64,
        default_due: i64,
        zones: &str,
    ) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(dialect::ENQUEUE_ISSUE)
            .bind(message_id)
            .bind(now)
            .bind(default_due)
            .bind(zones)
            .fetch_one(&mut *tx)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Moves the counts that connections now gone wrote into shard 0 (docs/architecture.md
    /// decision 41), one row per key again; returns how many counts of shard 0
    /// it added to or made.
    /// Rows that a live transaction holds are skipped, never waited for (a new backend may
    /// have been given a dead one's pid); one fold at a time (an advisory lock), so shard 0
    /// is only ever written by one transaction. Counts of zero are dropped (first attempts
    /// are counted by the minute they are due: each minute's count comes to zero).
    pub async fn fold_delivery_counts(&self) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(7243003)")
            .fetch_one(&mut *tx)
            .await?;
        if !ours {
            tx.commit().await?;
            return Ok(0);
        }
        let moved = sqlx::query(
            "WITH gone AS (
                 SELECT message_id, state, retrying, due_minute, shard FROM delivery_counts c
                 WHERE shard <> 0
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.shard)
                 FOR UPDATE SKIP LOCKED),
             moved AS (
                 DELETE FROM delivery_counts c USING gone g
                 WHERE c.message_id = g.message_id AND c.state = g.state
                   AND c.retrying = g.retrying AND c.due_minute = g.due_minute AND c.shard = g.shard
                 RETURNING c.message_id, c.state, c.retrying, c.due_minute, c.n)
             INSERT INTO delivery_counts AS c (message_id, state, retrying, due_minute, shard, n)
             SELECT message_id, state, retrying, due_minute, 0, sum(n) FROM moved GROUP BY 1, 2, 3, 4
             ON CONFLICT (message_id, state, retrying, due_minute, shard) DO UPDATE SET n = c.n + excluded.n",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // A count of zero says nothing, whoever wrote it; a row its connection holds now is
        // left to it (it may be adding to it).
        sqlx::query(
            "DELETE FROM delivery_counts WHERE ctid IN
                 (SELECT ctid FROM delivery_counts WHERE n = 0 FOR UPDATE SKIP LOCKED)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn open_dedicated(&self, plans: Plans) -> Result<PgConnection> {
        let mut options = (*self.pool.connect_options()).clone();
        if plans == Plans::Generic {
            options = options.options([("plan_cache_mode", "force_generic_plan")]);
        }
        match tokio::time::timeout(self.connect_timeout, PgConnection::connect_with(&options)).await
        {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "connecting to PostgreSQL took longer than {:?}",
                    self.connect_timeout
                ),
            ))
            .into()),
        }
    }
}
