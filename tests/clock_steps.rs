//! The host clock stepped back or forward by an hour during a send on SQLite (issue 16),
//! staged for real with libfaketime: the binary runs with `LD_PRELOAD` of Debian's
//! libfaketime, which reads the offset of the wall clock from a file the test rewrites
//! mid-send (the monotonic clock is left alone, as a real step leaves it).
//!
//! On SQLite every time the queue compares is this host's clock (docs/architecture.md
//! decision 39). Before that decision, a step back stalled the send: every row was due at
//! the old time and waited an hour for the clock to catch up.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::ChildGuard;
use support::app::App;
use support::mail::copies_by_message_id;
use support::sink::SmtpSink;

const READERS: usize = 600;
const CONCURRENCY: usize = 8;
const HOUR: &str = "3600";

/// Debian's libfaketime, the thread-safe build (`scripts/ensure-tools` installs it).
fn libfaketime() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .expect("/usr/lib")
        .filter_map(Result::ok)
        .map(|arch| arch.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.exists());
    found.expect("libfaketime is missing: run scripts/test (scripts/ensure-tools installs it)")
}

/// An app on SQLite whose commands see the wall clock moved by the offset in `offset_file`
/// (seconds, "+0" to begin with), read again at most every second.
fn app_with_fake_clock() -> (App, SmtpSink, PathBuf) {
    let mut app = App::on_sqlite();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    let offset_file = app.path("clock-offset");
    set_offset(&offset_file, "+0");
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_CONCURRENCY", &CONCURRENCY.to_string())
        .set("MORNINGPOST_RATE_PER_SECOND", "100");
    let csv = app.write_subscribers(READERS);
    app.import_readers(&csv);
    app.set("LD_PRELOAD", &libfaketime().display().to_string())
        .set(
            "FAKETIME_TIMESTAMP_FILE",
            &offset_file.display().to_string(),
        )
        .set("FAKETIME_CACHE_DURATION", "1")
        .set("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    (app, sink, offset_file)
}

fn set_offset(file: &Path, offset: &str) {
    std::fs::write(file, format!("{offset}\n")).expect("write the clock offset");
}

/// Every reader has the issue, every row is `sent`; returns the copies sent twice.
fn everyone_has_it(app: &App, sink: &SmtpSink) -> usize {
    let copies = copies_by_message_id(sink);
    assert_eq!(copies.len(), READERS, "every reader has the issue");
    support::rows::assert_all_sent(&app.database_url(), READERS, "after the clock step");
    copies.values().map(|n| n - 1).sum()
}

/// `send --wait` under a fake clock, stepped by `offset` once a quarter is out; the app,
/// the sink and what the send wrote on standard error, once it has finished.
fn send_stepped_mid_way(offset: &str) -> (App, SmtpSink, String) {
    let (app, sink, offset_file) = app_with_fake_clock();
    let issue = app.sample_issue();
    let mut send = ChildGuard(app.spawn(&["send", &issue, "--wait"]));
    assert!(
        sink.wait_for(READERS / 4, Duration::from_secs(60)) >= READERS / 4,
        "a quarter is out before the step"
    );
    set_offset(&offset_file, offset);
    // 600 at 100/s: about 6 s in all. Stalled, it would wait an hour.
    let (status, stderr) = send.wait_for_exit(Duration::from_secs(60));
    assert!(status.success(), "send --wait finished:\n{stderr}");
    (app, sink, stderr)
}

#[test]
fn a_clock_stepped_back_an_hour_mid_send_does_not_stall_it() {
    let (app, sink, stderr) = send_stepped_mid_way(&format!("-{HOUR}"));
    assert!(
        stderr.contains("the system clock went back"),
        "the step is said:\n{stderr}"
    );
    assert_eq!(
        everyone_has_it(&app, &sink),
        0,
        "no lease ran out in one process"
    );
}

#[test]
fn a_clock_stepped_forward_an_hour_mid_send_sends_everyone_within_the_in_flight_bound() {
    let (app, sink, _) = send_stepped_mid_way(&format!("+{HOUR}"));
    // The clock follows a step forward, so every lease looks expired at once: rows in the
    // worker's hands are taken again. The fence records each once; the copies sent twice
    // are at most the messages then in flight.
    let twice = everyone_has_it(&app, &sink);
    assert!(
        twice <= CONCURRENCY,
        "{twice} copies sent twice, more than the {CONCURRENCY} in flight"
    );
    let span =
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(support::rows::text_and_number(
                &app.database_url(),
                "SELECT 'span', MAX(sent_at) - MIN(sent_at) FROM deliveries",
            ));
    assert!(
        span[0].1 >= 3_600_000,
        "the clock followed the step: the last sends are stamped an hour after the first ({span:?})"
    );
}

#[test]
fn a_worker_started_after_the_clock_went_back_sends_what_was_queued_before() {
    let (app, sink, offset_file) = app_with_fake_clock();
    let issue = app.sample_issue();
    app.ok(&["send", &issue]);
    set_offset(&offset_file, &format!("-{HOUR}"));
    // A new process: it counts from the database's clock floor, not from an hour ago, or
    // every queued row would be "due in an hour".
    let mut worker = ChildGuard(app.spawn(&["worker", "--until-done"]));
    let (status, stderr) = worker.wait_for_exit(Duration::from_secs(60));
    assert!(status.success(), "the worker finished:\n{stderr}");
    assert!(
        stderr.contains("the system clock went back"),
        "the host clock behind the database's is said:\n{stderr}"
    );
    assert_eq!(
        everyone_has_it(&app, &sink),
        0,
        "one process, no lease ran out"
    );
}
