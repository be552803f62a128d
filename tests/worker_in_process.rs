//! The worker run in-process (the library, not the binary) against a real store and a real
//! transport: the paths a whole send does not reach quickly — giving up on a delivery that
//! kept failing, and pacing to `rate_per_second`.

mod support;

use std::time::{Duration, Instant};

use morningpost::clock::now_ms;
use morningpost::config::Settings;
use morningpost::domain::TokenKey;
use morningpost::queue::{StopWhen, Worker};
use morningpost::store::Store;
use support::sink::SmtpSink;
use uuid::Uuid;

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

struct Fixture {
    _db: support::db::TestDb,
    dir: tempfile::TempDir,
    store: Store,
    message: Uuid,
}

/// `n` active subscribers and the sample issue, stored but not queued.
async fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let key = TokenKey::from_hex(KEY).unwrap();
    support::seed::active_subscribers(&store, &key, n).await;
    let message = support::seed::issue(&store, "2026-11-27").await;
    Fixture {
        _db: db,
        dir,
        store,
        message,
    }
}

fn settings(f: &Fixture, extra: &[(&str, &str)]) -> Settings {
    let outbox = f.dir.path().join("outbox").display().to_string();
    let mut env = vec![
        ("MORNINGPOST_BASE_URL", "https://news.example.com"),
        ("MORNINGPOST_SECRET_KEY", KEY),
        ("MORNINGPOST_OUTBOX_DIR", outbox.as_str()),
        ("MORNINGPOST_SMTP_TIMEOUT_SECONDS", "2"),
        ("MORNINGPOST_LEASE_SECONDS", "12"),
    ];
    env.extend_from_slice(extra);
    support::settings(&env)
}

async fn run_worker(f: &Fixture, settings: &Settings) -> morningpost::queue::WorkerReport {
    let worker = Worker::from_settings(settings, &f.store)
        .unwrap()
        .stopping_when(StopWhen::MessageDone(f.message));
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::time::timeout(Duration::from_secs(60), worker.run(shutdown))
        .await
        .expect("the worker finishes")
        .expect("no database error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_still_failing_at_its_give_up_age_fails_with_the_last_reply() {
    let f = fixture(1).await;
    let sink = SmtpSink::start(
        &f.dir.path().join("sink"),
        &["-r", "rcpt", "-b", "451 4.2.2 Mailbox full"],
    );
    let url = sink.url();
    let settings = settings(
        &f,
        &[
            ("MORNINGPOST_SMTP_URL", url.as_str()),
            ("MORNINGPOST_GIVE_UP_AFTER_SECONDS", "3600"),
        ],
    );
    // Queued two hours ago: the one-hour give-up age has passed, so this first temporary
    // failure is the last.
    f.store
        .enqueue_now(f.message, now_ms() - 2 * 3600 * 1000)
        .await
        .unwrap();
    let report = run_worker(&f, &settings).await;
    assert_eq!((report.sent, report.retried, report.failed), (0, 0, 1));
    let status = f
        .store
        .status_report(Some(f.message), now_ms())
        .await
        .unwrap();
    assert_eq!(status.counts.failed, 1);
    let group = &status.top_failures[0];
    assert_eq!((group.count, group.code.as_str()), (1, "451 4.2.2"));
    assert!(
        group
            .example
            .starts_with("gave up after 1 tries: 451 4.2.2 Mailbox full"),
        "{group:?}"
    );
    assert_eq!(sink.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_temporary_failure_is_retried_not_failed() {
    let f = fixture(1).await;
    let sink = SmtpSink::start(
        &f.dir.path().join("sink"),
        &["-r", "rcpt", "-b", "451 4.2.2 Mailbox full"],
    );
    let url = sink.url();
    let settings = settings(
        &f,
        &[
            ("MORNINGPOST_SMTP_URL", url.as_str()),
            ("MORNINGPOST_CONCURRENCY", "1"),
            ("MORNINGPOST_BATCH_SIZE", "1"),
        ],
    );
    f.store.enqueue_now(f.message, now_ms()).await.unwrap();
    let store = f.store.clone();
    let message = f.message;
    // The retry is due in a minute: stop the worker once it has recorded the retry.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(async move {
        loop {
            let c = store.queue_counts(Some(message)).await.unwrap();
            if c.retrying == 1 {
                let _ = stop.send(true);
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let worker = Worker::from_settings(&settings, &f.store).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), worker.run(shutdown))
        .await
        .expect("stops on the signal")
        .unwrap();
    let counts = watcher.await.unwrap();
    assert_eq!((report.retried, report.failed), (1, 0));
    assert_eq!((counts.queued, counts.failed), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_per_second_paces_the_sends() {
    const N: u32 = 60;
    const RATE: u32 = 20;
    let f = fixture(N as usize).await;
    let settings = settings(
        &f,
        &[
            ("MORNINGPOST_RATE_PER_SECOND", "20"),
            ("MORNINGPOST_CONCURRENCY", "8"),
        ],
    );
    f.store.enqueue_now(f.message, now_ms()).await.unwrap();
    let started = Instant::now();
    let report = run_worker(&f, &settings).await;
    let elapsed = started.elapsed();
    assert_eq!(report.sent, u64::from(N));
    // A burst of RATE goes at once; the other N − RATE need (N − RATE) / RATE seconds.
    let floor =
        Duration::from_millis(u64::from((N - RATE) * 1000 / RATE)) - Duration::from_millis(100);
    assert!(
        elapsed >= floor,
        "{N} messages at {RATE}/s took {elapsed:?}, less than {floor:?}"
    );
}
