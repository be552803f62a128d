//! A worker killed with SIGKILL mid-send loses nothing: its leased rows come due again when
//! the lease expires, and the copies sent twice are no more than were in flight.

mod support;

use std::time::Duration;

use support::app::App;
use support::sink::SmtpSink;

const SUBSCRIBERS: usize = 2_000;
const CONCURRENCY: usize = 8;

#[test]
fn sigkill_mid_send_loses_nothing_and_duplicates_at_most_the_in_flight() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_CONCURRENCY", &CONCURRENCY.to_string());
    let csv = app.write_subscribers(SUBSCRIBERS);
    app.import_readers(&csv);
    app.ok(&["send", &app.sample_issue()]);

    let mut worker = app.spawn(&["worker"]);
    let arrived = sink.wait_for(SUBSCRIBERS / 4, Duration::from_secs(120));
    worker.kill().expect("SIGKILL the worker");
    let _ = worker.wait();
    let at_kill = sink.count();
    assert!(
        arrived >= SUBSCRIBERS / 4 && at_kill < SUBSCRIBERS,
        "killed mid-send: {at_kill} of {SUBSCRIBERS} had arrived"
    );

    // A new worker picks up the rest, including the killed worker's rows once their lease
    // (12 s in tests) has expired.
    let out = app.ok(&["worker", "--until-done"]);
    assert!(out.contains("worker stopped"), "{out}");

    let copies = support::mail::copies_by_message_id(&sink);
    assert_eq!(
        copies.len(),
        SUBSCRIBERS,
        "every subscriber received the issue"
    );
    let duplicates: usize = copies.values().map(|c| c - 1).sum();
    eprintln!("killed after {at_kill} arrivals; {duplicates} duplicates after the restart");
    assert!(
        duplicates <= CONCURRENCY,
        "{duplicates} duplicates; at most {CONCURRENCY} were in flight"
    );
    let status = app.ok(&["status", "2026-11-27"]);
    assert!(
        status.contains(&format!("sent       {SUBSCRIBERS:>9}")),
        "{status}"
    );
}

#[test]
fn sigterm_finishes_what_is_in_flight_and_hands_back_the_rest() {
    let mut app = App::new();
    // The sink waits 1 s before answering DATA: messages are in flight when the signal comes.
    let sink = SmtpSink::start(&app.path("sink"), &["-w", "1"]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_CONCURRENCY", "2")
        .set("MORNINGPOST_BATCH_SIZE", "20");
    let csv = app.write_subscribers(40);
    app.import_readers(&csv);
    app.ok(&["send", &app.sample_issue()]);
    let worker = app.spawn(&["worker"]);
    assert!(
        sink.wait_for_started(2, Duration::from_secs(20)) >= 2,
        "the worker has messages in flight"
    );
    let started = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(worker.id().to_string())
            .status()
            .unwrap()
            .success()
    );
    let out = worker.wait_with_output().expect("worker exits");
    assert!(out.status.success(), "exit 0 on SIGTERM");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it stops promptly"
    );
    let status = app.ok(&["status"]);
    let sent = sink.count() as i64;
    assert!(sent >= 2, "what was in flight was finished: {sent}");
    assert!(
        status.contains("in flight          0"),
        "no lease left behind: {status}"
    );
    assert!(
        status.contains(&format!("sent       {sent:>9}")),
        "every message the sink took is recorded as sent: {status}"
    );
    assert!(
        status.contains(&format!("queued     {:>9}", 40 - sent)),
        "the rest is queued again, due now: {status}"
    );
    // And another worker sends the rest at once, without waiting for a lease to expire.
    eprintln!(
        "after SIGTERM: {sent} in the sink; worker said: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let second = app.ok(&["worker", "--until-done"]);
    eprintln!("second worker: {second}");
    let mut ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| {
            String::from_utf8_lossy(m)
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
                .unwrap_or_else(|| format!("(no id, {} bytes)", m.len()))
        })
        .collect();
    ids.sort();
    assert_eq!(sink.count(), 40, "{ids:#?}\n{}", app.ok(&["status"]));
}
