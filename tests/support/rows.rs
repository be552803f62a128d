//! Reading rows the commands do not print, on either backend.

/// (text, number) rows of a query that selects a text column and an integer column.
pub async fn text_and_number(url: &str, statement: &str) -> Vec<(String, i64)> {
    use sqlx::Connection;
    let q = sqlx::AssertSqlSafe(statement.to_owned());
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("open");
        sqlx::query_as(q).fetch_all(&mut c).await.expect("query")
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("open");
        sqlx::query_as(q).fetch_all(&mut c).await.expect("query")
    }
}

/// Each subscriber's address and how many times their delivery failed before it was sent.
pub fn failures_by_email(database_url: &str) -> std::collections::BTreeMap<String, i64> {
    let url = database_url.to_owned();
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(text_and_number(
            &url,
            "SELECT s.email, CAST(d.failures AS BIGINT) FROM deliveries d \
             JOIN subscribers s ON s.id = d.subscriber_id",
        ))
        .into_iter()
        .collect()
}

/// The deliveries by state (`queued`, `sending`, `sent`, …), on either backend.
/// Every delivery is recorded sent, `n` of them, and none is in any other state.
pub fn assert_all_sent(database_url: &str, n: usize, context: &str) {
    let states = delivery_states(database_url);
    assert_eq!(
        states.get("sent").copied(),
        Some(n as i64),
        "{context}: every delivery is recorded sent: {states:?}"
    );
    assert_eq!(
        states.len(),
        1,
        "{context}: nothing queued, in flight or failed: {states:?}"
    );
}

pub fn delivery_states(database_url: &str) -> std::collections::BTreeMap<String, i64> {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(text_and_number(
            database_url,
            "SELECT state, CAST(COUNT(*) AS BIGINT) FROM deliveries GROUP BY state",
        ))
        .into_iter()
        .collect()
}

/// The failures (tries that ended in a 4xx) over every delivery.
pub fn total_failures(database_url: &str) -> i64 {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(text_and_number(
            database_url,
            "SELECT 'all', CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM deliveries",
        ))
        .first()
        .map_or(0, |(_, n)| *n)
}

/// The first column, text, of every row of a query on a SQLite database (opened read-only:
/// it may be on a full or read-only disk).
pub fn sqlite_texts(database_url: &str, statement: &str) -> Vec<String> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .expect("a sqlite URL")
        .read_only(true);
    let q = sqlx::AssertSqlSafe(statement.to_owned());
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async move {
            let mut c = options.connect().await.expect("open");
            sqlx::query_scalar(q)
                .fetch_all(&mut c)
                .await
                .expect("query")
        })
}

/// SQLite's own check of the whole file: `ok`, or what is wrong.
pub fn assert_sqlite_intact(database_url: &str, context: &str) {
    assert_eq!(
        sqlite_texts(database_url, "PRAGMA integrity_check"),
        ["ok"],
        "{context}: the database is intact"
    );
}
