//! What can go wrong in the store. A failed statement names the operation it was part of;
//! the database's own words come as its source.

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {url}; check MORNINGPOST_DATABASE_URL and that the folder exists and is writable"
    )]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the SQLite database {} does not exist (nothing was created)", path.display())]
    Missing { path: std::path::PathBuf },
    #[error("database URL {0:?} is not supported: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error("applying the database migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database failed while {op}")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the SQLite database {} was deleted or replaced while morningpost had it open, and what it wrote now would be lost: put the file back (or restore a backup) and restart morningpost",
        path.display()
    )]
    FileReplaced { path: std::path::PathBuf },
    /// Found when the database is opened or a command that writes starts
    /// ([`crate::store::Store::check_writable`]): the file could not be written, and its
    /// filesystem refuses writes with EROFS (mounted `ro`, or remounted read-only by the
    /// kernel after a disk error).
    #[error(
        "the SQLite database {} is on a read-only filesystem: nothing can be stored in it",
        path.display()
    )]
    ReadOnlyFilesystem {
        path: std::path::PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A failure of something the database needs rather than of the statement: it passes
/// when the resource comes back, so whoever retries (the worker, `serve`'s start) keeps
/// retrying it, and says what the operator can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceFault {
    /// SQLITE_FULL, PostgreSQL's disk_full.
    DiskFull,
    /// The file cannot be written: SQLITE_READONLY (and the file moved or deleted under
    /// us), SQLITE_IOERR, SQLITE_CANTOPEN; PostgreSQL in read-only mode.
    Unwritable,
    /// No connection: refused, cut, timed out; PostgreSQL starting, shutting down or out
    /// of connection slots.
    Unreachable,
    /// Another writer holds the lock longer than the busy timeout; a serialization failure.
    Busy,
}

impl ResourceFault {
    pub fn advice(self) -> &'static str {
        match self {
            ResourceFault::DiskFull => {
                "the database's disk is full: free space where the database is"
            }
            ResourceFault::Unwritable => {
                "the database file cannot be written: check its filesystem (if the kernel \
                 remounted it read-only after a disk error, see dmesg: stop morningpost, check it \
                 with fsck and mount it again), that the file is still there, and its permissions"
            }
            ResourceFault::Unreachable => {
                "the database cannot be reached: check that it is running and that database_url names it"
            }
            ResourceFault::Busy => "the database is busy: another process holds its write lock",
        }
    }

    fn of(source: &sqlx::Error) -> Option<Self> {
        match source {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => {
                Some(ResourceFault::Unreachable)
            }
            sqlx::Error::Database(db) => {
                let code = db.code()?;
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLite gives extended codes; the primary code is the low byte.
                    let primary = code.parse::<i32>().ok()? & 0xff;
                    match primary {
                        13 => Some(ResourceFault::DiskFull),
                        8 | 10 | 14 => Some(ResourceFault::Unwritable),
                        5 | 6 => Some(ResourceFault::Busy),
                        _ => None,
                    }
                } else {
                    match code.as_ref() {
                        "53100" => Some(ResourceFault::DiskFull),
                        "25006" => Some(ResourceFault::Unwritable),
                        "53300" | "57P01" | "57P02" | "57P03" => Some(ResourceFault::Unreachable),
                        "40001" | "40P01" | "55P03" => Some(ResourceFault::Busy),
                        c if c.starts_with("08") => Some(ResourceFault::Unreachable),
                        _ => None,
                    }
                }
            }
            _ => None,
        }
    }
}

impl StoreError {
    /// The resource behind the failure, when it is one that comes back by itself.
    pub fn resource_fault(&self) -> Option<ResourceFault> {
        match self {
            StoreError::Query { source, .. } | StoreError::Connect { source, .. } => {
                ResourceFault::of(source)
            }
            StoreError::ReadOnlyFilesystem { .. } => Some(ResourceFault::Unwritable),
            _ => None,
        }
    }

    /// What an operator can do about a failure that is not ours: said beside the error by
    /// those who retry it (the worker), by `serve`'s log and by the command line when a
    /// command fails on it.
    pub fn advice(&self) -> Option<&'static str> {
        match self {
            StoreError::ReadOnlyFilesystem { .. } => Some(
                "make the filesystem writable: if the kernel remounted it read-only after a disk \
                 error (see dmesg), stop morningpost, unmount it, check it with fsck and mount it \
                 again; or set database_url to a file on a writable filesystem",
            ),
            _ => self.resource_fault().map(ResourceFault::advice),
        }
    }

    /// The advice ([`StoreError::advice`]) of the first store error among `error` and its
    /// causes, also one shared by a group commit's batch (`Arc<StoreError>`), or else of the
    /// database's own error (an error `#[error(transparent)]` over a store error hides it
    /// from the chain, not its cause).
    pub fn advice_in(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
        let mut next = Some(error);
        while let Some(e) = next {
            let store = e.downcast_ref::<StoreError>().or_else(|| {
                e.downcast_ref::<std::sync::Arc<StoreError>>()
                    .map(AsRef::as_ref)
            });
            let advice = match store {
                Some(store) => store.advice(),
                None => e
                    .downcast_ref::<sqlx::Error>()
                    .and_then(ResourceFault::of)
                    .map(ResourceFault::advice),
            };
            if advice.is_some() {
                return advice;
            }
            next = e.source();
        }
        None
    }
}

/// The operation a statement belongs to is named by [`StoreError::during`] at the API's edge;
/// until then a failed statement is "running a statement".
impl From<sqlx::Error> for StoreError {
    fn from(source: sqlx::Error) -> Self {
        StoreError::Query {
            op: "running a statement",
            source,
        }
    }
}

impl StoreError {
    /// Names the operation a failed statement was part of.
    pub(super) fn during(self, op: &'static str) -> Self {
        match self {
            StoreError::Query { source, .. } => StoreError::Query { op, source },
            other => other,
        }
    }

    pub(super) fn connect(url: &str, source: sqlx::Error) -> Self {
        StoreError::Connect {
            url: Secret::new(url).redacted(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_is_found_among_the_causes_and_through_a_batch_s_shared_error() {
        let cut = || StoreError::Query {
            op: "claiming deliveries",
            source: sqlx::Error::Io(std::io::Error::other("connection reset")),
        };
        let advice = Some(ResourceFault::Unreachable.advice());
        assert_eq!(StoreError::advice_in(&cut()), advice);
        // A sign-up's answer: the batch's error, shared by every sign-up in it.
        let shared = crate::group_commit::GroupCommitError::Failed {
            batch: 3,
            source: std::sync::Arc::new(cut()),
        };
        assert_eq!(StoreError::advice_in(&shared), advice);
        #[derive(Debug, thiserror::Error)]
        #[error(transparent)]
        struct Wrapped(#[from] StoreError);
        assert_eq!(StoreError::advice_in(&Wrapped(cut())), advice);
        let not_ours = StoreError::Corrupt("a bad row".into());
        assert_eq!(StoreError::advice_in(&not_ours), None);
    }
}
