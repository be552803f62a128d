//! `cargo bench --bench enqueue` (or `scripts/bench enqueue`): enqueueing one issue for
//! 1,000,000 active subscribers in one statement, on SQLite and on PostgreSQL, and how long
//! `status` and one progress poll of `send --wait` take at that size (all queued, half sent,
//! all sent; target < 50 ms each) and a claim; then a local-morning send (`--local 07:00`) of a
//! second issue to the same readers, spread over 24 time zones. Targets: each enqueue
//! < 10 s on each backend.
//! PostgreSQL: MORNINGPOST_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).

use std::time::Instant;

use morningpost::domain::TimeZoneName;
use morningpost::send::Timing;
use morningpost::store::{MessageKind, NewMessage, Store};
use sqlx::Connection;

const N: i64 = 1_000_000;

/// The readers' zones: one in 25 has none (the newsletter's zone applies).
const ZONES: [&str; 24] = [
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Africa/Cairo",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "Atlantic/Reykjavik",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Mexico_City",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
];

#[tokio::main]
async fn main() {
    let n: i64 = std::env::var("MORNINGPOST_BENCH_SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(N);
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("enqueue.db").display());
    run("sqlite", &sqlite_url, n).await;

    let admin = std::env::var("MORNINGPOST_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("mp_bench_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL for the benchmark");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    run("postgres", &format!("{base}/{name}"), n).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut c)
    .await
    .expect("drop database");
}

async fn run(backend: &str, url: &str, n: i64) {
    let store = Store::connect(url).await.expect("connect");
    let t = Instant::now();
    seed(url, n).await;
    println!(
        "{backend:>8}: seeded {n} active subscribers in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let id = store_issue(&store, "2026-11-27").await;

    let t = Instant::now();
    let enqueued = store.enqueue_now(id, 1).await.expect("enqueue");
    let enqueue = t.elapsed().as_secs_f64();
    assert_eq!(enqueued as i64, n);
    println!(
        "{backend:>8}: enqueued {enqueued} deliveries in one statement in {enqueue:.2} s (target < 10 s)"
    );

    let t = Instant::now();
    let again = store.enqueue_now(id, 2).await.expect("enqueue again");
    println!(
        "{backend:>8}: enqueueing the same issue again added {again} in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    status_costs(&store, backend, "all queued").await;
    // GET /metrics: the database's gauges are read in the background (at most every 10 s);
    // a scrape renders the last reading. Worst case for the reading: every row queued.
    let t = Instant::now();
    let depth = store.queue_depth(3).await.expect("queue depth");
    println!(
        "{backend:>8}: the metrics' database reading ({} due) in {:.1} ms (in the background, once per 10 s at most)",
        depth.due,
        t.elapsed().as_secs_f64() * 1000.0
    );
    let scraper = morningpost::metrics::Scraper::new(store.clone());
    for i in 0..3 {
        let t = Instant::now();
        let page = scraper.render().await;
        println!(
            "{backend:>8}: /metrics scrape {} with {n} deliveries queued in {:.1} ms{} ({} bytes)",
            i + 1,
            t.elapsed().as_secs_f64() * 1000.0,
            if i == 0 {
                " (the first scrape waits for a reading)"
            } else {
                " (renders the last reading; target < 50 ms)"
            },
            page.len()
        );
    }
    let t = Instant::now();
    let claimed = store.claim(200, 100_000, 10).await.expect("claim");
    println!(
        "{backend:>8}: claimed {} rows in {:.1} ms",
        claimed.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );

    // The same issue half-way through its send, then at its end (3,000 messages a second,
    // 1% failed, 1% waiting for a retry), as status and `send --wait` see it.
    mid_send(url, id, n).await;
    status_costs(&store, backend, "half sent").await;
    end_of_send(url, id).await;
    status_costs(&store, backend, "sent").await;

    // A local-morning send: the zones' instants computed once, then the same one statement.
    let local = store_issue(&store, "2026-11-28").await;
    let now = morningpost::clock::now_ms();
    let t = Instant::now();
    let due = Timing::readers_local("07:00")
        .expect("a time")
        .due_times(&store, &TimeZoneName::utc(), now)
        .await
        .expect("due times");
    let enqueued = store
        .enqueue_issue(local, &due, now)
        .await
        .expect("enqueue");
    let took = t.elapsed().as_secs_f64();
    assert_eq!(enqueued as i64, n);
    let hours = store.due_by_hour(local, now).await.expect("due by hour");
    println!(
        "{backend:>8}: local-morning send (07:00 in each reader's zone, {} zones) enqueued {enqueued} deliveries in {took:.2} s (target < 10 s); due over {} distinct hours",
        ZONES.len(),
        hours.len()
    );
    let mut ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        morningpost::send::read_status(&store, Some("2026-11-28"))
            .await
            .expect("status of the local-morning send");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "{backend:>8}: status ISSUE of the local-morning send ({enqueued} to come over {} hours) {:.1} ms (median of 5; target < 50 ms)",
        hours.len(),
        ms[2]
    );
}

/// What `status ISSUE`, `status` (all mail) and one poll of `send --wait` (its progress
/// display's counts, and whether the issue is settled) cost now: the median of five calls.
/// Target: < 50 ms each.
async fn status_costs(store: &Store, backend: &str, when: &str) {
    async fn median<F: AsyncFnMut()>(mut f: F) -> f64 {
        let mut ms = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            f().await;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        ms[2]
    }
    let issue = median(async || {
        morningpost::send::read_status(store, Some("2026-11-27"))
            .await
            .expect("status of the issue");
    })
    .await;
    let all = median(async || {
        morningpost::send::read_status(store, None)
            .await
            .expect("status of all mail");
    })
    .await;
    let id = store
        .message_by_slug("2026-11-27")
        .await
        .expect("issue")
        .expect("stored")
        .id;
    let poll = median(async || {
        store.queue_counts(Some(id)).await.expect("counts");
        morningpost::send::settled(store, id)
            .await
            .expect("settled");
    })
    .await;
    let c = store.queue_counts(Some(id)).await.expect("counts");
    println!(
        "{backend:>8}: {when} ({} queued, {} in flight, {} sent, {} failed, {} retrying): status ISSUE {issue:.1} ms, status {all:.1} ms, one progress poll of send --wait {poll:.1} ms (each the median of 5; target < 50 ms)",
        c.queued, c.sending, c.sent, c.failed, c.retrying
    );
}

/// Marks the first half of the issue's queued rows as a send at 3,000 messages a second
/// would have left them by now: sent (one a third of a millisecond apart, the last just
/// now), 1% failed for good, 1% queued again for a retry in ten minutes.
async fn mid_send(url: &str, message_id: uuid::Uuid, n: i64) {
    let now = morningpost::clock::now_ms();
    let statement = "UPDATE deliveries SET
             state = CASE WHEN id % 100 = 7 THEN 'failed' WHEN id % 100 = 8 THEN 'queued' ELSE 'sent' END,
             sent_at = CASE WHEN id % 100 IN (7, 8) THEN NULL ELSE $2 - ($1 - id) / 3 END,
             failures = CASE WHEN id % 100 = 8 THEN 1 ELSE 0 END,
             due_at = CASE WHEN id % 100 = 8 THEN $2 + 600000 ELSE NULL END,
             last_reply = CASE WHEN id % 100 = 7 THEN '550 5.1.1 <reader@example.com>: no such user'
                               WHEN id % 100 = 8 THEN '451 4.2.0 try again later' ELSE '250 2.0.0 ok' END,
             reply_code = CASE WHEN id % 100 = 7 THEN '550 5.1.1' WHEN id % 100 = 8 THEN '451 4.2.0' END,
             attempts = 1, updated_at = $2
         WHERE message_id = $3 AND state = 'queued' AND id <= $1";
    let first = id_bound(
        url,
        "SELECT min(id) FROM deliveries WHERE message_id = $1",
        message_id,
    )
    .await;
    bulk_update(url, statement, first + n / 2, now, message_id).await;
}

/// Sends the rest: every row still queued for a first attempt (or in flight) is sent, the
/// last just now.
async fn end_of_send(url: &str, message_id: uuid::Uuid) {
    let now = morningpost::clock::now_ms();
    let statement =
        "UPDATE deliveries SET state = 'sent', sent_at = $2 - ($1 - id) / 3, due_at = NULL,
             last_reply = '250 2.0.0 ok', attempts = attempts + 1, updated_at = $2
         WHERE message_id = $3 AND state IN ('queued', 'sending') AND failures = 0 AND id <= $1";
    let last = id_bound(
        url,
        "SELECT max(id) FROM deliveries WHERE message_id = $1",
        message_id,
    )
    .await;
    bulk_update(url, statement, last, now, message_id).await;
}

async fn id_bound(url: &str, q: &'static str, message_id: uuid::Uuid) -> i64 {
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_scalar(q)
            .bind(message_id)
            .fetch_one(&mut c)
            .await
            .expect("an id")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_scalar(q)
            .bind(message_id)
            .fetch_one(&mut c)
            .await
            .expect("an id")
    }
}

/// One update of many rows; on PostgreSQL the table is then vacuumed and analysed, as
/// autovacuum would have done during a real send.
async fn bulk_update(url: &str, statement: &'static str, last: i64, now: i64, id: uuid::Uuid) {
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query(statement)
            .bind(last)
            .bind(now)
            .bind(id)
            .execute(&mut c)
            .await
            .expect("update");
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query(statement)
            .bind(last)
            .bind(now)
            .bind(id)
            .execute(&mut c)
            .await
            .expect("update");
        sqlx::query("VACUUM ANALYZE deliveries")
            .execute(&mut c)
            .await
            .expect("vacuum");
    }
}

async fn store_issue(store: &Store, slug: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let message = NewMessage {
        id,
        kind: MessageKind::Issue,
        slug: Some(slug),
        subject: "S",
        title: "T",
        issue_date: Some(slug.into()),
        html: "<p>h</p>",
        text: "t",
        web_html: None,
        source_hash: [0; 32],
        now: 0,
    };
    store.store_issue(&message).await.expect("store issue");
    id
}

/// Fills the subscriber table in bulk with SQL: this measures enqueueing, not importing.
async fn seed(url: &str, n: i64) {
    let zones = serde_json::to_string(&ZONES).expect("zones as JSON");
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query(
            "WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < ?1)
             INSERT INTO subscribers (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at, time_zone)
             SELECT randomblob(16), 'reader' || x || '@example.com', 'reader' || x || '@example.com', NULL, 'active', randomblob(32), 0, 0,
                    json_extract(?2, '$[' || (x % 25) || ']')
             FROM seq",
        )
        .bind(n)
        .bind(&zones)
        .execute(&mut c)
        .await
        .expect("seed sqlite");
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query(
            "INSERT INTO subscribers (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at, time_zone)
             SELECT gen_random_uuid(), 'reader' || x || '@example.com', 'reader' || x || '@example.com', NULL, 'active',
                    sha256(x::text::bytea), 0, 0, $2::jsonb ->> (x % 25)::int
             FROM generate_series(1, $1) AS x",
        )
        .bind(n)
        .bind(&zones)
        .execute(&mut c)
        .await
        .expect("seed postgres");
        sqlx::query("ANALYZE")
            .execute(&mut c)
            .await
            .expect("analyze");
    }
}
