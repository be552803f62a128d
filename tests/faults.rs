//! Faults of the resources the pipeline depends on, staged for real.
//!
//! Reproduced before: SQLite's disk filled up during a send, SQLite rolled the failed
//! transaction back by itself, and the writer connection stayed "inside" it for sqlx: every
//! later claim failed with "attempted to call begin_with at non-zero transaction depth",
//! even after space was freed, until the worker gave up (exit 1).

mod support;

use std::process::Command;
use std::time::Duration;

use support::app::App;
use support::http::{Server, get, subscribe_json};
use support::mail::copies_by_message_id;
use support::sink::SmtpSink;
use support::tmpfs::Tmpfs;

/// A read transaction held open on the database from another connection: SQLite cannot
/// restart its write-ahead log past a reader's snapshot, so every commit while it is held
/// appends to the log. Without it, a log already at its working size is rewritten in place
/// and a full disk may go unnoticed for as long as the test looks.
struct SnapshotHold(
    Option<std::sync::mpsc::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

impl SnapshotHold {
    fn take(url: &str) -> Self {
        let url = url.to_owned();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open");
                sqlx::query("BEGIN").execute(&mut c).await.expect("begin");
                let _: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
                    .fetch_one(&mut c)
                    .await
                    .expect("read");
                held_tx.send(()).expect("signal");
                let _ = release_rx.recv();
                let _ = sqlx::query("COMMIT").execute(&mut c).await;
            });
        });
        held_rx.recv().expect("the snapshot is held");
        Self(Some(release_tx), Some(thread))
    }
}

impl Drop for SnapshotHold {
    fn drop(&mut self) {
        drop(self.0.take());
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

/// The child's stderr, gathered as it comes, so a test can wait for a line.
struct Stderr(std::sync::Arc<std::sync::Mutex<String>>);

impl Stderr {
    fn watch(child: &mut std::process::Child) -> Self {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr is piped");
        let sink = text.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut t = sink.lock().expect("stderr lock");
                t.push_str(&line);
                t.push('\n');
            }
        });
        Self(text)
    }

    fn text(&self) -> String {
        self.0.lock().expect("stderr lock").clone()
    }

    fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end {
            if self.text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

const DISK_FULL_ADVICE: &str = "the database's disk is full: free space where the database is";

#[test]
fn a_full_sqlite_disk_stops_the_send_until_space_is_freed_then_it_resumes_by_itself() {
    let mut app = App::on_sqlite();
    let disk = Tmpfs::mount(app.path("disk"), "24m", "");
    let url = format!("sqlite://{}", disk.path().join("mp.db").display());
    app.set("MORNINGPOST_DATABASE_URL", &url);
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    // Paced, so the disk fills in the middle of the send.
    app.set("MORNINGPOST_RATE_PER_SECOND", "200");
    app.import_readers(&app.write_subscribers(2000));
    let issue = app.sample_issue();
    let mut send = app.spawn(&["send", &issue, "--wait"]);
    let stderr = Stderr::watch(&mut send);
    assert!(
        sink.wait_for(200, Duration::from_secs(30)) >= 200,
        "the send is under way"
    );
    let hold = SnapshotHold::take(&url);
    let filler = disk.fill();
    let told = stderr.wait_for(DISK_FULL_ADVICE, Duration::from_secs(30));
    // What was claimed before the disk filled may still go out; then nothing can be
    // recorded, so nothing more is sent.
    std::thread::sleep(Duration::from_secs(2));
    let sent_while_full = sink.count();
    std::thread::sleep(Duration::from_secs(1));
    let stalled = sink.count() <= sent_while_full + 8;
    drop(hold);
    std::fs::remove_file(&filler).expect("free the space");
    let out = send.wait_with_output().expect("send finishes");
    let stderr = stderr.text();
    assert!(
        told,
        "the operator is told what is wrong and what to do:\n{stderr}"
    );
    assert!(
        out.status.success(),
        "the send resumes once space is freed:\n{stderr}"
    );
    assert!(
        !stderr.contains("non-zero transaction depth"),
        "no connection is left inside a failed transaction:\n{stderr}"
    );
    assert!(
        sent_while_full < 2000 && stalled,
        "the full disk stopped the send ({sent_while_full} sent when it was seen)"
    );
    let copies = copies_by_message_id(&sink);
    assert_eq!(copies.len(), 2000, "nothing lost");
    let twice = copies.values().filter(|n| **n > 1).count();
    assert!(twice <= 8, "duplicates within the in-flight count: {twice}");
}

#[test]
fn serve_answers_503_with_retry_after_while_its_disk_is_full_and_recovers_by_itself() {
    let mut app = App::on_sqlite();
    let disk = Tmpfs::mount(app.path("disk"), "16m", "");
    let url = format!("sqlite://{}", disk.path().join("mp.db").display());
    app.set("MORNINGPOST_DATABASE_URL", &url);
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    let server = Server::start(&mut app, &["--no-worker"]);
    let p = server.port;
    assert_eq!(subscribe_json(p, "before@example.com").status, 200);
    let hold = SnapshotHold::take(&url);
    let filler = disk.fill();
    // Every write now needs room the disk does not have.
    let refused = subscribe_json(p, "during@example.com");
    let health = get(p, "/healthz");
    drop(hold);
    std::fs::remove_file(&filler).expect("free the space");
    assert_eq!(
        refused.status, 503,
        "a sign-up it cannot store: {refused:?}"
    );
    assert_eq!(refused.header("retry-after"), Some("60"), "{refused:?}");
    assert_eq!(
        health.status, 503,
        "/healthz says the database cannot take writes"
    );
    assert_eq!(health.header("retry-after"), Some("60"));
    // Freed: the same process answers again, nothing restarted.
    assert_eq!(get(p, "/healthz").status, 200, "healthy again");
    assert_eq!(subscribe_json(p, "after@example.com").status, 200);
    let (_, log) = server.stop_with_log();
    assert!(
        log.contains("(code: 13)"),
        "the log names the cause:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    for (email, status) in [
        ("before@example.com", "pending"),
        ("during@example.com", "absent"),
        ("after@example.com", "pending"),
    ] {
        assert_eq!(app.status_of(email), status, "{email}");
    }
}

#[test]
fn serve_with_its_database_file_deleted_answers_503_and_does_not_panic() {
    // SQLite would go on writing into the unlinked file: answered, then lost at restart.
    let mut app = App::on_sqlite();
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    let server = Server::start(&mut app, &["--no-worker"]);
    let p = server.port;
    assert_eq!(subscribe_json(p, "before@example.com").status, 200);
    let file = app.path("test.db");
    std::fs::remove_file(&file).expect("delete the database file");
    let refused = subscribe_json(p, "during@example.com");
    let health = get(p, "/healthz");
    let (_, log) = server.stop_with_log();
    assert_eq!(refused.status, 503, "{refused:?}\n{log}");
    assert_eq!(health.status, 503, "{health:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("was deleted or replaced while morningpost had it open"),
        "the log says what happened and what to do:\n{log}"
    );
}

/// A port where PostgreSQL is not yet: connections are refused until [`LatePostgres::open`]
/// forwards them to the real server, as when the database starts after the worker.
struct LatePostgres {
    port: u16,
}

impl LatePostgres {
    fn new() -> Self {
        Self {
            port: support::sink::free_port(),
        }
    }

    fn url_for(&self, real: &str) -> String {
        let (_, rest) = real.rsplit_once('@').expect("a postgres URL with a user");
        let (_, database) = rest.split_once('/').expect("a database name");
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn open(&self) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).expect("bind");
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = std::net::TcpStream::connect("127.0.0.1:5432") else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
    }
}

#[test]
fn a_worker_started_before_postgres_waits_for_it_then_sends_everything() {
    let mut app = App::on_postgres();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.import_readers(&app.write_subscribers(50));
    let issue = app.sample_issue();
    app.ok(&["send", &issue]);
    let late = LatePostgres::new();
    app.set(
        "MORNINGPOST_DATABASE_URL",
        &late.url_for(&app.database_url()),
    );
    let mut worker = app.spawn(&["worker", "--until-done"]);
    let stderr = Stderr::watch(&mut worker);
    let told = stderr.wait_for("the database cannot be reached", Duration::from_secs(20));
    let waiting = worker.try_wait().expect("poll").is_none();
    if !(told && waiting) {
        let _ = worker.kill();
    }
    assert!(
        told,
        "the worker says what it waits for:\n{}",
        stderr.text()
    );
    assert!(
        waiting,
        "it waits instead of exiting into a restart loop:\n{}",
        stderr.text()
    );
    late.open();
    let out = worker.wait_with_output().expect("the worker finishes");
    assert!(out.status.success(), "{}", stderr.text());
    assert_eq!(copies_by_message_id(&sink).len(), 50, "every reader got it");
}

#[test]
fn a_worker_waiting_for_postgres_stops_at_once_on_sigterm() {
    let mut app = App::on_postgres();
    let late = LatePostgres::new();
    app.set(
        "MORNINGPOST_DATABASE_URL",
        &late.url_for(&app.database_url()),
    );
    let mut worker = app.spawn(&["worker"]);
    let stderr = Stderr::watch(&mut worker);
    let told = stderr.wait_for("the database cannot be reached", Duration::from_secs(20));
    if !told {
        let _ = worker.kill();
    }
    assert!(told, "{}", stderr.text());
    let sent = std::time::Instant::now();
    Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .expect("kill");
    let status = worker.wait().expect("exits");
    assert!(status.success(), "a stop asked for is not a failure");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn a_wrong_postgres_password_or_database_fails_at_once_with_its_cause() {
    let mut app = App::on_postgres();
    let real = app.database_url();
    let (base, _) = real.rsplit_once('/').expect("a database name");
    app.set(
        "MORNINGPOST_DATABASE_URL",
        &format!("{base}/mp_no_such_database_here"),
    );
    let started = std::time::Instant::now();
    let (ok, _, err) = app.run(&["worker"]);
    assert!(!ok, "no waiting for what will not come");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.contains("mp_no_such_database_here"), "{err}");
}

#[test]
fn a_send_on_a_full_disk_fails_with_what_to_do_queues_nothing_and_works_once_space_is_freed() {
    let mut app = App::on_sqlite();
    let disk = Tmpfs::mount(app.path("disk"), "24m", "");
    let url = format!("sqlite://{}", disk.path().join("mp.db").display());
    app.set("MORNINGPOST_DATABASE_URL", &url);
    app.set(
        "MORNINGPOST_OUTBOX_DIR",
        &app.path("outbox").display().to_string(),
    );
    app.import_readers(&app.write_subscribers(2000));
    let issue = app.sample_issue();
    let hold = SnapshotHold::take(&url);
    let filler = disk.fill();
    let (ok, _, err) = app.run(&["send", &issue]);
    drop(hold);
    std::fs::remove_file(&filler).expect("free the space");
    assert!(!ok, "the exit status says it failed:\n{err}");
    assert!(
        err.contains("what to do: the database's disk is full: free space where the database is"),
        "{err}"
    );
    let states = support::rows::delivery_states(&url);
    assert!(states.is_empty(), "nothing half-queued: {states:?}");
    app.ok(&["send", &issue]);
    assert_eq!(
        support::rows::delivery_states(&url).get("queued").copied(),
        Some(2000),
        "the same command works once space is freed"
    );
}

#[test]
fn an_import_that_fills_the_disk_fails_with_what_to_do_keeps_whole_batches_and_completes_once_freed()
 {
    const ROWS: usize = 60_000;
    // `subscribers import` writes 5,000 rows per transaction.
    const BATCH: usize = 5_000;
    let mut app = App::on_sqlite();
    let disk = Tmpfs::mount(app.path("disk"), "64m", "");
    let url = format!("sqlite://{}", disk.path().join("mp.db").display());
    app.set("MORNINGPOST_DATABASE_URL", &url);
    app.ok(&["init"]);
    let csv = app.write_subscribers(ROWS);
    let args = [
        "subscribers",
        "import",
        support::app::path_str(&csv),
        "--consent",
        "confirmed-elsewhere",
    ];
    // Room for a few batches (each ~3 MB of log), not for the file (~40 MB).
    let filler = disk.fill_leaving(8 << 20);
    let out = app.command(&args).output().expect("run the import");
    let err = String::from_utf8_lossy(&out.stderr);
    let kept = support::rows::sqlite_texts(&url, "SELECT email FROM subscribers");
    support::rows::assert_sqlite_intact(&url, "after the failed import");
    std::fs::remove_file(&filler).expect("free the space");
    assert_eq!(out.status.code(), Some(1), "the import failed:\n{err}");
    assert!(
        err.contains("(code: 13)")
            && err.contains("importing the file again adds the rest")
            && err.contains(&format!("what to do: {DISK_FULL_ADVICE}")),
        "it names the full disk and what to do:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !kept.is_empty() && kept.len() < ROWS,
        "the disk filled part way: {} imported",
        kept.len()
    );
    assert_eq!(
        kept.len() % BATCH,
        0,
        "whole batches only, no half of one: {}",
        kept.len()
    );
    let mut expected: Vec<String> = (0..kept.len())
        .map(|i| format!("reader{i}@example.com"))
        .collect();
    let mut kept = kept;
    expected.sort();
    kept.sort();
    assert_eq!(kept, expected, "the file's first rows, each once");
    // Freed: the same command adds the rest.
    let again = app.ok(&args);
    assert!(
        again.contains(&format!("imported {} new subscribers", ROWS - kept.len()))
            && again.contains(&format!("{} already subscribers", kept.len())),
        "{again}"
    );
    let emails = support::rows::sqlite_texts(
        &url,
        "SELECT CAST(count(*) AS TEXT) || ' ' || CAST(count(DISTINCT email_key) AS TEXT) FROM subscribers",
    );
    assert_eq!(
        emails,
        [format!("{ROWS} {ROWS}")],
        "every row once, none twice"
    );
    support::rows::assert_sqlite_intact(&url, "after the second import");
}
