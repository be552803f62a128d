//! The database: reachable, its schema what this binary expects, taking writes.

use super::{Check, TIMEOUT_CAP};
use crate::config::Settings;
use crate::report::Chain;
use crate::secret::Secret;
use crate::store::{SchemaState, Store, StoreError, StoreOptions};

/// Opens the database as it is (no migration, no new file) and checks it. Returns the store
/// when its schema holds this binary's tables (for the key check).
pub(super) async fn check(settings: &Settings, checks: &mut Vec<Check>) -> Option<Store> {
    let url = settings.database_url.expose();
    let sqlite = crate::store::sqlite_file(url);
    let place = match &sqlite {
        Some(path) => format!("SQLite database {}", path.display()),
        None => format!("database {}", Secret::new(url).redacted()),
    };
    let options = StoreOptions {
        create_if_missing: false,
        statement_timeout: settings.database.statement_timeout.min(TIMEOUT_CAP),
        ..settings.database.clone()
    };
    let store = match Store::connect_without_migrating(url, &options).await {
        Ok(store) => store,
        Err(e) => {
            checks.push(Check::fail("database", Chain(&e).to_string(), open_fix(&e)));
            checks.push(Check::skip("migrations", "the database cannot be opened"));
            checks.push(Check::skip(
                "database writes",
                "the database cannot be opened",
            ));
            return None;
        }
    };
    checks.push(match store.ping().await {
        Ok(()) => Check::pass("database", format!("{place} answers")),
        Err(e) => Check::fail("database", Chain(&e).to_string(), open_fix(&e)),
    });
    let state = match store.schema_state().await {
        Ok(state) => state,
        Err(e) => {
            checks.push(Check::fail(
                "migrations",
                Chain(&e).to_string(),
                "check that the database user may read the `_sqlx_migrations` table",
            ));
            checks.push(Check::skip("database writes", "the schema cannot be read"));
            return None;
        }
    };
    checks.push(migrations(&state, sqlite.is_some()));
    if !matches!(
        state,
        SchemaState::Current { .. } | SchemaState::Ahead { .. }
    ) {
        checks.push(Check::skip(
            "database writes",
            "tried once the migrations are current",
        ));
        return None;
    }
    // The same committed one-row write as `/healthz`: only a commit reaches SQLite's log,
    // so only a commit sees a full disk.
    checks.push(match store.check_writable().await {
        Ok(()) => Check::pass("database writes", "a one-row write was committed"),
        Err(e) => {
            let fix = e.advice().map(str::to_owned).unwrap_or_else(|| {
                if sqlite.is_some() {
                    "make the database file, its -wal and -shm files and their folder writable by \
                     the user morningpost runs as"
                        .to_owned()
                } else {
                    "give the database user INSERT and UPDATE on morningpost's tables, and check \
                     the server is not a read-only standby"
                        .to_owned()
                }
            });
            Check::fail("database writes", Chain(&e).to_string(), fix)
        }
    });
    Some(store)
}

fn open_fix(e: &StoreError) -> String {
    if let Some(advice) = e.advice() {
        return advice.to_owned();
    }
    match e {
        StoreError::Missing { .. } => "create it with `morningpost init`, or fix database_url (a \
             relative sqlite path in a configuration file is read from that file's folder)"
            .to_owned(),
        StoreError::UnsupportedUrl(_) => {
            "set database_url to sqlite://FILE or postgres://USER@HOST/DATABASE".to_owned()
        }
        _ => "check database_url (for PostgreSQL: host, port, user, password and database name, \
              and that the server is running and lets this host in; a database that does not \
              exist yet is made with `createdb NAME`, then `morningpost init`; for SQLite: that \
              the file and its folder are readable and writable by this user)"
            .to_owned(),
    }
}

fn migrations(state: &SchemaState, sqlite: bool) -> Check {
    const NAME: &str = "migrations";
    let folder = if sqlite {
        "migrations/sqlite"
    } else {
        "migrations/postgres"
    };
    match *state {
        SchemaState::Current { version } => Check::pass(
            NAME,
            format!("all {version} applied, as this morningpost expects"),
        ),
        SchemaState::Uninitialised => Check::fail(
            NAME,
            "none applied: the database was never initialised",
            "run `morningpost init`",
        ),
        SchemaState::Behind { version, latest } => Check::warn(
            NAME,
            format!(
                "{version} of {latest} applied; the next command that opens the database applies \
                 the rest"
            ),
            "run `morningpost init` to apply them now, before workers start",
        ),
        SchemaState::Ahead { version, latest } => Check::fail(
            NAME,
            format!(
                "the database is at migration {version}, and this morningpost knows {latest}: a \
                 newer morningpost has used it, and this one cannot open it"
            ),
            "upgrade morningpost (on every host that uses this database)",
        ),
        SchemaState::Failed { version } => Check::fail(
            NAME,
            format!("migration {version} stopped part-way"),
            format!(
                "undo what it did ({folder}/{version:04}_*.sql), delete its row from \
                 _sqlx_migrations, then run `morningpost init`; or restore a backup"
            ),
        ),
        SchemaState::Modified { version } => Check::fail(
            NAME,
            format!("migration {version} in the database differs from this morningpost's"),
            "run the morningpost build that initialised this database, or restore a backup",
        ),
    }
}
