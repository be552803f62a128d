//! Rows the store tests start from, written through the store's own API.

use morningpost::domain::{SubscriberEmail, TimeZoneName, TokenKey};
use morningpost::store::{
    AddOutcome, MessageKind, NewConfirmation, NewMessage, NewSubscriber, Store, SubscribeRequest,
    SubscriberStatus,
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

/// A stored confirmation-mail template (its content does not matter to the store).
pub async fn confirmation_template(store: &Store) -> Uuid {
    store
        .ensure_template(&confirmation_message())
        .await
        .unwrap()
}

/// The message `confirmation_template` stores, with a fresh id each time.
pub fn confirmation_message() -> NewMessage<'static> {
    NewMessage {
        id: Uuid::now_v7(),
        kind: MessageKind::Confirmation,
        slug: None,
        subject: "Confirm",
        title: "Confirm",
        issue_date: None,
        html: "h",
        text: "t",
        web_html: None,
        source_hash: [9; 32],
        now: 0,
    }
}

/// A form sign-up at `now`, made with the tests' key: its link lives 1 s, a pending address
/// is mailed again after 10 minutes, a bounced one may not sign up.
pub fn sign_up(email: &str, time_zone: Option<&str>, template: Uuid, now: i64) -> SubscribeRequest {
    let key = TokenKey::from_bytes([3; 32]);
    let id = Uuid::now_v7();
    let confirmation = Uuid::new_v4();
    let email = SubscriberEmail::parse(email).unwrap();
    SubscribeRequest {
        new_id: id,
        new_unsubscribe_hash: key.unsubscribe_token(id).hash(),
        email_hash: key.email_hash(&email),
        source: morningpost::store::Source::Form,
        email,
        name: None,
        time_zone: time_zone.map(|z| TimeZoneName::parse(z).unwrap()),
        confirmation: NewConfirmation {
            id: confirmation,
            hash: key.confirmation_token(confirmation).hash(),
            expires_at: now + 1_000,
        },
        confirmation_message: template,
        resend_after_ms: 600_000,
        allow_bounced: false,
        now,
    }
}
