//! The sign-up inbox's own file, `<database>-signups` beside the database (docs/architecture.md
//! decision 40). A file of its own has a write lock of its own: sign-ups held there during a
//! flood are stored without waiting for the worker's claims and outcomes at the database's one
//! writer, and without making them wait. It holds one table, created on first use; the
//! database's migrations do not cover it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tokio::sync::OnceCell;

use super::checkpointer::Checkpointer;
use super::{create_private, explain_unwritable, is_in_memory};
use crate::store::{Result, StoreError};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS signup_inbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    email_key   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    request     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signup_inbox_email ON signup_inbox (email_key);";

/// The inbox of one database: opened (and created) on first use, so that a command that
/// never touches it opens no extra file, and reading commands on a read-only filesystem
/// work whether or not it exists.
#[derive(Debug)]
pub(super) struct Inbox {
    /// `None` for an in-memory database, whose inbox is in memory too.
    path: Option<PathBuf>,
    options: SqliteConnectOptions,
    pool: OnceCell<SqlitePool>,
}

impl Inbox {
    /// The inbox beside the database file that `options` opens; `None`: an in-memory one.
    pub fn beside(database: Option<&Path>, options: &SqliteConnectOptions) -> Result<Self> {
        let Some(database) = database.filter(|d| !is_in_memory(d)) else {
            let options = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(|e| StoreError::connect("sqlite::memory:", e))?;
            return Ok(Self {
                path: None,
                options,
                pool: OnceCell::new(),
            });
        };
        let path = path_beside(database);
        Ok(Self {
            options: options.clone().filename(&path).create_if_missing(true),
            path: Some(path),
            pool: OnceCell::new(),
        })
    }

    /// The pool, opening the file (created 0600 when missing) on first use.
    pub async fn open(&self) -> Result<&SqlitePool> {
        self.pool.get_or_try_init(|| self.connect()).await
    }

    /// The pool if the inbox exists: `None` when no sign-up was ever held here (nothing to
    /// read, and nothing is created to say so).
    pub async fn if_exists(&self) -> Result<Option<&SqlitePool>> {
        if let Some(pool) = self.pool.get() {
            return Ok(Some(pool));
        }
        match &self.path {
            Some(path) if !path.exists() => Ok(None),
            _ => self.open().await.map(Some),
        }
    }

    async fn connect(&self) -> Result<SqlitePool> {
        let name = self
            .path
            .as_deref()
            .map_or_else(|| ":memory:".into(), |p| p.display().to_string());
        let refused = |source| {
            let e = StoreError::connect(&name, source);
            match &self.path {
                Some(path) => explain_unwritable(path, e),
                None => e,
            }
        };
        if let Some(path) = &self.path {
            create_private(path).map_err(|e| refused(sqlx::Error::Io(e)))?;
        }
        // One connection: the process's writes to the inbox queue here, and its reads are few
        // (the mover's, `signups backlog`'s). An in-memory inbox lives as long as it does.
        // Checkpoints run off it, as the database's do (checkpointer.rs): inline, every
        // thousand pages, they held a flood's sign-ups for half a second at a time while the
        // worker's own writes kept the disk busy (p99 538 ms in `scripts/bench mixed`).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_release(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect_with(self.options.clone().pragma("wal_autocheckpoint", "10000"))
            .await
            .map_err(refused)?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        if self.path.is_some() {
            let checkpoints = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(self.options.clone())
                .await
                .map_err(refused)?;
            Checkpointer::spawn(checkpoints);
        }
        Ok(pool)
    }
}

/// `/srv/news.db` → `/srv/news.db-signups`: beside the database, named like SQLite's own
/// companions (`-wal`, `-shm`), so that whoever moves the database sees it belongs.
fn path_beside(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-signups");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_inbox_is_named_after_the_database() {
        assert_eq!(
            super::path_beside(std::path::Path::new("/srv/news.db")),
            std::path::PathBuf::from("/srv/news.db-signups")
        );
    }
}
