//! PostgreSQL restarted in the middle of a send under several workers (issue 16: seen to
//! hold up by hand with `pg_ctlcluster … restart` under two workers; kept here as a test).
//!
//! Staged on a private PostgreSQL cluster (tests/support/pg_cluster.rs), never the machine's
//! shared server, which other tests use at the same time: two `worker --until-done`
//! processes send an issue to smtp-sink; a third of the way in, the server is stopped the
//! way `pg_ctl stop -m fast` does (every session cut, open transactions rolled back), stays
//! down for a second, and is started again on the same port. The same again with an
//! immediate stop (as `pg_ctl stop -m immediate`: no checkpoint, crash recovery at start).
//!
//! It must get: the workers say they are retrying, recover by themselves (no restart) and
//! finish; every reader has the issue; the copies sent twice are at most what was in flight
//! when the server went away — each slot waits until its outcome is committed before it
//! takes the next row, so at most `concurrency` per worker can be sent and not recorded —
//! and the final counts are the subscriber count.

mod support;

use std::time::{Duration, Instant};

use support::ChildGuard;
use support::app::App;
use support::pg_cluster::PgCluster;
use support::sink::SmtpSink;

const READERS: usize = 2_000;
const WORKERS: usize = 2;
const CONCURRENCY: usize = 8;

/// How the server goes away.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// `pg_ctl stop -m fast`, as `pg_ctlcluster … restart` does.
    Fast,
    /// `pg_ctl stop -m immediate`: no shutdown checkpoint, crash recovery at the next start.
    Immediate,
}

#[test]
fn postgres_restarted_mid_send_under_two_workers_loses_nothing_and_they_recover_by_themselves() {
    restarted_mid_send(Stop::Fast);
}

#[test]
fn postgres_stopped_immediately_mid_send_recovers_and_the_workers_lose_nothing() {
    restarted_mid_send(Stop::Immediate);
}

fn restarted_mid_send(stop: Stop) {
    let started = Instant::now();
    let mut cluster = PgCluster::start();
    let mut app = App::on_sqlite();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_DATABASE_URL", &cluster.url())
        .set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_CONCURRENCY", &CONCURRENCY.to_string())
        // Paced (two workers together ~300/s) so the restart lands mid-send.
        .set("MORNINGPOST_RATE_PER_SECOND", "150");
    let csv = app.write_subscribers(READERS);
    app.import_readers(&csv);
    app.ok(&["send", &app.sample_issue()]);

    let mut workers: Vec<ChildGuard> = (0..WORKERS)
        .map(|_| ChildGuard(app.spawn(&["worker", "--until-done"])))
        .collect();
    assert!(
        sink.wait_for(READERS / 3, Duration::from_secs(60)) >= READERS / 3,
        "the send is under way"
    );
    match stop {
        Stop::Fast => cluster.stop_server(),
        Stop::Immediate => cluster.crash_server(),
    }
    let at_stop = sink.count();
    // The outage itself, not a wait for something: the server stays down this long.
    std::thread::sleep(Duration::from_secs(1));
    cluster.start_server();
    assert!(
        at_stop < READERS,
        "restarted mid-send: {at_stop} had arrived"
    );

    let mut stderrs = Vec::new();
    for worker in &mut workers {
        let (status, stderr) = worker.wait_for_exit(Duration::from_secs(120));
        assert!(
            status.success(),
            "a worker recovers by itself and finishes:\n{stderr}"
        );
        stderrs.push(stderr);
    }
    assert!(
        stderrs.iter().any(|e| e.contains("retrying")),
        "the workers noticed the outage and retried: {stderrs:#?}"
    );

    let copies = support::mail::copies_by_message_id(&sink);
    assert_eq!(copies.len(), READERS, "every reader has the issue");
    let twice: usize = copies.values().map(|n| n - 1).sum();
    let bound = WORKERS * CONCURRENCY;
    assert!(
        twice <= bound,
        "{twice} sent twice; at most {bound} were in flight"
    );
    support::rows::assert_all_sent(&app.database_url(), READERS, "after the fault");
    eprintln!(
        "postgres stopped ({stop:?}) after {at_stop} of {READERS}: {twice} sent twice, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
