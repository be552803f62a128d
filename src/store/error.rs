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
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// What an operator can do about a failure that is not ours: said beside the error by
    /// those who retry it (the worker).
    pub fn advice(&self) -> Option<&'static str> {
        let StoreError::Query { source, .. } = self else {
            return None;
        };
        let code = source.as_database_error().and_then(|e| e.code());
        match code.as_deref() {
            // SQLITE_FULL, and PostgreSQL's disk_full.
            Some("13") | Some("53100") => Some(
                "the database's disk is full: free space where the database is; sending resumes by itself",
            ),
            // SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN.
            Some("8") | Some("10") | Some("14") => Some(
                "the database file cannot be written: check its disk and permissions; sending resumes by itself",
            ),
            _ => None,
        }
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
