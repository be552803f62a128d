//! Many worker processes on one database share the queue: every subscriber gets exactly one
//! message; a worker killed mid-send loses nothing; database connections killed under the
//! workers are replaced and nothing is sent twice.

mod support;

use std::process::Child;
use std::time::Duration;

use support::app::App;
use support::sink::SmtpSink;

const CONCURRENCY: usize = 8;

fn prepare(app: &mut App, subscribers: usize) -> SmtpSink {
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_CONCURRENCY", &CONCURRENCY.to_string());
    let csv = app.write_subscribers(subscribers);
    app.import_readers(&csv);
    app.ok(&["send", &app.short_issue()]);
    sink
}

fn wait_all(workers: Vec<Child>) {
    for mut w in workers {
        let out = w.wait().expect("worker exits");
        assert!(out.success(), "a worker failed");
    }
}

fn four_workers(kill_one: bool) -> (usize, usize) {
    let n = 20_000;
    let mut app = App::new();
    let sink = prepare(&mut app, n);
    let mut workers: Vec<Child> = (0..4)
        .map(|_| app.spawn(&["worker", "--until-done"]))
        .collect();
    if kill_one {
        let arrived = sink.wait_for(n / 4, Duration::from_secs(300));
        assert!(arrived < n, "killed mid-send");
        let mut victim = workers.remove(0);
        victim.kill().expect("SIGKILL");
        let _ = victim.wait();
    }
    wait_all(workers);
    let copies = support::mail::copies_by_message_id(&sink);
    let duplicates = copies.values().map(|c| c - 1).sum();
    let status = app.ok(&["status"]);
    assert!(status.contains(&format!("sent       {n:>9}")), "{status}");
    // The counts `status` read, kept by four processes' connections at once (decision 41),
    // are the rows' count.
    let (kept, counted) = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(support::rows::kept_and_counted(&app.database_url()));
    assert_eq!(kept, counted, "kept counts (left) and rows (right)");
    (copies.len(), duplicates)
}

#[test]
fn four_workers_send_each_subscriber_exactly_one_message() {
    let (received, duplicates) = four_workers(false);
    assert_eq!(received, 20_000, "none lost");
    assert_eq!(duplicates, 0, "none twice");
}

#[test]
fn one_of_four_workers_killed_mid_send_loses_nothing() {
    let (received, duplicates) = four_workers(true);
    assert_eq!(received, 20_000, "none lost");
    assert!(
        duplicates <= CONCURRENCY,
        "{duplicates} duplicates; at most {CONCURRENCY} were in flight in the killed worker"
    );
    eprintln!("one of four workers killed: {duplicates} duplicates");
}

#[test]
fn workers_whose_postgres_connections_are_killed_reconnect_and_finish() {
    let n = 5_000;
    let mut app = App::on_postgres();
    let sink = prepare(&mut app, n);
    let workers: Vec<Child> = (0..2)
        .map(|_| app.spawn(&["worker", "--until-done"]))
        .collect();
    let url = app.database_url();
    let mut killed_per_round = Vec::new();
    for round in 1..=3 {
        sink.wait_for(n * round / 5, Duration::from_secs(120));
        let rt = tokio::runtime::Runtime::new().unwrap();
        killed_per_round.push(rt.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            // One row per worker connection found; `true` where the signal was delivered.
            let delivered: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'morningpost' AND pid <> pg_backend_pid()",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            delivered.into_iter().filter(|t| *t).count()
        }));
    }
    assert!(
        killed_per_round.iter().all(|&k| k >= 1),
        "every round terminated at least one of the workers' connections: {killed_per_round:?}"
    );
    wait_all(workers);
    let copies = support::mail::copies_by_message_id(&sink);
    assert_eq!(copies.len(), n, "nothing lost");
    assert_eq!(
        copies.values().map(|c| c - 1).sum::<usize>(),
        0,
        "nothing sent twice"
    );
}
