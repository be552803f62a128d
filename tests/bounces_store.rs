//! Late bounces and complaints in the store (both backends): each failed recipient is
//! recorded once; a hard bounce suppresses at once, a complaint marks the reader complained,
//! soft bounces suppress only in an unbroken streak, a refusal only counts.

mod support;

use morningpost::domain::TokenKey;
use morningpost::store::{
    BounceClass, BounceCounts, BounceEffect, DeliveryRef, MatchedBy, NewBounceEvent, Store,
    SubscriberStatus,
};
use uuid::Uuid;

const DAY: i64 = 86_400_000;

struct Fixture {
    _db: support::db::TestDb,
    _dir: tempfile::TempDir,
    store: Store,
    subscribers: Vec<Uuid>,
}

async fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let subscribers =
        support::seed::active_subscribers(&store, &TokenKey::from_bytes([1; 32]), n).await;
    Fixture {
        _db: db,
        _dir: dir,
        store,
        subscribers,
    }
}

/// Stores an issue, queues it for every active reader and records each sent at `at`.
async fn send_issue(f: &Fixture, slug: &str, at: i64) -> Uuid {
    support::seed::sent_issue(&f.store, slug, at).await
}

async fn delivery(f: &Fixture, slug: &str, subscriber: Uuid) -> DeliveryRef {
    f.store
        .issue_delivery(slug, subscriber)
        .await
        .unwrap()
        .expect("the delivery of that issue")
}

fn event(key: u8, d: DeliveryRef, class: BounceClass, at: i64) -> NewBounceEvent {
    NewBounceEvent {
        report_key: [key; 32],
        subscriber_id: d.subscriber_id,
        delivery: Some(d),
        class,
        status: Some("5.1.1".into()),
        reply_code: Some("550".into()),
        diagnostic: Some("user unknown".into()),
        feedback_type: None,
        matched_by: MatchedBy::Verp,
        received_at: at,
    }
}

async fn status_of(f: &Fixture, i: usize) -> SubscriberStatus {
    let email = format!("r{i}@example.com");
    f.store
        .subscriber_by_email(&email)
        .await
        .unwrap()
        .expect("subscriber")
        .status
}

#[tokio::test]
async fn a_hard_bounce_suppresses_once_and_the_same_report_twice_changes_nothing() {
    let f = fixture(2).await;
    let issue = send_issue(&f, "2026-11-27", 10).await;
    let d = delivery(&f, "2026-11-27", f.subscribers[0]).await;
    assert_eq!(d.message_id, issue);
    let e = event(1, d, BounceClass::Hard, 20);
    assert_eq!(
        f.store.record_bounce(&e, 3, 30 * DAY).await.unwrap(),
        BounceEffect::Suppressed(SubscriberStatus::Bounced)
    );
    assert_eq!(
        f.store.record_bounce(&e, 3, 30 * DAY).await.unwrap(),
        BounceEffect::Duplicate
    );
    assert_eq!(status_of(&f, 0).await, SubscriberStatus::Bounced);
    assert_eq!(status_of(&f, 1).await, SubscriberStatus::Active);
    assert_eq!(
        f.store.bounce_counts(issue).await.unwrap(),
        BounceCounts {
            hard: 1,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn a_complaint_marks_the_reader_complained_and_cancels_their_queued_mail() {
    let f = fixture(1).await;
    send_issue(&f, "2026-11-27", 10).await;
    let next = support::seed::issue(&f.store, "2026-11-28").await;
    f.store.enqueue_now(next, 11).await.unwrap();
    let d = delivery(&f, "2026-11-27", f.subscribers[0]).await;
    let mut e = event(2, d, BounceClass::Complaint, 20);
    e.feedback_type = Some("abuse".into());
    assert_eq!(
        f.store.record_bounce(&e, 3, 30 * DAY).await.unwrap(),
        BounceEffect::Suppressed(SubscriberStatus::Complained)
    );
    assert_eq!(status_of(&f, 0).await, SubscriberStatus::Complained);
    let c = f.store.queue_counts(Some(next)).await.unwrap();
    assert_eq!((c.queued, c.cancelled), (0, 1), "{c:?}");
}

#[tokio::test]
async fn a_refusal_is_counted_and_suppresses_nobody() {
    let f = fixture(1).await;
    let issue = send_issue(&f, "2026-11-27", 10).await;
    let d = delivery(&f, "2026-11-27", f.subscribers[0]).await;
    assert_eq!(
        f.store
            .record_bounce(&event(3, d, BounceClass::Refused, 20), 3, 30 * DAY)
            .await
            .unwrap(),
        BounceEffect::Recorded
    );
    assert_eq!(status_of(&f, 0).await, SubscriberStatus::Active);
    assert_eq!(f.store.bounce_counts(issue).await.unwrap().refused, 1);
}

#[tokio::test]
async fn three_soft_bounces_in_a_row_suppress_and_a_delivery_between_resets_the_streak() {
    let f = fixture(2).await;
    let r0 = f.subscribers[0];
    let r1 = f.subscribers[1];
    let slugs = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"];
    for (i, slug) in slugs.iter().enumerate() {
        send_issue(&f, slug, (i as i64 + 1) * DAY).await;
    }
    let soft = |key, slug: &'static str, who| {
        let f = &f;
        async move {
            let d = delivery(f, slug, who).await;
            f.store
                .record_bounce(&event(key, d, BounceClass::Soft, 5 * DAY), 3, 30 * DAY)
                .await
                .unwrap()
        }
    };
    // Reader 0: the last three issues all bounced softly: suppressed on the third.
    assert_eq!(soft(10, "2026-11-02", r0).await, BounceEffect::Recorded);
    assert_eq!(soft(11, "2026-11-03", r0).await, BounceEffect::Recorded);
    assert_eq!(
        soft(12, "2026-11-04", r0).await,
        BounceEffect::Suppressed(SubscriberStatus::Bounced)
    );
    // Reader 1: issues 1, 2 and 4 bounced, issue 3 was delivered: the streak is broken.
    assert_eq!(soft(20, "2026-11-01", r1).await, BounceEffect::Recorded);
    assert_eq!(soft(21, "2026-11-02", r1).await, BounceEffect::Recorded);
    assert_eq!(soft(22, "2026-11-04", r1).await, BounceEffect::Recorded);
    assert_eq!(status_of(&f, 1).await, SubscriberStatus::Active);
}

#[tokio::test]
async fn soft_bounces_older_than_the_window_do_not_count() {
    let f = fixture(1).await;
    let r0 = f.subscribers[0];
    let slugs = ["2026-09-01", "2026-11-02", "2026-11-03"];
    for (slug, at) in slugs.iter().zip([1, 62, 63]) {
        send_issue(&f, slug, at * DAY).await;
    }
    for (key, slug) in [(30u8, slugs[0]), (31, slugs[1]), (32, slugs[2])] {
        let d = delivery(&f, slug, r0).await;
        let effect = f
            .store
            .record_bounce(&event(key, d, BounceClass::Soft, 64 * DAY), 3, 30 * DAY)
            .await
            .unwrap();
        assert_eq!(effect, BounceEffect::Recorded, "{slug}");
    }
    assert_eq!(status_of(&f, 0).await, SubscriberStatus::Active);
}

#[tokio::test]
async fn a_report_found_by_recipient_points_at_the_latest_sent_issue() {
    let f = fixture(1).await;
    send_issue(&f, "2026-11-01", DAY).await;
    let latest = send_issue(&f, "2026-11-02", 2 * DAY).await;
    let (subscriber, d) = f
        .store
        .latest_delivery_to("r0@example.com")
        .await
        .unwrap()
        .expect("known address");
    assert_eq!(subscriber, f.subscribers[0]);
    assert_eq!(d.map(|d| d.message_id), Some(latest));
    assert!(
        f.store
            .latest_delivery_to("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
}
