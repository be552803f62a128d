//! A fresh database per test, on the backend `MORNINGPOST_TEST_BACKEND` names (`sqlite`, the
//! default, or `postgres`): every store, queue and HTTP test is written once and runs on
//! both. PostgreSQL databases are created on `MORNINGPOST_TEST_PG_URL` (default
//! postgres://postgres@127.0.0.1:5432/postgres) and dropped when the test ends.

use std::path::Path;

pub fn postgres() -> bool {
    std::env::var("MORNINGPOST_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

pub fn admin_url() -> String {
    std::env::var("MORNINGPOST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    /// A SQLite file in `dir`, or a new PostgreSQL database.
    pub fn new(dir: &Path) -> Self {
        if !postgres() {
            return Self {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                pg_name: None,
            };
        }
        Self::postgres()
    }

    /// SQLite whatever the backend chosen (for tests that move data between backends).
    pub fn sqlite(dir: &Path) -> Self {
        Self {
            url: format!("sqlite://{}", dir.join("test.db").display()),
            pg_name: None,
        }
    }

    /// A new PostgreSQL database whatever the backend chosen (for tests about PostgreSQL).
    pub fn postgres() -> Self {
        let name = format!("mp_test_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE DATABASE {name}"));
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Self {
            url: format!("{base}/{name}"),
            pg_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs one statement as the admin, on a thread of its own (tests may already be inside a
/// tokio runtime, which cannot start another).
fn admin(statement: &str) {
    let statement = statement.to_owned();
    let url = admin_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            use sqlx::Connection;
            let mut last = None;
            for _ in 0..5 {
                let result = async {
                    let mut c = sqlx::PgConnection::connect(&url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(statement.clone())).execute(&mut c).await?;
                    c.close().await
                }
                .await;
                match result {
                    Ok(()) => return,
                    Err(e) => {
                        last = Some(e);
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            }
            panic!("PostgreSQL at {url}: {statement}: {last:?} (is it running? scripts/test says how to start it)");
        })
    })
    .join()
    .expect("admin statement");
}

/// Runs SQL on a test database, whichever backend; `$1` placeholders work on both.
pub async fn execute(url: &str, statement: &str) {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .expect("open the test database");
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut c)
            .await
            .expect("run SQL");
    } else {
        let mut c = sqlx::SqliteConnection::connect(url)
            .await
            .expect("open the test database");
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut c)
            .await
            .expect("run SQL");
    }
}

/// The first column of every row, as UUIDs, with one text parameter.
pub async fn uuids(url: &str, statement: &str, param: &str) -> Vec<uuid::Uuid> {
    use sqlx::Connection;
    let q = sqlx::AssertSqlSafe(statement.to_owned());
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("open");
        sqlx::query_scalar(q)
            .bind(param)
            .fetch_all(&mut c)
            .await
            .expect("query")
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("open");
        sqlx::query_scalar(q)
            .bind(param)
            .fetch_all(&mut c)
            .await
            .expect("query")
    }
}

/// Every `table.column` (any type, read as text) whose value contains `needle`, ignoring
/// case: where a database still holds an address.
pub async fn columns_containing(url: &str, needle: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    let pattern = format!("%{}%", needle.to_lowercase());
    let mut found = Vec::new();
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("open");
        let columns = sqlx::query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' ORDER BY 1, 2",
        )
        .fetch_all(&mut c)
        .await
        .expect("columns");
        for row in columns {
            let (table, column): (String, String) = (row.get(0), row.get(1));
            let q =
                format!("SELECT count(*) FROM \"{table}\" WHERE lower(\"{column}\"::text) LIKE $1");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(q))
                .bind(&pattern)
                .fetch_one(&mut c)
                .await
                .expect("search");
            if n > 0 {
                found.push(format!("{table}.{column}"));
            }
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("open");
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
                .fetch_all(&mut c)
                .await
                .expect("tables");
        for table in tables {
            let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{table}')"
            )))
            .fetch_all(&mut c)
            .await
            .expect("columns")
            .iter()
            .map(|r| r.get(0))
            .collect();
            for column in columns {
                let q = format!(
                    "SELECT count(*) FROM \"{table}\" WHERE lower(CAST(\"{column}\" AS TEXT)) LIKE $1"
                );
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(q))
                    .bind(&pattern)
                    .fetch_one(&mut c)
                    .await
                    .expect("search");
                if n > 0 {
                    found.push(format!("{table}.{column}"));
                }
            }
        }
    }
    found
}
