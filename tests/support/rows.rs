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

/// Deliveries by "message state retrying|- due_minute" two ways: as kept in
/// `delivery_counts` by the triggers (docs/architecture.md decision 41, summed over
/// PostgreSQL's shards) and as counted from the rows; counts of zero are left out of both.
pub async fn kept_and_counted(
    url: &str,
) -> (
    std::collections::BTreeMap<String, i64>,
    std::collections::BTreeMap<String, i64>,
) {
    let id = message_id_text(url);
    let kept = format!(
        "SELECT {id} || ' ' || state || CASE WHEN retrying THEN ' retrying ' ELSE ' - ' END
                || CAST(due_minute AS TEXT),
                CAST(SUM(n) AS BIGINT)
         FROM delivery_counts GROUP BY 1 HAVING SUM(n) <> 0"
    );
    // The key as the migration defines it: a row in flight counts as queued, and a first
    // attempt by the minute it was due (queued_at).
    let counted = format!(
        "SELECT {id} || ' ' || CASE WHEN state = 'sending' THEN 'queued' ELSE state END
                || CASE WHEN state IN ('queued', 'sending') AND failures > 0 THEN ' retrying ' ELSE ' - ' END
                || CAST(CASE WHEN state IN ('queued', 'sending', 'paused') AND failures = 0
                             THEN COALESCE(queued_at / 60000, 0) ELSE 0 END AS TEXT),
                CAST(COUNT(*) AS BIGINT)
         FROM deliveries GROUP BY 1"
    );
    (
        text_and_number(url, &kept).await.into_iter().collect(),
        text_and_number(url, &counted).await.into_iter().collect(),
    )
}

/// Deliveries by "message state retrying|-", counted from the rows: what `status` reports
/// (a row in flight is `sending`; retrying is queued after a failure).
pub async fn deliveries_by_state(url: &str) -> std::collections::BTreeMap<String, i64> {
    let id = message_id_text(url);
    let counted = format!(
        "SELECT {id} || ' ' || state
                || CASE WHEN state = 'queued' AND failures > 0 THEN ' retrying' ELSE ' -' END,
                CAST(COUNT(*) AS BIGINT)
         FROM deliveries GROUP BY 1"
    );
    text_and_number(url, &counted).await.into_iter().collect()
}

/// A delivery's message id as text, as each backend writes it.
fn message_id_text(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "message_id::text"
    } else {
        "hex(message_id)"
    }
}

/// Whether a message id as [`kept_and_counted`] writes it is this one.
pub fn same_id(text: &str, id: uuid::Uuid) -> bool {
    text.replace('-', "")
        .eq_ignore_ascii_case(&id.simple().to_string())
}

/// PostgreSQL: the sent deliveries counted in the folded shard 0, and how many count rows
/// belong to connections that are gone (a fold leaves none).
pub async fn folded_sent_and_dead_rows(url: &str) -> (i64, i64) {
    let rows = text_and_number(
        url,
        "SELECT 'folded', CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM delivery_counts
         WHERE shard = 0 AND state = 'sent'
         UNION ALL
         SELECT 'dead', COUNT(*) FROM delivery_counts c
         WHERE shard <> 0 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.shard)",
    )
    .await;
    let get = |name: &str| rows.iter().find(|(n, _)| n == name).map_or(0, |(_, n)| *n);
    (get("folded"), get("dead"))
}
