//! The operator's controls over a send, on the store API with an explicit clock (both
//! backends): local-morning due times, the start of a schedule or its pause when found too
//! late, pause/resume/cancel and what they do to rows in flight, retry, publishing.

mod support;

use morningpost::domain::{TimeZoneName, TokenKey};
use morningpost::send::Timing;
use morningpost::store::{
    DueTimes, Hold, LeftVia, Outcome, OutcomeRecord, RetryScope, SendStart, Store,
};
use uuid::Uuid;

const HOUR: i64 = 3_600_000;
const LEASE: i64 = 60_000;

struct Fixture {
    _db: support::db::TestDb,
    _dir: tempfile::TempDir,
    store: Store,
    url: String,
    message: Uuid,
    subscribers: Vec<Uuid>,
}

async fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let key = TokenKey::from_bytes([1; 32]);
    let subscribers = support::seed::active_subscribers(&store, &key, n).await;
    let message = support::seed::issue(&store, "2026-11-27").await;
    Fixture {
        url: db.url.clone(),
        _db: db,
        _dir: dir,
        store,
        message,
        subscribers,
    }
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn record(c: &morningpost::store::Claimed, outcome: Outcome) -> OutcomeRecord {
    OutcomeRecord {
        delivery_id: c.delivery_id,
        attempt: c.attempt,
        subscriber_id: c.subscriber_id,
        outcome,
    }
}

/// Claims everything due at `now` and records it sent; returns the subscribers it went to.
async fn send_due(f: &Fixture, now: i64) -> Vec<Uuid> {
    let claimed = f.store.claim(1000, now + LEASE, now).await.unwrap();
    let records: Vec<_> = claimed
        .iter()
        .map(|c| {
            record(
                c,
                Outcome::Sent {
                    reply: "250 ok".into(),
                },
            )
        })
        .collect();
    assert_eq!(f.store.record(&records, now).await.unwrap(), 0);
    claimed.iter().map(|c| c.subscriber_id).collect()
}

#[tokio::test]
async fn a_local_morning_send_reaches_each_reader_at_seven_in_their_zone_in_turn() {
    let f = fixture(4).await;
    // Three readers with a zone; the fourth has none and gets the newsletter's (UTC here).
    for (i, zone) in ["Pacific/Auckland", "Europe/Berlin", "America/Los_Angeles"]
        .iter()
        .enumerate()
    {
        support::db::execute(
            &f.url,
            &format!(
                "UPDATE subscribers SET time_zone = '{zone}' WHERE email = 'r{i}@example.com'"
            ),
        )
        .await;
    }
    let now = ms("2026-11-27T20:00:00Z");
    let timing = Timing::readers_local("07:00").unwrap();
    let due = timing
        .due_times(&f.store, &TimeZoneName::utc(), now)
        .await
        .unwrap();
    assert_eq!(
        f.store.enqueue_issue(f.message, &due, now).await.unwrap(),
        4
    );
    let m = f.store.message(f.message).await.unwrap().unwrap();
    assert_eq!(m.send.scheduled_at, Some(ms("2026-11-28T06:00:00Z")));
    assert_eq!(m.send.local_time.as_deref(), Some("07:00"));
    assert!(
        !m.send.is_public(now),
        "not published before its send starts"
    );

    // The fake clock advances past each zone's 07:00; each reader gets it in their turn.
    let s = &f.subscribers;
    let turns = [
        ("2026-11-28T05:59:59Z", vec![]),
        ("2026-11-28T06:00:00Z", vec![s[1]]), // Berlin 07:00 CET
        ("2026-11-28T07:00:00Z", vec![s[3]]), // UTC
        ("2026-11-28T15:00:00Z", vec![s[2]]), // Los Angeles 07:00 PST
        ("2026-11-28T18:00:00Z", vec![s[0]]), // Auckland 07:00 NZDT on the 29th
    ];
    for (at, expected) in turns {
        let mut got = send_due(&f, ms(at)).await;
        got.sort();
        let mut expected = expected.clone();
        expected.sort();
        assert_eq!(got, expected, "at {at}");
    }
    let hours = f.store.due_by_hour(f.message, now).await.unwrap();
    assert!(hours.is_empty(), "nothing left to come: {hours:?}");
}

#[tokio::test]
async fn status_counts_what_comes_due_in_each_hour() {
    let f = fixture(3).await;
    let now = ms("2026-11-27T20:00:00Z");
    let due = DueTimes::Local {
        local_time: "07:00".into(),
        default: ms("2026-11-28T07:00:00Z"),
        by_zone: vec![("Europe/Berlin".into(), ms("2026-11-28T06:00:00Z"))],
    };
    support::db::execute(
        &f.url,
        "UPDATE subscribers SET time_zone = 'Europe/Berlin' WHERE email = 'r0@example.com'",
    )
    .await;
    f.store.enqueue_issue(f.message, &due, now).await.unwrap();
    assert_eq!(
        f.store.due_by_hour(f.message, now).await.unwrap(),
        vec![
            (ms("2026-11-28T06:00:00Z"), 1),
            (ms("2026-11-28T07:00:00Z"), 2)
        ]
    );
}

#[tokio::test]
async fn a_schedule_starts_on_time_and_one_found_too_late_is_paused_not_sent() {
    let f = fixture(2).await;
    let now = ms("2026-11-28T05:00:00Z");
    let at = ms("2026-11-28T07:00:00Z");
    f.store
        .enqueue_issue(f.message, &DueTimes::At(at), now)
        .await
        .unwrap();
    assert!(
        f.store
            .claim(10, now + LEASE, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .start_due_sends(now, 2 * HOUR)
            .await
            .unwrap()
            .is_empty(),
        "not before its time"
    );
    // The workers were down from before 07:00 until 09:30: 2 h 30 late.
    let late = at + 2 * HOUR + HOUR / 2;
    let events = f.store.start_due_sends(late, 2 * HOUR).await.unwrap();
    assert_eq!(
        events,
        vec![SendStart::PausedLate {
            slug: "2026-11-27".into(),
            scheduled_at: at
        }]
    );
    assert!(
        f.store
            .claim(10, late + LEASE, late)
            .await
            .unwrap()
            .is_empty(),
        "a paused send's rows are not claimed"
    );
    let m = f.store.message(f.message).await.unwrap().unwrap();
    assert_eq!(m.send.hold, Some(Hold::Paused));
    assert!(
        m.send
            .hold_reason
            .as_deref()
            .unwrap_or_default()
            .contains("missed by 150 minutes"),
        "{:?}",
        m.send.hold_reason
    );
    assert!(!m.send.is_public(late));
    // The operator says go: it starts now (no second lateness check) and is published.
    assert_eq!(f.store.resume(f.message, late + 1).await.unwrap(), Some(2));
    assert!(
        f.store
            .start_due_sends(late + 2, 2 * HOUR)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(send_due(&f, late + 2).await.len(), 2);
    let m = f.store.message(f.message).await.unwrap().unwrap();
    assert!(m.send.is_public(late + 2));
    assert_eq!(m.send.started_at, Some(late + 1));
}

#[tokio::test]
async fn a_schedule_found_in_time_starts_and_is_published() {
    let f = fixture(1).await;
    let now = ms("2026-11-28T05:00:00Z");
    let at = ms("2026-11-28T07:00:00Z");
    f.store
        .enqueue_issue(f.message, &DueTimes::At(at), now)
        .await
        .unwrap();
    assert!(f.store.archive(at).await.unwrap().is_empty());
    let events = f
        .store
        .start_due_sends(at + 60_000, 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![SendStart::Started {
            slug: "2026-11-27".into()
        }]
    );
    assert_eq!(f.store.archive(at + 60_000).await.unwrap().len(), 1);
    assert_eq!(send_due(&f, at + 60_000).await.len(), 1);
}

#[tokio::test]
async fn a_pause_holds_queued_rows_and_rows_coming_back_from_a_worker() {
    let f = fixture(4).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    // Two rows are in flight when the operator pauses.
    let claimed = f.store.claim(2, LEASE, 1).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        f.store.pause(f.message, "by hand", 2).await.unwrap(),
        Some(2)
    );
    assert_eq!(f.store.pause(f.message, "again", 3).await.unwrap(), None);
    assert_eq!(f.store.held_messages().await.unwrap(), vec![f.message]);
    assert!(f.store.claim(10, 10 + LEASE, 10).await.unwrap().is_empty());
    // One in-flight send finishes and is recorded; the other is handed back unsent.
    f.store
        .record(
            &[
                record(
                    &claimed[0],
                    Outcome::Sent {
                        reply: "250 ok".into(),
                    },
                ),
                record(&claimed[1], Outcome::Released),
            ],
            20,
        )
        .await
        .unwrap();
    let c = f.store.queue_counts(Some(f.message)).await.unwrap();
    assert_eq!(
        (c.sent, c.paused, c.queued, c.sending),
        (1, 3, 0, 0),
        "{c:?}"
    );
    assert!(f.store.claim(10, 30 + LEASE, 30).await.unwrap().is_empty());

    assert_eq!(f.store.resume(f.message, 40).await.unwrap(), Some(3));
    assert_eq!(f.store.resume(f.message, 41).await.unwrap(), None);
    assert!(f.store.held_messages().await.unwrap().is_empty());
    assert_eq!(send_due(&f, 50).await.len(), 3);
    let c = f.store.queue_counts(Some(f.message)).await.unwrap();
    assert_eq!((c.sent, c.paused, c.queued), (4, 0, 0), "each sent once");
}

#[tokio::test]
async fn a_cancel_stops_what_is_unsent_and_send_resume_revives_it_for_active_readers() {
    let f = fixture(4).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let claimed = f.store.claim(1, LEASE, 1).await.unwrap();
    assert_eq!(f.store.cancel(f.message, 2).await.unwrap(), Some(3));
    assert_eq!(f.store.cancel(f.message, 3).await.unwrap(), None);
    // The row in flight failed temporarily: it comes back cancelled, not queued.
    f.store
        .record(
            &[record(
                &claimed[0],
                Outcome::Retry {
                    reply: "451 later".into(),
                    due_at: 100,
                },
            )],
            4,
        )
        .await
        .unwrap();
    let c = f.store.queue_counts(Some(f.message)).await.unwrap();
    assert_eq!((c.cancelled, c.queued), (4, 0), "{c:?}");
    assert_eq!(
        f.store.message(f.message).await.unwrap().unwrap().send.hold,
        Some(Hold::Cancelled)
    );
    // A reader left meanwhile: --resume does not revive theirs.
    assert!(
        f.store
            .unsubscribe(f.subscribers[3], LeftVia::Link, 5)
            .await
            .unwrap()
    );
    assert_eq!(f.store.count_revivable(f.message).await.unwrap(), 3);
    assert_eq!(
        f.store
            .revive_cancelled(f.message, &DueTimes::At(6), 6)
            .await
            .unwrap(),
        3
    );
    let m = f.store.message(f.message).await.unwrap().unwrap();
    assert_eq!(m.send.hold, None);
    let mut sent = send_due(&f, 7).await;
    sent.sort();
    let mut expected = f.subscribers[..3].to_vec();
    expected.sort();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn retry_requeues_failed_rows_of_active_readers_only() {
    let f = fixture(4).await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    let claimed = f.store.claim(10, LEASE, 1).await.unwrap();
    let mut records = Vec::new();
    for c in &claimed[..3] {
        records.push(record(
            c,
            Outcome::Failed {
                reply: "554 5.7.1 policy".into(),
                bounce: false,
            },
        ));
    }
    records.push(record(
        &claimed[3],
        Outcome::Retry {
            reply: "451 later".into(),
            due_at: 10 * HOUR,
        },
    ));
    f.store.record(&records, 2).await.unwrap();
    // One of the failed readers unsubscribed since.
    let gone = claimed[0].subscriber_id;
    assert!(f.store.unsubscribe(gone, LeftVia::Link, 3).await.unwrap());
    let failed_only = RetryScope {
        failed: true,
        waiting: false,
        since: None,
    };
    // Only those whose last attempt came after a time: none here.
    let later = RetryScope {
        since: Some(100),
        ..failed_only
    };
    assert_eq!(
        f.store.retry_deliveries(f.message, later, 4).await.unwrap(),
        0
    );
    assert_eq!(
        f.store
            .retry_deliveries(f.message, failed_only, 4)
            .await
            .unwrap(),
        2
    );
    let mut due_now = send_due(&f, 5).await;
    due_now.sort();
    let mut expected = vec![claimed[1].subscriber_id, claimed[2].subscriber_id];
    expected.sort();
    assert_eq!(
        due_now, expected,
        "not the unsubscribed one, not the waiting one"
    );
    // Without --failed the waiting retry becomes due now too.
    let all = RetryScope {
        failed: true,
        waiting: true,
        since: None,
    };
    assert_eq!(
        f.store.retry_deliveries(f.message, all, 6).await.unwrap(),
        1
    );
    assert_eq!(send_due(&f, 7).await, vec![claimed[3].subscriber_id]);
}

#[tokio::test]
async fn unpublish_takes_an_issue_off_the_archive_and_publish_puts_it_back() {
    let f = fixture(1).await;
    f.store.enqueue_now(f.message, 10).await.unwrap();
    assert_eq!(f.store.archive(11).await.unwrap().len(), 1);
    f.store.set_published(f.message, false, 12).await.unwrap();
    assert!(f.store.archive(13).await.unwrap().is_empty());
    let m = f.store.message(f.message).await.unwrap().unwrap();
    assert!(!m.send.is_public(13));
    f.store.set_published(f.message, true, 14).await.unwrap();
    assert_eq!(f.store.archive(15).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_issue_list_tells_each_send_apart() {
    let f = fixture(2).await;
    let scheduled = support::seed::issue(&f.store, "2026-11-28").await;
    let _stored = support::seed::issue(&f.store, "2026-11-29").await;
    f.store.enqueue_now(f.message, 0).await.unwrap();
    f.store
        .enqueue_issue(scheduled, &DueTimes::At(10 * HOUR), 1)
        .await
        .unwrap();
    let list = f.store.issues().await.unwrap();
    let states: Vec<(String, &str, i64)> = list
        .iter()
        .map(|i| {
            (
                i.slug.clone(),
                morningpost::send::issue_state(i.enqueued_at, &i.send, &i.counts).as_str(),
                i.counts.queued,
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("2026-11-29".to_owned(), "stored", 0),
            ("2026-11-28".to_owned(), "scheduled", 2),
            ("2026-11-27".to_owned(), "sending", 2),
        ]
    );
}
