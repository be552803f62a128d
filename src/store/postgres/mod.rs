//! PostgreSQL: for operators who outgrow one machine. Any number of workers on any hosts
//! share the queue: claims use `FOR UPDATE SKIP LOCKED` in one short statement that commits
//! the lease before any SMTP conversation, and workers time leases by the database's clock
//! (`Store::now_ms`), so hosts with skewed clocks cannot steal each other's rows early.

use std::borrow::Cow;
use std::str::FromStr;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{Result, StoreError, StoreOptions};

mod messages;
mod queue;
mod rows;
mod signups;
mod subscribers;

const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../../migrations/postgres/0001_init.sql"),
)];

#[derive(Clone, Debug)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let redacted = crate::config::Secret::new(url).redacted();
        let connect_err = |source| StoreError::Connect {
            url: redacted.clone(),
            source,
        };
        let statement_timeout = format!("{}ms", options.statement_timeout.as_millis());
        let connect = PgConnectOptions::from_str(url)
            .map_err(connect_err)?
            .application_name("morningpost")
            .options([("statement_timeout", statement_timeout.as_str())]);
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
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        // The migrator holds an advisory lock: many processes may start at once.
        Migrator::with_migrations(migrations).run(&pool).await?;
        Ok(Self { pool })
    }
}
