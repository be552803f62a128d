//! Rows the store tests start from, written through the store's own API.

use morningpost::domain::{SubscriberEmail, TokenKey};
use morningpost::store::{
    AddOutcome, MessageKind, NewMessage, NewSubscriber, Store, SubscriberStatus,
};
use uuid::Uuid;

/// `n` active subscribers `r0@example.com`…, their unsubscribe hashes made with `key`.
pub async fn active_subscribers(store: &Store, key: &TokenKey, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let email = SubscriberEmail::parse(&format!("r{i}@example.com")).unwrap();
        let id = Uuid::now_v7();
        let new = NewSubscriber {
            id,
            email: &email,
            name: None,
            time_zone: None,
            status: SubscriberStatus::Active,
            source: morningpost::store::Source::Admin,
            consent: Some(morningpost::store::Consent::Admin),
            consent_note: None,
            unsubscribe_hash: key.unsubscribe_token(id).hash(),
            now: 0,
        };
        assert_eq!(store.add_subscriber(&new).await.unwrap(), AddOutcome::Added);
        ids.push(id);
    }
    ids
}

/// A small issue with this slug (also its date), stored and not queued.
pub async fn issue(store: &Store, slug: &str) -> Uuid {
    let id = Uuid::now_v7();
    store
        .store_issue(&NewMessage {
            id,
            kind: MessageKind::Issue,
            slug: Some(slug),
            subject: "The issue",
            title: "The issue",
            issue_date: Some(slug.to_owned()),
            html: "<p>Hello</p>",
            text: "Hello",
            web_html: None,
            source_hash: NewMessage::content_hash(slug, "<p>Hello</p>", "Hello"),
            now: 0,
        })
        .await
        .unwrap();
    id
}

/// An issue with this slug, stored, queued for every active reader and recorded sent at `at`
/// (what a whole send leaves behind, for the tests of what comes after it).
pub async fn sent_issue(store: &Store, slug: &str, at: i64) -> Uuid {
    let id = issue(store, slug).await;
    store.enqueue_now(id, at).await.unwrap();
    let claimed = store.claim(100_000, at + 60_000, at).await.unwrap();
    let records: Vec<_> = claimed
        .iter()
        .map(|c| morningpost::store::OutcomeRecord {
            delivery_id: c.delivery_id,
            attempt: c.attempt,
            subscriber_id: c.subscriber_id,
            outcome: morningpost::store::Outcome::Sent {
                reply: "250 ok".into(),
            },
        })
        .collect();
    store.record(&records, at).await.unwrap();
    id
}
