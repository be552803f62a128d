//! The queue's storage rules, on the store API itself: leases, the attempt fence,
//! idempotent enqueueing, cancellation and bounces.

mod support;

use morningpost::domain::TokenKey;
use morningpost::store::{
    LeftVia, MessageKind, NewMessage, Outcome, OutcomeRecord, Store, SubscriberStatus,
};
use uuid::Uuid;

struct Fixture {
    _db: support::db::TestDb,
    _dir: tempfile::TempDir,
    store: Store,
    message: Uuid,
    subscribers: Vec<Uuid>,
}

async fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    fixture_on(db, dir, n).await
}

async fn fixture_on(db: support::db::TestDb, dir: tempfile::TempDir, n: usize) -> Fixture {
    let store = Store::connect(&db.url).await.unwrap();
    let key = TokenKey::from_bytes([1; 32]);
    let subscribers = support::seed::active_subscribers(&store, &key, n).await;
    let message = support::seed::issue(&store, "2026-11-27").await;
    Fixture {
        _db: db,
        _dir: dir,
        store,
        message,
        subscribers,
    }
}

fn record(c: &morningpost::store::Claimed, outcome: Outcome) -> OutcomeRecord {
    OutcomeRecord {
        delivery_id: c.delivery_id,
        attempt: c.attempt,
        subscriber_id: c.subscriber_id,
        outcome,
    }
}

#[tokio::test]
async fn enqueueing_twice_adds_nothing() {
    let f = fixture(3).await;
    assert_eq!(f.store.enqueue_now(f.message, 10).await.unwrap(), 3);
    assert_eq!(f.store.enqueue_now(f.message, 20).await.unwrap(), 0);
    assert_eq!(
        f.store.queue_counts(Some(f.message)).await.unwrap().queued,
        3
    );
}

#[tokio::test]
async fn a_leased_row_is_not_claimed_again_until_its_lease_expires() {
    let f = fixture(1).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let first = f.store.claim(10, 1_000, 100).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempt, 1);
    assert!(
        f.store.claim(10, 2_000, 999).await.unwrap().is_empty(),
        "still leased"
    );
    let again = f.store.claim(10, 3_000, 1_000).await.unwrap();
    assert_eq!(
        (again.len(), again[0].attempt),
        (1, 2),
        "due again at expiry, with a new attempt number"
    );
}

#[tokio::test]
async fn a_worker_whose_lease_expired_cannot_overwrite_the_newer_outcome() {
    let f = fixture(1).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let stale = f.store.claim(1, 1_000, 100).await.unwrap().remove(0);
    let fresh = f.store.claim(1, 5_000, 1_000).await.unwrap().remove(0);
    assert_eq!(
        f.store
            .record(
                &[record(
                    &fresh,
                    Outcome::Sent {
                        reply: "250 ok".into()
                    }
                )],
                1_100
            )
            .await
            .unwrap(),
        0
    );
    for late in [
        Outcome::Failed {
            reply: "550 late".into(),
            bounce: true,
        },
        Outcome::Retry {
            reply: "451 late".into(),
            due_at: 2_000,
        },
        Outcome::Released,
        Outcome::Sent {
            reply: "250 late".into(),
        },
    ] {
        assert_eq!(
            f.store
                .record(&[record(&stale, late)], 1_200)
                .await
                .unwrap(),
            1,
            "refused by the fence"
        );
    }
    let c = f.store.queue_counts(Some(f.message)).await.unwrap();
    assert_eq!((c.sent, c.failed, c.queued, c.sending), (1, 0, 0, 0));
    assert_eq!(
        f.store
            .subscribers(Some(SubscriberStatus::Active))
            .await
            .unwrap()
            .len(),
        1,
        "the stale bounce changed nothing"
    );
    let report = f.store.status_report(Some(f.message), 1_300).await.unwrap();
    assert!(report.top_failures.is_empty(), "{:?}", report.top_failures);
}

#[tokio::test]
async fn a_retry_comes_due_at_its_time_and_counts_as_retrying() {
    let f = fixture(1).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let c = f.store.claim(1, 1_000, 10).await.unwrap().remove(0);
    f.store
        .record(
            &[record(
                &c,
                Outcome::Retry {
                    reply: "451 4.7.1 later".into(),
                    due_at: 60_000,
                },
            )],
            20,
        )
        .await
        .unwrap();
    let counts = f.store.queue_counts(None).await.unwrap();
    assert_eq!((counts.queued, counts.retrying), (1, 1));
    assert!(f.store.claim(1, 90_000, 59_999).await.unwrap().is_empty());
    let again = f.store.claim(1, 90_000, 60_000).await.unwrap().remove(0);
    assert_eq!(again.failures, 1);
    let report = f.store.status_report(None, 60_001).await.unwrap();
    assert_eq!(report.top_failures, vec![]);
    assert_eq!(report.counts.sending, 1);
}

#[tokio::test]
async fn unsubscribing_cancels_what_was_not_sent() {
    let f = fixture(2).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    assert!(
        f.store
            .unsubscribe(f.subscribers[0], LeftVia::Link, 5)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .unsubscribe(f.subscribers[0], LeftVia::Link, 6)
            .await
            .unwrap(),
        "idempotent"
    );
    let c = f.store.queue_counts(Some(f.message)).await.unwrap();
    assert_eq!((c.queued, c.cancelled), (1, 1));
    let claimed = f.store.claim(10, 1_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].subscriber_id, f.subscribers[1]);
}

#[tokio::test]
async fn a_no_such_user_bounce_marks_the_subscriber_and_cancels_their_other_mail() {
    let f = fixture(1).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    // A second message queued for the same subscriber.
    let second = Uuid::now_v7();
    let new = NewMessage {
        id: second,
        kind: MessageKind::Issue,
        slug: Some("2026-11-28"),
        subject: "S2",
        title: "T2",
        issue_date: Some("2026-11-28".into()),
        html: "h",
        text: "t",
        web_html: None,
        source_hash: [1; 32],
        now: 0,
    };
    f.store.store_issue(&new).await.unwrap();
    f.store.enqueue_now(second, 0).await.unwrap();
    let c = f.store.claim(1, 1_000, 10).await.unwrap().remove(0);
    f.store
        .record(
            &[record(
                &c,
                Outcome::Failed {
                    reply: "550 5.1.1 No such user".into(),
                    bounce: true,
                },
            )],
            20,
        )
        .await
        .unwrap();
    assert_eq!(
        f.store
            .subscribers(Some(SubscriberStatus::Bounced))
            .await
            .unwrap()
            .len(),
        1
    );
    let all = f.store.queue_counts(None).await.unwrap();
    assert_eq!((all.failed, all.cancelled, all.queued), (1, 1, 0));
    let groups = f.store.status_report(None, 30).await.unwrap().top_failures;
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        (
            groups[0].code.as_str(),
            groups[0].count,
            groups[0].example.as_str()
        ),
        ("550 5.1.1", 1, "550 5.1.1 No such user")
    );
    assert!(groups[0].example_address.is_some(), "{groups:?}");
}

#[tokio::test]
async fn the_workers_own_postgres_connections_come_back_after_being_cut() {
    let f = fixture_on(
        support::db::TestDb::postgres(),
        tempfile::tempdir().unwrap(),
        2,
    )
    .await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let claimer = f.store.for_claiming();
    let recorder = f.store.for_recording();
    let sent = |c: &morningpost::store::Claimed| {
        record(
            c,
            Outcome::Sent {
                reply: "250 ok".into(),
            },
        )
    };
    let first = claimer.claim(1, 100_000, 10).await.unwrap().remove(0);
    assert_eq!(recorder.record(&[sent(&first)], 20).await.unwrap(), 0);

    // What a database restart or an operator's pg_terminate_backend does to them (the
    // timeout makes it wait until the backends are gone).
    support::db::execute(
        &f._db.url,
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    assert!(
        claimer.claim(1, 100_000, 30).await.is_err(),
        "the statement on the cut connection fails (the worker retries it)"
    );
    let second = claimer.claim(1, 100_000, 40).await.unwrap();
    assert_eq!(second.len(), 1, "the next claim opens a new connection");
    let record_second = [sent(&second[0])];
    assert!(recorder.record(&record_second, 50).await.is_err());
    assert_eq!(recorder.record(&record_second, 60).await.unwrap(), 0);
    let counts = f.store.queue_counts(Some(f.message)).await.unwrap();
    assert_eq!((counts.sent, counts.queued, counts.sending), (2, 0, 0));
}

/// Relays name the address in their replies: failures are grouped by reply code, not by
/// text, with an example reply and address (before, every address was its own "group").
#[tokio::test]
async fn failures_are_grouped_by_reply_code() {
    let f = fixture(5).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let claimed = f.store.claim(5, 1_000, 10).await.unwrap();
    let records: Vec<_> = claimed
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let outcome = match i {
                0..=2 => Outcome::Failed {
                    reply: format!("550 5.1.1 <{}>: Recipient address rejected", c.email),
                    bounce: false,
                },
                3 => Outcome::Retry {
                    reply: "421 4.7.0 Try again later".into(),
                    due_at: 5_000,
                },
                _ => Outcome::Failed {
                    reply: "connection refused".into(),
                    bounce: false,
                },
            };
            record(c, outcome)
        })
        .collect();
    f.store.record(&records, 20).await.unwrap();
    let groups = f
        .store
        .status_report(Some(f.message), 30)
        .await
        .unwrap()
        .top_failures;
    let summary: Vec<(&str, i64)> = groups.iter().map(|g| (g.code.as_str(), g.count)).collect();
    assert_eq!(
        summary,
        [
            ("550 5.1.1", 3),
            ("421 4.7.0", 1),
            ("connection refused", 1)
        ]
    );
    let example = &groups[0];
    let address = example
        .example_address
        .as_deref()
        .expect("an example address");
    assert!(example.example.contains("550 5.1.1 <r"), "{example:?}");
    assert!(address.ends_with("@example.com"), "{example:?}");
    let failed = f.store.reply_groups(f.message, false).await.unwrap();
    assert_eq!((failed[0].code.as_str(), failed[0].count), ("550 5.1.1", 3));
    let retrying = f.store.reply_groups(f.message, true).await.unwrap();
    assert_eq!(
        (retrying[0].code.as_str(), retrying[0].next_attempt),
        ("421 4.7.0", Some(5_000))
    );
}
