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
