//! The sender's reputation (both backends): an issue whose complaint rate passes
//! `pause_complaint_rate_percent`, or whose hard-bounce rate passes
//! `pause_bounce_rate_percent`, after 1,000 deliveries, is paused with the reason.

mod support;

use morningpost::bounce::{Class, Kind, Recipient, Report};
use morningpost::domain::TokenKey;
use morningpost::feedback::Ingest;
use morningpost::store::{Hold, Store};
use uuid::Uuid;

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// 1,000 readers, an issue sent to each.
async fn sent_issue(store: &Store) -> Uuid {
    let key = TokenKey::from_hex(KEY).unwrap();
    support::seed::active_subscribers(store, &key, 1000).await;
    support::seed::sent_issue(store, "2026-11-27", 1).await
}

/// A report about reader `i`, matched by their address.
fn report(i: usize, kind: Kind, class: Class) -> Report {
    Report {
        kind,
        recipients: vec![Recipient {
            address: Some(format!("r{i}@example.com")),
            status: None,
            reply_code: None,
            diagnostic: None,
            action: None,
            class,
        }],
        feedback_type: (class == Class::Complaint).then(|| "abuse".to_owned()),
        report_addresses: Vec::new(),
        original_message_ids: Vec::new(),
        original_recipients: Vec::new(),
    }
}

#[tokio::test]
async fn a_complaint_rate_past_the_limit_pauses_the_issue() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let issue = sent_issue(&store).await;
    let settings = support::settings(&[("MORNINGPOST_SECRET_KEY", KEY)]);
    let ingest = Ingest::new(&settings, store.clone(), TokenKey::from_hex(KEY).unwrap());
    // 3 of 1,000 is 0.30%: not past 0.3%.
    for i in 0..3 {
        let s = ingest
            .record(
                &report(i, Kind::Complaint, Class::Complaint),
                format!("c{i}").as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!((s.complaints, s.paused.len()), (1, 0), "{s:?}");
    }
    assert_eq!(store.message(issue).await.unwrap().unwrap().send.hold, None);
    let s = ingest
        .record(&report(3, Kind::Complaint, Class::Complaint), b"c3")
        .await
        .unwrap();
    assert_eq!(s.paused.len(), 1, "{s:?}");
    let send = store.message(issue).await.unwrap().unwrap().send;
    assert_eq!(send.hold, Some(Hold::Paused));
    let reason = send.hold_reason.unwrap_or_default();
    assert!(
        reason.contains("complaint rate is 0.40% (4 of 1000)"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_hard_bounce_rate_past_the_limit_pauses_the_issue() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let issue = sent_issue(&store).await;
    let settings = support::settings(&[
        ("MORNINGPOST_SECRET_KEY", KEY),
        ("MORNINGPOST_PAUSE_BOUNCE_RATE_PERCENT", "1"),
    ]);
    let ingest = Ingest::new(&settings, store.clone(), TokenKey::from_hex(KEY).unwrap());
    let mut paused = Vec::new();
    for i in 0..11 {
        let s = ingest
            .record(
                &report(i, Kind::Bounce, Class::Hard),
                format!("h{i}").as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(s.hard, 1);
        paused.extend(s.paused);
    }
    // 10 of 1,000 is 1.00%, not past; the eleventh is.
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!(
        paused[0].contains("hard-bounce rate is 1.10% (11 of 1000)"),
        "{paused:?}"
    );
    assert_eq!(
        store.message(issue).await.unwrap().unwrap().send.hold,
        Some(Hold::Paused)
    );
}
