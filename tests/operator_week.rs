//! The operator's week, end to end with the binary and a real smtp-sink (both backends):
//! a relay refusing the sender pauses the send instead of failing it; schedules wait for
//! their time; a schedule found too late is paused; pause from one process stops four
//! workers; cancel and `send --resume`; `retry --failed` to active readers only.

mod support;

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

use support::app::App;
use support::mail::{copies_by_message_id, raw_header};
use support::sink::SmtpSink;

const SLUG: &str = "2026-11-27";

/// Runs to the end; returns (exit code, stdout, stderr).
fn run_code(app: &App, args: &[&str]) -> (i32, String, String) {
    let out = app.command(args).output().expect("run morningpost");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn subscribers(app: &App, n: usize) {
    let csv = app.write_subscribers(n);
    app.import_readers(&csv);
}

/// Recipient → copies received whole.
fn copies_by_recipient(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut copies = BTreeMap::new();
    for m in sink.messages() {
        *copies.entry(raw_header(&m, "To")).or_default() += 1;
    }
    copies
}

fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the worker did not finish within {timeout:?}");
}

fn rfc3339_in(seconds: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    t.to_string()
}

#[test]
fn a_relay_refusing_the_sender_fails_nothing_pauses_the_send_and_resume_sends_each_once() {
    let mut app = App::new();
    let refusing = SmtpSink::start(&app.path("refusing"), &["-f", "mail"]);
    let port = refusing.port;
    app.set("MORNINGPOST_SMTP_URL", &refusing.url())
        .set("MORNINGPOST_CONCURRENCY", "2")
        .set("MORNINGPOST_RELAY_FAILURES_BEFORE_PAUSE", "3");
    subscribers(&app, 5);
    let (code, out, _) = run_code(&app, &["send", &app.sample_issue(), "--wait"]);
    assert_eq!(code, 4, "paused is a non-zero exit: {out}");
    assert!(
        // Two slots fail at once: the pause names the streak it saw, 3 or 4.
        out.contains("is paused")
            && out.contains("times in a row")
            && out.contains("the relay failed"),
        "{out}"
    );
    assert!(out.contains("500 5.3.0"), "the relay's words: {out}");
    let status = app.ok(&["status", SLUG]);
    assert!(status.contains("state      paused since"), "{status}");
    assert!(
        status.contains("failed             0"),
        "nothing failed: {status}"
    );
    assert!(status.contains("paused             5"), "{status}");
    assert_eq!(refusing.count(), 0);

    // The operator fixes the relay and resumes: every reader gets exactly one copy.
    refusing.stop();
    let healthy = SmtpSink::start_on(port, &app.path("healthy"), &[]);
    let out = app.ok(&["resume", SLUG]);
    assert!(out.contains("5 deliveries queued again"), "{out}");
    let (code, out, _) = run_code(&app, &["send", &app.sample_issue(), "--wait"]);
    assert_eq!(code, 0, "{out}");
    let copies = copies_by_recipient(&healthy);
    assert_eq!(copies.len(), 5, "{copies:?}");
    assert!(copies.values().all(|n| *n == 1), "{copies:?}");
}

#[test]
fn a_scheduled_send_waits_for_its_time_and_is_published_when_it_starts() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    subscribers(&app, 3);
    let at = rfc3339_in(4);
    let out = app.ok(&["send", &app.sample_issue(), "--at", &at]);
    assert!(out.contains("is scheduled"), "{out}");
    let status = app.ok(&["status", SLUG]);
    assert!(
        status.contains("state      scheduled for") && status.contains("archive    not public"),
        "{status}"
    );
    let all = app.ok(&["status"]);
    assert!(all.contains("2026-11-27: scheduled for"), "{all}");
    let issues = app.ok(&["issues"]);
    assert!(issues.contains("scheduled"), "{issues}");
    let mut worker = app.spawn(&["worker", "--until-done"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.count(), 0, "nothing before its time");
    assert!(wait_exit(&mut worker, Duration::from_secs(30)));
    assert_eq!(sink.count(), 3);
    let status = app.ok(&["status", SLUG]);
    assert!(
        status.contains("state      done") && !status.contains("not public"),
        "{status}"
    );
}

#[test]
fn a_schedule_found_too_late_is_paused_not_sent_until_the_operator_says_so() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    subscribers(&app, 2);
    app.ok(&["send", &app.sample_issue(), "--at", &rfc3339_in(3600)]);
    // The workers were down: the schedule passed three hours ago.
    let three_hours = 3 * 3600 * 1000;
    app.sql(&format!(
        "UPDATE messages SET scheduled_at = scheduled_at - 3600000 - {three_hours} WHERE slug = '{SLUG}'"
    ));
    app.sql(&format!(
        "UPDATE deliveries SET due_at = due_at - 3600000 - {three_hours}, queued_at = queued_at - 3600000 - {three_hours}"
    ));
    let mut worker = app.spawn(&["worker", "--until-done"]);
    assert!(wait_exit(&mut worker, Duration::from_secs(30)));
    assert_eq!(sink.count(), 0, "yesterday's issue is not sent at noon");
    let status = app.ok(&["status", SLUG]);
    assert!(
        status.contains("state      paused since") && status.contains("missed by 180 minutes"),
        "{status}"
    );
    let all = app.ok(&["status"]);
    assert!(all.contains("2026-11-27: paused since"), "{all}");
    let (code, _, err) = run_code(&app, &["send", &app.sample_issue()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("is paused") && err.contains("morningpost resume"),
        "{err}"
    );
    app.ok(&["resume", SLUG]);
    let mut worker = app.spawn(&["worker", "--until-done"]);
    assert!(wait_exit(&mut worker, Duration::from_secs(30)));
    assert_eq!(sink.count(), 2);
}

#[test]
fn a_pause_from_one_process_stops_four_workers_within_a_second_and_resume_loses_nothing() {
    let n = 60;
    let mut app = App::new();
    // Each message waits a second for its DATA reply: 8 in flight, ~8 a second.
    let sink = SmtpSink::start(&app.path("sink"), &["-w", "1"]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_CONCURRENCY", "2")
        .set("MORNINGPOST_BATCH_SIZE", "2");
    subscribers(&app, n);
    app.ok(&["send", &app.sample_issue()]);
    let mut workers: Vec<Child> = (0..4).map(|_| app.spawn(&["worker"])).collect();
    assert!(sink.wait_for(8, Duration::from_secs(30)) >= 8);
    app.ok(&["pause", SLUG]);
    // Within a second every worker has seen the hold; sends in flight (one second of DATA
    // delay) finish. After that nothing more arrives.
    std::thread::sleep(Duration::from_millis(2500));
    let at_pause = sink.wait_for_started(n, Duration::ZERO);
    std::thread::sleep(Duration::from_secs(3));
    let later = sink.wait_for_started(n, Duration::ZERO);
    assert_eq!(at_pause, later, "nothing started after the pause took hold");
    assert!(
        later < n,
        "the pause stopped the send before its end ({later})"
    );
    let status = app.ok(&["status", SLUG]);
    assert!(status.contains("state      paused"), "{status}");

    app.ok(&["resume", SLUG]);
    let arrived = sink.wait_for(n, Duration::from_secs(60));
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert_eq!(arrived, n);
    let copies = copies_by_message_id(&sink);
    assert_eq!(copies.len(), n, "every reader once");
    assert!(copies.values().all(|c| *c == 1), "{copies:?}");
}

#[test]
fn a_cancelled_send_is_not_revived_by_a_plain_send_and_send_resume_sends_it() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    subscribers(&app, 3);
    app.ok(&["send", &app.sample_issue(), "--at", &rfc3339_in(3600)]);
    let out = app.ok(&["cancel", SLUG]);
    assert!(out.contains("3 deliveries will not be sent"), "{out}");
    let issues = app.ok(&["issues"]);
    assert!(issues.contains("cancelled"), "{issues}");
    let (code, _, err) = run_code(&app, &["send", &app.sample_issue()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("was cancelled") && err.contains("--resume"),
        "{err}"
    );
    // The dry run and the send agree on what --resume brings back.
    let dry = app.ok(&["send", &app.sample_issue(), "--resume", "--dry-run"]);
    assert!(
        dry.contains("would bring back 3 deliveries the cancel stopped"),
        "{dry}"
    );
    let (code, out, err) = run_code(&app, &["send", &app.sample_issue(), "--resume", "--wait"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3 deliveries stopped by the cancel are queued again"),
        "{out}"
    );
    assert_eq!(sink.count(), 3);
}

#[test]
fn retry_failed_resends_to_active_readers_only() {
    let mut app = App::new();
    let refusing = SmtpSink::start(
        &app.path("refusing"),
        &["-f", "rcpt", "-B", "550 5.7.1 Message refused by policy"],
    );
    let port = refusing.port;
    app.set("MORNINGPOST_SMTP_URL", &refusing.url());
    subscribers(&app, 3);
    let (code, out, _) = run_code(&app, &["send", &app.sample_issue(), "--wait"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("3  550 5.7.1  e.g. reader")
            && out.contains(": 550 5.7.1 Message refused by policy"),
        "one group, by reply code, with an example: {out}"
    );
    app.sql("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'reader0@example.com'");
    refusing.stop();
    let healthy = SmtpSink::start_on(port, &app.path("healthy"), &[]);
    let out = app.ok(&["retry", SLUG, "--failed"]);
    assert!(out.contains("2 deliveries queued again"), "{out}");
    app.ok(&["worker", "--until-done"]);
    let copies = copies_by_recipient(&healthy);
    let recipients: Vec<&str> = copies.keys().map(String::as_str).collect();
    assert_eq!(
        recipients,
        [
            "\"Reader 1\" <reader1@example.com>",
            "\"Reader 2\" <reader2@example.com>"
        ],
        "{copies:?}"
    );
}
