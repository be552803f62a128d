//! SQLite: WAL mode, a busy timeout, foreign keys on; one writer at a time, which the claim
//! query and the group-committing recorder respect.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Result, StoreError};

mod checkpointer;
mod claims;
mod dialect;
mod inbox;
mod opened_file;
/// The shared queries, compiled for SQLite. Loading one file as two modules is the point:
/// each copy is checked against its backend's concrete types (see `store/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;
mod turns;

use dialect::{Conn, Db, Handle};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "operator controls",
        include_str!("../../../migrations/sqlite/0002_operator_controls.sql"),
    ),
    (
        3,
        "bounces",
        include_str!("../../../migrations/sqlite/0003_bounces.sql"),
    ),
    (
        4,
        "subscriber data",
        include_str!("../../../migrations/sqlite/0004_subscriber_data.sql"),
    ),
    (
        5,
        "reply code",
        include_str!("../../../migrations/sqlite/0005_reply_code.sql"),
    ),
    (
        6,
        "confirmation budget",
        include_str!("../../../migrations/sqlite/0006_confirmation_budget.sql"),
    ),
    (
        7,
        "health probe",
        include_str!("../../../migrations/sqlite/0007_health_probe.sql"),
    ),
    (
        8,
        "installation",
        include_str!("../../../migrations/sqlite/0008_installation.sql"),
    ),
    (
        9,
        "clock floor",
        include_str!("../../../migrations/sqlite/0009_clock_floor.sql"),
    ),
    (
        10,
        "delivery counts",
        include_str!("../../../migrations/sqlite/0010_delivery_counts.sql"),
    ),
];

#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Readers (WAL lets them run beside the writer).
    pool: SqlitePool,
    /// The one writer connection: write transactions queue here, asynchronously, instead of
    /// colliding inside SQLite and sleeping in its busy handler.
    writer: SqlitePool,
    /// Who goes first at the writer (sign-up batches stand aside).
    turns: std::sync::Arc<turns::WriterTurns>,
    /// The file written to, checked before each write transaction.
    file: Option<opened_file::OpenedFile>,
    checkpointer: std::sync::Arc<checkpointer::Checkpointer>,
    /// The sign-up inbox, a file of its own ([`inbox`]).
    inbox: std::sync::Arc<inbox::Inbox>,
}

impl SqliteStore {
    /// Opens the database file, creating it only when `create_if_missing`; a missing file
    /// is then [`StoreError::Missing`].
    pub async fn connect(url: &str, create_if_missing: bool) -> Result<Self> {
        let store = Self::open(url, create_if_missing).await?;
        super::migrator(MIGRATIONS).run(&store.writer).await?;
        crate::clock::raise_floor(store.clock_floor().await?);
        Ok(store)
    }

    /// Opens an existing database file as it is, applying no migration: for `doctor`, which
    /// reports the schema's state instead of changing it.
    pub async fn connect_without_migrating(url: &str) -> Result<Self> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create_if_missing: bool) -> Result<Self> {
        let connect_err = |source| StoreError::connect(url, source);
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a process crash; after a power loss the
            // last commits may roll back, and those rows are then simply sent again.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let file = options.get_filename().to_owned();
        let file = file.as_path();
        // A file that cannot be opened for writing on a read-only filesystem is said as such.
        let refused = |source| explain_unwritable(file, StoreError::connect(url, source));
        if create_if_missing {
            create_private(file).map_err(|e| {
                if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem {
                    StoreError::ReadOnlyFilesystem {
                        path: file.to_owned(),
                        source: sqlx::Error::Io(e),
                    }
                } else {
                    connect_err(sqlx::Error::Io(e))
                }
            })?;
        } else if !url.contains(":memory:") && !file.exists() {
            // (sqlx names an in-memory database `file:sqlx-in-memory-N`, which never exists.)
            return Err(StoreError::Missing {
                path: file.to_owned(),
            });
        }
        let opened = opened_file::OpenedFile::of(file);
        // (sqlx names an in-memory database `file:sqlx-in-memory-N`.)
        let on_disk = (!url.contains(":memory:")).then_some(file);
        let inbox = std::sync::Arc::new(inbox::Inbox::beside(on_disk, &options)?);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A connection handed back inside a transaction is closed, and the next write opens
            // a fresh one. SQLite rolls a transaction back by itself on some errors (a full
            // disk, an I/O error), after which sqlx's own ROLLBACK fails and it still counts the
            // connection as inside one: every later write then failed with "begin_with at
            // non-zero transaction depth" until the process was restarted.
            .after_release(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            // Checkpoints mostly happen off the writer ([`checkpointer`]).
            .connect_with(options.clone().pragma("wal_autocheckpoint", "10000"))
            .await
            .map_err(refused)?;
        // Readers scan (status, the progress display) more than they revisit pages: a 512 KB
        // cache each instead of SQLite's 2 MB. Four of them filled theirs in a large send:
        // 42.6 → 33.3 MB peak RSS at 100,000 (`scripts/bench send --subscribers 100000`).
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.pragma("cache_size", "-512"))
            .await
            .map_err(refused)?;
        Ok(Self {
            inbox,
            file: opened,
            checkpointer: checkpointer::Checkpointer::spawn(pool.clone()),
            pool,
            writer,
            turns: Default::default(),
        })
    }

    fn reader(&self) -> &SqlitePool {
        &self.pool
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// For a process that writes a large batch of rows (an import, a restore): the writer
    /// keeps a 12 MB page cache (SQLite's default 2 MB made a million-row import spill
    /// pages mid-transaction and read them back for every random index insert: email_key,
    /// unsubscribe_hash) and checkpoints every 32,000 pages instead of 1,000 (a third of the
    /// import's time went into writing the same index pages again at each commit and
    /// checkpoint). Per connection, so the worker's and the server's memory is unchanged.
    pub async fn prepare_bulk_write(&self) -> Result<()> {
        self.checkpointer.stand_down();
        for pragma in [
            "PRAGMA cache_size = -12288",
            "PRAGMA wal_autocheckpoint = 32000",
            "PRAGMA temp_store = MEMORY",
        ] {
            sqlx::query(pragma).execute(&self.writer).await?;
        }
        Ok(())
    }

    /// One writer, one row per key already: nothing to fold; counts that came to zero (a
    /// past minute's first attempts, say) are dropped (decision 41).
    pub async fn fold_delivery_counts(&self) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM delivery_counts WHERE n = 0")
            .execute(self.writer())
            .await?
            .rows_affected())
    }

    /// `BEGIN IMMEDIATE`: the transaction takes the write lock at once, so it never fails
    /// halfway with SQLITE_BUSY when it first writes.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>> {
        self.check_file()?;
        let _first = self.turns.first();
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// For sign-up batches: after the writes waiting now ([`turns`]).
    async fn begin_write_after_others(&self) -> Result<sqlx::Transaction<'static, Db>> {
        self.check_file()?;
        self.turns.stand_aside().await;
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A write that failed because the file cannot be written, said as a read-only
    /// filesystem when that is why ([`Store::check_writable`](super::Store::check_writable)).
    pub(super) fn explain_unwritable(&self, e: StoreError) -> StoreError {
        match &self.file {
            Some(file) => explain_unwritable(file.path(), e),
            None => e,
        }
    }

    /// Whether the path still names the file opened ([`opened_file`]).
    fn check_file(&self) -> Result<()> {
        self.file
            .as_ref()
            .map_or(Ok(()), opened_file::OpenedFile::check)
    }

    /// The sign-up inbox's pool, its file created when `create`; `None` when it does not
    /// exist and is not to be created.
    async fn inbox(&self, create: bool) -> Result<Option<&SqlitePool>> {
        if create {
            self.inbox.open().await.map(Some)
        } else {
            self.inbox.if_exists().await
        }
    }

    /// The one writer connection already serialises sign-up batches.
    async fn lock_signups(_tx: &mut Conn) -> Result<()> {
        Ok(())
    }

    /// The one writer connection already serialises reports about a subscriber.
    async fn lock_subscriber(_tx: &mut Conn, _subscriber_id: uuid::Uuid) -> Result<()> {
        Ok(())
    }

    /// Rows about to be queued at "now": the floor goes up to it ([`claims`]).
    async fn prepare_enqueue(tx: &mut Conn, _message_id: uuid::Uuid) -> Result<()> {
        claims::record_clock_floor(tx, crate::clock::now_ms()).await
    }

    /// `ENQUEUE_ISSUE`, then `COUNT_ENQUEUED` over the rows above the largest id before it;
    /// returns how many rows were inserted.
    async fn insert_issue_deliveries(
        tx: &mut Conn,
        message_id: uuid::Uuid,
        now: i64,
        default_due: i64,
        zones: &str,
    ) -> Result<u64> {
        let before: i64 = sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM deliveries")
            .fetch_one(&mut *tx)
            .await?;
        let n = sqlx::query(dialect::ENQUEUE_ISSUE)
            .bind(message_id)
            .bind(now)
            .bind(default_due)
            .bind(zones)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            sqlx::query(dialect::COUNT_ENQUEUED)
                .bind(message_id)
                .bind(before)
                .execute(&mut *tx)
                .await?;
        }
        Ok(n)
    }
}

/// The file a `sqlite:` URL names, made absolute; `None` for other URLs.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    // sqlx reads any other text as a file name: `postgres://…` was "SQLite database
    // ./postgres:/…" in `init`'s message.
    if !url.starts_with("sqlite:") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    Some(std::path::absolute(file).unwrap_or_else(|_| file.to_owned()))
}

/// `e`, or [`StoreError::ReadOnlyFilesystem`] when `e` is a file that cannot be written
/// ([`ResourceFault::Unwritable`](super::ResourceFault::Unwritable)) and the filesystem it
/// is on refuses writes as read-only.
fn explain_unwritable(path: &Path, e: StoreError) -> StoreError {
    if e.resource_fault() != Some(super::ResourceFault::Unwritable) || is_in_memory(path) {
        return e;
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !read_only_filesystem(folder) {
        return e;
    }
    match e {
        StoreError::Query { source, .. } | StoreError::Connect { source, .. } => {
            StoreError::ReadOnlyFilesystem {
                path: path.to_owned(),
                source,
            }
        }
        other => other,
    }
}

/// Whether the filesystem holding `folder` refuses writes as read-only (EROFS): mounted
/// `ro`, or remounted read-only by the kernel after a disk error. The latter (ext4's
/// `errors=remount-ro`) is not flagged in `statvfs`, so the question is asked by opening an
/// unnamed temporary file there (`O_TMPFILE`: nothing is left behind, and no descriptor of
/// the database's own files is opened and closed, which would drop SQLite's locks on them).
fn read_only_filesystem(folder: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Mode, OFlags};
        match rustix::fs::open(
            folder,
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        ) {
            Ok(_) => return false,
            Err(rustix::io::Errno::ROFS) => return true,
            // Not supported by this filesystem: statvfs says what it knows.
            Err(_) => {}
        }
    }
    rustix::fs::statvfs(folder)
        .is_ok_and(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
}

fn is_in_memory(path: &Path) -> bool {
    path.as_os_str().is_empty() || path.as_os_str() == ":memory:"
}

/// Creates a missing database file readable by its owner only (SQLite gives the WAL and
/// shared-memory files the same mode): subscriber addresses are personal data.
fn create_private(path: &Path) -> std::io::Result<()> {
    if is_in_memory(path) || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_a_sqlite_url_names_a_file() {
        assert_eq!(
            super::sqlite_file("sqlite:///srv/news.db"),
            Some(std::path::PathBuf::from("/srv/news.db"))
        );
        assert_eq!(super::sqlite_file("postgres://u@db.example/news"), None);
        assert_eq!(super::sqlite_file("postgresql://u@db.example/news"), None);
    }

    #[tokio::test]
    async fn a_new_database_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("news.db");
        let store = super::SqliteStore::connect(&format!("sqlite://{}", path.display()), true)
            .await
            .unwrap();
        store.health(0).await.unwrap();
        for file in ["news.db", "news.db-wal"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
        }
    }
}
