//! Relays that stall or hang up (issue 16), staged for real: `send --wait` (the real binary)
//! against `fault_relay.py`, a proxy in front of Postfix's smtp-sink whose first sessions go
//! wrong at one step of the SMTP dialogue and whose later sessions pass through untouched.
//!
//! - a relay that accepts the connection and never sends its greeting;
//! - one that answers up to DATA and never answers DATA (nothing delivered);
//! - one that takes the whole message and never answers its final dot (delivered, unknown
//!   to us);
//! - one that hangs up without a reply on DATA (nothing delivered);
//! - one that takes the whole message and hangs up without answering it (delivered, unknown
//!   to us).
//!
//! Each must get: the send does not hang (the SMTP timeouts fire: `smtp_timeout_seconds`
//! for the connection and greeting, twice that for a transaction), the message of each
//! faulty session is retried once — one failure counted, none failed — and once the relay
//! behaves, every reader has the issue. Where the relay may have the message although it
//! never said so, delivery is at least once: every reader gets it, and the copies sent twice
//! are at most the messages in flight in faulty sessions (one each).

mod support;

use std::time::{Duration, Instant};

use support::ChildGuard;
use support::app::App;
use support::fault_relay::{Fault, FaultRelay};
use support::mail::copies_by_message_id;
use support::sink::SmtpSink;

const READERS: usize = 40;
const CONCURRENCY: usize = 4;
/// More faulty sessions than slots: some slots meet the fault twice in a row.
const FAULTY_SESSIONS: usize = 6;
/// One SMTP command; a transaction gets twice this.
const SMTP_TIMEOUT_SECONDS: u64 = 2;

fn a_send_through(fault: Fault) {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    let relay = FaultRelay::start(&app.path("relay"), sink.port, fault, FAULTY_SESSIONS);
    app.set("MORNINGPOST_SMTP_URL", &relay.url())
        .set("MORNINGPOST_CONCURRENCY", &CONCURRENCY.to_string())
        .set(
            "MORNINGPOST_SMTP_TIMEOUT_SECONDS",
            &SMTP_TIMEOUT_SECONDS.to_string(),
        )
        // What each failed try came to, said by the worker.
        .set("MORNINGPOST_LOG", "warn,morningpost::queue::worker=debug");
    let csv = app.write_subscribers(READERS);
    app.import_readers(&csv);

    let started = Instant::now();
    let issue = app.sample_issue();
    let mut send = ChildGuard(app.spawn(&["send", &issue, "--wait"]));
    // Without timeouts a stalled session would hold its slot (and the send) forever.
    let (status, stderr) = send.wait_for_exit(Duration::from_secs(90));
    let took = started.elapsed();
    assert!(status.success(), "{fault:?}: the send ends well:\n{stderr}");

    assert_eq!(
        relay.faults(),
        FAULTY_SESSIONS,
        "{fault:?}: every faulty session was used and went wrong at its step"
    );
    assert!(
        relay.sessions() > FAULTY_SESSIONS,
        "{fault:?}: healthy sessions came after"
    );
    let said = match fault {
        Fault::Silent => "timed out after",
        Fault::StallAtData | Fault::StallAtEndOfData => "did not answer in time",
        Fault::CloseAtData => "broke at DATA",
        Fault::CloseAtEndOfData => "broke at the end of the message",
    };
    assert!(
        stderr.contains(said),
        "{fault:?}: the failed tries say what happened ({said:?}):\n{stderr}"
    );

    support::rows::assert_all_sent(&app.database_url(), READERS, &format!("{fault:?}"));
    // Each faulty session carried one message, which was tried again (once).
    assert_eq!(
        support::rows::total_failures(&app.database_url()),
        FAULTY_SESSIONS as i64,
        "{fault:?}: one retry per faulty session"
    );

    let copies = copies_by_message_id(&sink);
    assert_eq!(
        copies.len(),
        READERS,
        "{fault:?}: every reader has the issue"
    );
    let twice: usize = copies.values().map(|n| n - 1).sum();
    // The bound: a faulty session had one message in flight; where the relay took it whole
    // before going silent or hanging up, it may arrive twice. Elsewhere, never.
    let bound = if fault.delivers() { FAULTY_SESSIONS } else { 0 };
    assert!(
        twice <= bound,
        "{fault:?}: {twice} copies twice; at most {bound} were in flight where the relay may have taken them"
    );
    eprintln!(
        "{fault:?}: {READERS} readers, {FAULTY_SESSIONS} faulty sessions of {}, {twice} sent twice, {:.1} s",
        relay.sessions(),
        took.as_secs_f64()
    );
}

#[test]
fn a_relay_that_never_sends_its_greeting_times_out_and_the_rows_are_retried() {
    a_send_through(Fault::Silent);
}

#[test]
fn a_relay_that_never_answers_data_times_out_and_the_rows_are_retried() {
    a_send_through(Fault::StallAtData);
}

#[test]
fn a_relay_that_never_answers_the_final_dot_times_out_and_delivery_is_at_least_once() {
    a_send_through(Fault::StallAtEndOfData);
}

#[test]
fn a_relay_that_hangs_up_on_data_without_a_reply_has_the_rows_retried() {
    a_send_through(Fault::CloseAtData);
}

#[test]
fn a_relay_that_hangs_up_after_the_message_without_a_reply_delivers_at_least_once() {
    a_send_through(Fault::CloseAtEndOfData);
}
