//! A worker killed with SIGKILL mid-send loses nothing: its leased rows come due again when
//! the lease expires, and the copies sent twice are no more than were in flight.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::app::{App, path_str};
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
    app.ok(&["subscribers", "import", path_str(&csv)]);
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
    // (10 s in tests) has expired.
    let out = app.ok(&["worker", "--until-done"]);
    assert!(out.contains("worker stopped"), "{out}");

    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for m in sink.messages() {
        let text = String::from_utf8_lossy(&m);
        // A message cut off by the kill is not a delivery.
        if !text.trim_end().ends_with("--=_morningpost_alternative--") {
            continue;
        }
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("Message-ID")
            .to_owned();
        *copies.entry(id).or_default() += 1;
    }
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
