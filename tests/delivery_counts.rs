//! The counts `status`, `issues` and `send --wait`'s progress read are kept beside the
//! deliveries by triggers (docs/architecture.md decision 41). After every kind of change a
//! delivery's state goes through — enqueue, claim, each outcome, pause (also with rows in
//! flight), resume, cancel, `send --resume`, retry, an unsubscribe, a hard bounce, an
//! erasure, confirmation mail and its purge — they equal a count of the rows, on both
//! backends; on PostgreSQL also when other connections wrote some and are gone (folded).

mod support;

use morningpost::domain::{SubscriberEmail, TokenKey};
use morningpost::store::{
    Claimed, DueTimes, LeftVia, Outcome, OutcomeRecord, QueueCounts, RetryScope, Store,
};
use uuid::Uuid;

const LEASE: i64 = 60_000;

struct Fixture {
    _dir: tempfile::TempDir,
    db: support::db::TestDb,
    store: Store,
    key: TokenKey,
    issue: Uuid,
    other: Uuid,
    subscribers: Vec<Uuid>,
}

async fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let key = TokenKey::from_bytes([1; 32]);
    let subscribers = support::seed::active_subscribers(&store, &key, n).await;
    let issue = support::seed::issue(&store, "2026-11-27").await;
    let other = support::seed::issue(&store, "2026-11-28").await;
    Fixture {
        _dir: dir,
        db,
        store,
        key,
        issue,
        other,
        subscribers,
    }
}

fn record(c: &Claimed, outcome: Outcome) -> OutcomeRecord {
    OutcomeRecord {
        delivery_id: c.delivery_id,
        attempt: c.attempt,
        subscriber_id: c.subscriber_id,
        outcome,
    }
}

fn sent() -> Outcome {
    Outcome::Sent {
        reply: "250 2.0.0 ok".into(),
    }
}

fn retry(due_at: i64) -> Outcome {
    Outcome::Retry {
        reply: "451 4.2.0 try again later".into(),
        due_at,
    }
}

/// The kept counts equal the rows' count, every message and state; and what the store
/// reads for one issue and for all mail is that count.
async fn assert_kept(f: &Fixture, step: &str) {
    let (kept, counted) = support::rows::kept_and_counted(&f.db.url).await;
    assert_eq!(
        kept, counted,
        "after {step}: kept counts (left) and rows (right)"
    );
    let by_state = support::rows::deliveries_by_state(&f.db.url).await;
    for id in [Some(f.issue), Some(f.other), None] {
        let read = f.store.queue_counts(id).await.unwrap();
        assert_eq!(
            read,
            counts_of(&by_state, id),
            "after {step}: the store's counts of {id:?}"
        );
    }
}

/// The counts of one message (or all) from the rows' count, as the store reports them.
fn counts_of(counted: &std::collections::BTreeMap<String, i64>, id: Option<Uuid>) -> QueueCounts {
    let mut c = QueueCounts::default();
    for (key, &n) in counted {
        let mut parts = key.split(' ');
        let (message, state) = (parts.next().unwrap(), parts.next().unwrap());
        let retrying = parts.next() == Some("retrying");
        if id.is_some_and(|id| !support::rows::same_id(message, id)) {
            continue;
        }
        match state {
            "queued" => {
                c.queued += n;
                if retrying {
                    c.retrying += n;
                }
            }
            "sending" => c.sending += n,
            "sent" => c.sent += n,
            "failed" => c.failed += n,
            "cancelled" => c.cancelled += n,
            "paused" => c.paused += n,
            other => panic!("state {other}"),
        }
    }
    c
}

#[tokio::test]
async fn the_kept_counts_follow_every_change_of_a_mixed_send() {
    let f = fixture(12).await;
    f.store.enqueue_now(f.issue, 0).await.unwrap();
    f.store.enqueue_now(f.other, 0).await.unwrap();
    assert_kept(&f, "two enqueues").await;

    // Everything claimed under a short lease; six of them claimed again once it ran out
    // (sending to sending).
    assert_eq!(f.store.claim(100, 5, 1).await.unwrap().len(), 24);
    assert_kept(&f, "a claim").await;
    let claimed = f.store.claim(6, 10 + LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 6);
    assert_kept(&f, "a lease claimed again").await;

    // One outcome of each kind.
    let records = vec![
        record(&claimed[0], sent()),
        record(&claimed[1], retry(400)),
        record(
            &claimed[2],
            Outcome::Failed {
                reply: "550 5.7.1 refused by policy".into(),
                bounce: false,
            },
        ),
        // Marks its reader bounced and cancels their other queued mail.
        record(
            &claimed[3],
            Outcome::Failed {
                reply: "550 5.1.1 no such user".into(),
                bounce: true,
            },
        ),
        record(
            &claimed[4],
            Outcome::Deferred {
                reply: "421 4.3.2 shutting down".into(),
                due_at: 20,
            },
        ),
        record(&claimed[5], Outcome::Released),
    ];
    assert_eq!(f.store.record(&records, 11).await.unwrap(), 0);
    assert_kept(&f, "one outcome of each kind").await;
    // A stale outcome (the fence refuses it) changes nothing.
    assert_eq!(
        f.store
            .record(&[record(&claimed[0], sent())], 12)
            .await
            .unwrap(),
        1
    );
    assert_kept(&f, "a fenced outcome").await;

    // The rest: most sent, some to retry, two left in flight.
    let mut rest = f.store.claim(100, 20 + LEASE, 20).await.unwrap();
    assert!(rest.len() > 2, "{}", rest.len());
    let in_flight: Vec<_> = rest.drain(..2).collect();
    let records: Vec<_> = rest
        .iter()
        .enumerate()
        .map(|(i, c)| record(c, if i % 3 == 0 { retry(400) } else { sent() }))
        .collect();
    assert_eq!(f.store.record(&records, 21).await.unwrap(), 0);
    assert_kept(&f, "a batch of sent and retried").await;

    // Both issues paused with rows in flight: what comes back is held too.
    for id in [f.issue, f.other] {
        assert!(f.store.pause(id, "by hand", 300).await.unwrap().is_some());
    }
    assert_kept(&f, "a pause").await;
    let records = vec![
        record(&in_flight[0], retry(400)),
        record(&in_flight[1], Outcome::Released),
    ];
    assert_eq!(f.store.record(&records, 310).await.unwrap(), 0);
    assert_kept(&f, "outcomes of a paused send").await;
    for id in [f.issue, f.other] {
        assert!(f.store.resume(id, 320).await.unwrap().is_some());
    }
    assert_kept(&f, "a resume").await;

    // One cancelled by its worker (say the reader left meanwhile).
    let one = f.store.claim(1, 1_000 + LEASE, 1_000).await.unwrap();
    assert_eq!(one.len(), 1);
    let cancelled = Outcome::Cancelled {
        reason: "the reader left".into(),
    };
    assert_eq!(
        f.store
            .record(&[record(&one[0], cancelled)], 1_001)
            .await
            .unwrap(),
        0
    );
    assert_kept(&f, "a cancelled outcome").await;

    // Cancel, then `send --resume`.
    assert!(f.store.cancel(f.issue, 1_100).await.unwrap().is_some());
    assert_kept(&f, "a cancel").await;
    f.store
        .revive_cancelled(f.issue, &DueTimes::At(1_200), 1_200)
        .await
        .unwrap();
    assert_kept(&f, "send --resume").await;

    // The failed ones and those waiting for a retry, again now.
    let scope = RetryScope {
        failed: true,
        waiting: true,
        since: None,
    };
    f.store
        .retry_deliveries(f.issue, scope, 1_300)
        .await
        .unwrap();
    f.store
        .retry_deliveries(f.other, scope, 1_300)
        .await
        .unwrap();
    assert_kept(&f, "a retry").await;

    // A reader leaves; another is erased.
    f.store
        .unsubscribe(f.subscribers[7], LeftVia::Link, 1_400)
        .await
        .unwrap();
    assert_kept(&f, "an unsubscribe").await;
    let erased = SubscriberEmail::parse("r8@example.com").unwrap();
    let gone = f
        .store
        .erase(&erased.normalized(), &f.key.email_hash(&erased), 1_410)
        .await
        .unwrap();
    assert!(gone.subscriber);
    assert_kept(&f, "an erasure").await;

    // Confirmation mail (a message of its own): queued by sign-ups, dropped by a purge.
    let template = support::seed::confirmation_template(&f.store).await;
    for (i, email) in ["new1@example.com", "new2@example.com"].iter().enumerate() {
        let r = support::seed::sign_up(email, None, template, 1_500 + i as i64);
        f.store.subscribe(&r).await.unwrap();
    }
    assert_kept(&f, "two sign-ups").await;
    let purged = f.store.purge_pending(2_000).await.unwrap();
    assert_eq!(purged.confirmations_dropped, 2, "{purged:?}");
    assert_kept(&f, "a purge of sign-ups").await;

    // Everything left goes out.
    loop {
        let claimed = f.store.claim(100, 3_000 + LEASE, 3_000).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        let records: Vec<_> = claimed.iter().map(|c| record(c, sent())).collect();
        f.store.record(&records, 3_001).await.unwrap();
    }
    assert_kept(&f, "the end of the send").await;
    let c = f.store.queue_counts(Some(f.issue)).await.unwrap();
    assert_eq!(c.queued + c.sending + c.paused, 0, "{c:?}");
    assert_eq!(c.total(), 12, "{c:?}");
    let listed = f.store.issues().await.unwrap();
    let summary = listed.iter().find(|i| i.id == f.issue).unwrap();
    assert_eq!(summary.counts, c, "`issues` reads the same counts");
}

/// PostgreSQL: each connection adds to counts of its own; those of connections that are
/// gone are folded into shard 0 without changing any sum.
#[tokio::test]
async fn counts_written_by_connections_that_are_gone_are_folded() {
    if !support::db::postgres() {
        return;
    }
    let f = fixture(40).await;
    f.store.enqueue_now(f.issue, 0).await.unwrap();
    // Four other stores (other connections) each send ten, then go.
    for i in 0..4 {
        let other = Store::connect(&f.db.url).await.unwrap();
        let claimed = other.claim(10, 10 + LEASE, 10 + i).await.unwrap();
        let records: Vec<_> = claimed.iter().map(|c| record(c, sent())).collect();
        assert_eq!(other.record(&records, 11 + i).await.unwrap(), 0);
        drop(other);
    }
    assert_kept(&f, "four connections' sends").await;
    // A closed connection's backend takes a moment to go; until then its rows stay.
    let mut folded = (0, -1);
    for _ in 0..100 {
        f.store.fold_delivery_counts().await.unwrap();
        folded = support::rows::folded_sent_and_dead_rows(&f.db.url).await;
        if folded == (40, 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        folded,
        (40, 0),
        "the 40 sent are counted in shard 0; no row of a connection that is gone is left"
    );
    assert_kept(&f, "a fold").await;
    assert_eq!(f.store.queue_counts(Some(f.issue)).await.unwrap().sent, 40);
}

/// `status`'s due hours come from the counts, each first attempt under the minute it is
/// due: what comes due later in the current hour is listed under it, what is due already
/// is not, and a paused send's rows still to come are listed too.
#[tokio::test]
async fn the_due_hours_are_read_from_the_counts_to_the_minute() {
    let f = fixture(3).await;
    let ms = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    support::db::execute(
        &f.db.url,
        "UPDATE subscribers SET time_zone = 'Europe/Berlin' WHERE email = 'r0@example.com'",
    )
    .await;
    let now = ms("2026-11-27T20:10:00Z");
    let due = DueTimes::Local {
        local_time: "20:40".into(),
        default: ms("2026-11-27T20:40:00Z"),
        by_zone: vec![("Europe/Berlin".into(), ms("2026-11-28T06:00:00Z"))],
    };
    f.store.enqueue_issue(f.issue, &due, now).await.unwrap();
    assert_kept(&f, "a local-morning enqueue").await;
    let hours = |at: &str| {
        let store = f.store.clone();
        let at = ms(at);
        async move { store.due_by_hour(f.issue, at).await.unwrap() }
    };
    assert_eq!(
        hours("2026-11-27T20:10:00Z").await,
        vec![
            (ms("2026-11-27T20:00:00Z"), 2),
            (ms("2026-11-28T06:00:00Z"), 1)
        ],
        "later this hour, and tomorrow"
    );
    assert_eq!(
        hours("2026-11-27T20:39:59Z").await,
        vec![
            (ms("2026-11-27T20:00:00Z"), 2),
            (ms("2026-11-28T06:00:00Z"), 1)
        ]
    );
    assert_eq!(
        hours("2026-11-27T20:40:00Z").await,
        vec![(ms("2026-11-28T06:00:00Z"), 1)],
        "due now: no longer to come"
    );
    f.store
        .pause(f.issue, "by hand", ms("2026-11-27T20:41:00Z"))
        .await
        .unwrap();
    assert_kept(&f, "a pause of a local-morning send").await;
    assert_eq!(
        hours("2026-11-27T20:41:00Z").await,
        vec![(ms("2026-11-28T06:00:00Z"), 1)],
        "paused, still to come"
    );
}

/// `send --wait`'s settled check reads the counts for rows in flight and first attempts,
/// and the rows only for retries.
#[tokio::test]
async fn the_settled_check_sees_rows_in_flight_first_attempts_and_retries_due_soon() {
    let f = fixture(2).await;
    let minute = 60_000;
    let due_soon = |now: i64| {
        let store = f.store.clone();
        async move { store.has_due_before(f.issue, now + minute).await.unwrap() }
    };
    assert!(!due_soon(0).await, "nothing queued");
    // Queued for later (a schedule two minutes ahead): not due within the minute yet.
    f.store
        .enqueue_issue(f.issue, &DueTimes::At(10 * minute), 0)
        .await
        .unwrap();
    assert!(!due_soon(0).await, "due in ten minutes");
    assert!(due_soon(9 * minute).await, "due within the minute");
    let claimed = f.store.claim(10, 11 * minute, 10 * minute).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(due_soon(10 * minute).await, "in flight");
    let records = vec![
        record(&claimed[0], sent()),
        record(&claimed[1], retry(30 * minute)),
    ];
    f.store.record(&records, 10 * minute).await.unwrap();
    assert_kept(&f, "a sent and a retry").await;
    assert!(
        !due_soon(10 * minute).await,
        "the retry is due in twenty minutes"
    );
    assert!(
        due_soon(29 * minute + 1).await,
        "the retry is due within the minute"
    );
}

/// `status`'s send rate: the sends of the last minute, this issue's of them, per second.
#[tokio::test]
async fn the_send_rate_counts_the_last_minute_of_sends() {
    let f = fixture(6).await;
    f.store.enqueue_now(f.issue, 0).await.unwrap();
    f.store.enqueue_now(f.other, 0).await.unwrap();
    let now = 10 * 60_000;
    let claimed = f.store.claim(12, now + LEASE, now - 1).await.unwrap();
    assert_eq!(claimed.len(), 12);
    // Six sent just now (four of this issue's, two of the other's), six a while ago.
    let (mut recent, mut old) = (Vec::new(), Vec::new());
    let (mut of_issue, mut of_other) = (0, 0);
    for c in &claimed {
        let take = if c.message_id == f.issue {
            of_issue += 1;
            of_issue <= 4
        } else {
            of_other += 1;
            of_other <= 2
        };
        if take { &mut recent } else { &mut old }.push(record(c, sent()));
    }
    assert_eq!((recent.len(), old.len()), (6, 6));
    f.store.record(&old, now - 5 * 60_000).await.unwrap();
    f.store.record(&recent, now - 1_000).await.unwrap();
    let rate = |id| {
        let store = f.store.clone();
        async move { store.status_report(id, now).await.unwrap().send_rate }
    };
    assert_eq!(rate(Some(f.issue)).await, 4.0 / 60.0);
    assert_eq!(rate(Some(f.other)).await, 2.0 / 60.0);
    assert_eq!(rate(None).await, 6.0 / 60.0);
}
