//! `send --wait` through a real SMTP server (Postfix's smtp-sink): it waits for what can be
//! sent soon, not for retries due later, and its exit status tells a script how it ended:
//! 0 every delivery sent, 2 finished with failures, 3 deliveries still wait for a retry.

mod support;

use std::time::{Duration, Instant};

use support::app::App;
use support::sink::SmtpSink;

fn send_wait(app: &App) -> (Option<i32>, String) {
    let out = app
        .command(&["send", &app.sample_issue(), "--wait"])
        .output()
        .expect("run morningpost");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn import(app: &App, n: usize) {
    let csv = app.write_subscribers(n);
    app.import_readers(&csv);
}

#[test]
fn failures_give_exit_2_with_their_replies_grouped() {
    let mut app = App::new();
    let healthy = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &healthy.url());
    import(&app, 3);
    let (code, out) = send_wait(&app);
    assert_eq!(code, Some(0), "every delivery sent: {out}");
    assert!(out.contains("3 sent, 0 failed"), "{out}");
    healthy.stop();

    // Four readers join; the relay now refuses every recipient: 4 of 7 fail.
    let refusing = SmtpSink::start(
        &app.path("sink2"),
        &["-f", "rcpt", "-B", "550 5.7.1 Message refused by policy"],
    );
    app.set("MORNINGPOST_SMTP_URL", &refusing.url());
    import(&app, 7);
    let (code, out) = send_wait(&app);
    // Before: exit 0. Now: 2, with the four failures under their reply.
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("3 sent, 4 failed"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("failed") && l.contains(" 4  ") && l.contains("550 5.7.1")),
        "failures grouped by reply: {out}"
    );
    // The same facts for scripts, equal to the database's counts.
    let status: serde_json::Value =
        serde_json::from_str(&app.ok(&["status", "--json", "2026-11-27"]))
            .expect("one JSON object");
    assert_eq!(status["counts"]["sent"], 3, "{status}");
    assert_eq!(status["counts"]["failed"], 4, "{status}");
    assert_eq!(status["state"], "done", "{status}");
    let group = &status["failures"][0];
    assert_eq!(
        (&group["code"], &group["count"]),
        (&"550 5.7.1".into(), &4.into()),
        "{status}"
    );
    assert!(
        group["example_address"]
            .as_str()
            .is_some_and(|a| a.ends_with("@example.com")),
        "{status}"
    );
}

#[test]
fn a_retry_due_later_does_not_hold_the_wait_and_gives_exit_3() {
    let mut app = App::new();
    let full = SmtpSink::start(
        &app.path("sink"),
        &["-r", "rcpt", "-b", "452 4.2.2 Mailbox full"],
    );
    // The first retry comes after 150-300 s: beyond the minute `--wait` waits for.
    app.set("MORNINGPOST_SMTP_URL", &full.url())
        .set("MORNINGPOST_RETRY_FIRST_SECONDS", "300")
        .set("MORNINGPOST_RETRY_CAP_SECONDS", "600");
    import(&app, 2);
    let started = Instant::now();
    let (code, out) = send_wait(&app);
    // Before: blocked until the give-up age (3 days). Now: returns at once with exit 3.
    assert!(started.elapsed() < Duration::from_secs(60), "{out}");
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("0 sent, 0 failed"), "{out}");
    assert!(out.contains("2 waiting to retry"), "{out}");
    assert!(
        out.lines().any(|l| l.contains("retrying")
            && l.contains(" 2  ")
            && l.contains("452 4.2.2 Mailbox full")
            && l.contains("next attempt 20")),
        "retries grouped by reply, with the next attempt: {out}"
    );
    let status = app.ok(&["status", "2026-11-27"]);
    assert!(status.contains("(of which retrying: 2)"), "{status}");
}

#[test]
fn a_retry_due_soon_is_waited_for_and_then_all_is_sent() {
    let mut app = App::new();
    let dump = app.path("sink");
    let greylisting = SmtpSink::start(&dump, &["-r", "rcpt", "-b", "451 4.7.1 Greylisted"]);
    let port = greylisting.port;
    app.set("MORNINGPOST_SMTP_URL", &greylisting.url());
    import(&app, 2);
    let issue = app.sample_issue();
    let mut send = app.spawn(&["send", &issue, "--wait"]);
    // Retries come after 1-2 s (the test settings): the wait must not return meanwhile.
    let mut seen = String::new();
    for _ in 0..100 {
        // Fails until the send has stored the issue.
        seen = app.run(&["status", "2026-11-27"]).1;
        if seen.contains("451 4.7.1 Greylisted") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(seen.contains("451 4.7.1 Greylisted"), "{seen}");
    assert!(
        send.try_wait().expect("poll").is_none(),
        "returned while a retry was due within the minute"
    );
    greylisting.stop();
    let healthy = SmtpSink::start_on(port, &dump, &[]);
    let out = send.wait_with_output().expect("send exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 sent, 0 failed"), "{stdout}");
    assert_eq!(healthy.count(), 2);
}

/// `status --watch` shows the status again and again until Ctrl-C, which ends it with exit 0;
/// piped, the snapshots follow one another with no screen-control bytes.
#[test]
fn status_watch_refreshes_until_interrupted() {
    let app = App::new();
    app.ok(&["init"]);
    let child = app.spawn(&["status", "--watch"]);
    std::thread::sleep(Duration::from_millis(2_600));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "Ctrl-C is a normal end: {out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.matches("all mail").count() >= 2,
        "two snapshots in 2.6 s: {stdout}"
    );
    assert!(!stdout.contains('\u{1b}'), "no escape bytes when piped");
}
