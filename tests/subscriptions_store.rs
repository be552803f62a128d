//! Double opt-in at the store: every state of an address, many sign-ups in one transaction,
//! and confirmation tokens.

mod support;

use support::seed::sign_up;

use morningpost::domain::{SubscriberEmail, TokenKey};
use morningpost::store::{
    ConfirmOutcome, ConfirmedBy, LeftVia, Outcome, OutcomeRecord, Store, SubscribeOutcome,
    SubscribeRequest, SubscriberStatus,
};
use uuid::Uuid;

async fn store() -> ((support::db::TestDb, tempfile::TempDir), Store, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let id = support::seed::confirmation_template(&store).await;
    assert_eq!(
        support::seed::confirmation_template(&store).await,
        id,
        "same content, same template"
    );
    ((db, dir), store, id)
}

#[tokio::test]
async fn a_batch_handles_repeats_of_one_address_in_order() {
    let (_d, store, t) = store().await;
    let batch = vec![
        sign_up("a@example.com", None, t, 10),
        sign_up("A@example.com", None, t, 10),
        sign_up("b@example.com", None, t, 10),
    ];
    let outcomes = store.subscribe_batch(&batch).await.unwrap();
    assert_eq!(
        outcomes,
        vec![
            SubscribeOutcome::Created,
            SubscribeOutcome::TooSoon,
            SubscribeOutcome::Created
        ]
    );
    assert_eq!(
        store
            .subscribers(Some(SubscriberStatus::Pending))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.queue_counts(None).await.unwrap().queued,
        2,
        "one confirmation mail each"
    );
    // After the resend interval, a fresh mail; never more often.
    assert_eq!(
        store
            .subscribe(&sign_up("a@example.com", None, t, 600_010))
            .await
            .unwrap(),
        SubscribeOutcome::Resent
    );
    assert_eq!(
        store
            .subscribe(&sign_up("a@example.com", None, t, 600_020))
            .await
            .unwrap(),
        SubscribeOutcome::TooSoon
    );
}

#[tokio::test]
async fn confirmation_tokens_are_single_use_and_expire() {
    let (_d, store, t) = store().await;
    let key = TokenKey::from_bytes([3; 32]);
    let r = sign_up("a@example.com", None, t, 10);
    let hash = key.confirmation_token(r.confirmation.id).hash();
    store.subscribe(&r).await.unwrap();
    assert_eq!(
        store
            .confirm(&hash, &ConfirmedBy::default(), 20)
            .await
            .unwrap(),
        ConfirmOutcome::Confirmed {
            email: "a@example.com".into()
        }
    );
    assert_eq!(
        store
            .confirm(&hash, &ConfirmedBy::default(), 30)
            .await
            .unwrap(),
        ConfirmOutcome::AlreadyConfirmed
    );
    assert_eq!(
        store
            .subscribe(&sign_up("a@example.com", None, t, 40))
            .await
            .unwrap(),
        SubscribeOutcome::AlreadyActive
    );
    assert_eq!(
        store
            .subscribers(Some(SubscriberStatus::Active))
            .await
            .unwrap()
            .len(),
        1,
        "never demoted"
    );

    let late = sign_up("late@example.com", None, t, 10);
    let late_hash = key.confirmation_token(late.confirmation.id).hash();
    store.subscribe(&late).await.unwrap();
    assert_eq!(
        store
            .confirm(&late_hash, &ConfirmedBy::default(), 1_010)
            .await
            .unwrap(),
        ConfirmOutcome::Expired {
            email: "late@example.com".into()
        }
    );
    assert_eq!(
        store
            .confirm(
                &TokenKey::from_bytes([4; 32])
                    .confirmation_token(late.confirmation.id)
                    .hash(),
                &ConfirmedBy::default(),
                20
            )
            .await
            .unwrap(),
        ConfirmOutcome::Unknown,
        "a token made with another key is unknown"
    );
}

#[tokio::test]
async fn an_unsubscribed_address_signs_up_again_through_confirmation() {
    let (_d, store, t) = store().await;
    store
        .subscribe(&sign_up("u@example.com", None, t, 10))
        .await
        .unwrap();
    let u = store
        .subscriber_by_email("u@example.com")
        .await
        .unwrap()
        .unwrap();
    store.unsubscribe(u.id, LeftVia::Link, 20).await.unwrap();
    assert_eq!(
        store
            .subscribe(&sign_up("u@example.com", None, t, 700_000))
            .await
            .unwrap(),
        SubscribeOutcome::Reactivated
    );
    assert_eq!(
        store
            .subscriber_by_email("u@example.com")
            .await
            .unwrap()
            .unwrap()
            .status,
        SubscriberStatus::Pending
    );
}

/// Makes `email` a subscriber whose issue mail hard-bounced (550 5.1.1 at RCPT).
async fn bounced(store: &Store, template: Uuid, email: &str) -> Uuid {
    let key = TokenKey::from_bytes([3; 32]);
    let r = sign_up(email, None, template, 10);
    store.subscribe(&r).await.unwrap();
    let hash = key.confirmation_token(r.confirmation.id).hash();
    assert!(matches!(
        store
            .confirm(&hash, &ConfirmedBy::default(), 20)
            .await
            .unwrap(),
        ConfirmOutcome::Confirmed { .. }
    ));
    let issue = support::seed::issue(store, "2026-11-27").await;
    store.enqueue_now(issue, 30).await.unwrap();
    // The confirmation mail (priority 10) comes first: send it, then bounce the issue.
    for c in store.claim(10, 1_000, 40).await.unwrap() {
        let outcome = if c.token_id.is_some() {
            Outcome::Sent {
                reply: "250 ok".into(),
            }
        } else {
            Outcome::Failed {
                reply: "550 5.1.1 no such user".into(),
                bounce: true,
            }
        };
        let record = OutcomeRecord {
            delivery_id: c.delivery_id,
            attempt: c.attempt,
            subscriber_id: c.subscriber_id,
            outcome,
        };
        assert_eq!(store.record(&[record], 50).await.unwrap(), 0);
    }
    let s = store.subscriber_by_email(email).await.unwrap().unwrap();
    assert_eq!(s.status, SubscriberStatus::Bounced);
    s.id
}

#[tokio::test]
async fn a_bounced_address_stays_bounced_when_unsubscribed_and_cannot_be_signed_up_again() {
    let (_d, store, t) = store().await;
    let id = bounced(&store, t, "gone@example.com").await;
    assert!(
        !store.unsubscribe(id, LeftVia::Link, 60).await.unwrap(),
        "an old one-click link changes nothing"
    );
    let status = |store: Store| async move {
        store
            .subscriber_by_email("gone@example.com")
            .await
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(status(store.clone()).await, SubscriberStatus::Bounced);
    let queued_before = store.queue_counts(None).await.unwrap().queued;
    assert_eq!(
        store
            .subscribe(&sign_up("gone@example.com", None, t, 700_000))
            .await
            .unwrap(),
        SubscribeOutcome::Bounced
    );
    assert_eq!(
        store.queue_counts(None).await.unwrap().queued,
        queued_before,
        "no confirmation mail to a known-dead mailbox"
    );
    assert_eq!(status(store.clone()).await, SubscriberStatus::Bounced);
}

#[tokio::test]
async fn allow_bounced_resubscribe_lets_a_bounced_address_confirm_again() {
    let (_d, store, t) = store().await;
    bounced(&store, t, "back@example.com").await;
    let queued_before = store.queue_counts(None).await.unwrap().queued;
    let again = SubscribeRequest {
        allow_bounced: true,
        ..sign_up("back@example.com", None, t, 700_000)
    };
    assert_eq!(
        store.subscribe(&again).await.unwrap(),
        SubscribeOutcome::Reactivated
    );
    assert_eq!(
        store.queue_counts(None).await.unwrap().queued,
        queued_before + 1,
        "a confirmation mail is queued"
    );
    let s = store
        .subscriber_by_email("back@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.status,
        SubscriberStatus::Pending,
        "active only after confirming"
    );
}

/// An erased address is known only by its keyed hash. Signing up again is the reader's new
/// double opt-in: they are pending (never mailed an issue) until they confirm, and the
/// confirmation lifts the entry. The operator's block holds through all of it.
#[tokio::test]
async fn an_erased_reader_comes_back_only_through_a_new_double_opt_in() {
    let ((db, _dir), store, t) = store().await;
    let key = TokenKey::from_bytes([3; 32]);
    let back = SubscriberEmail::parse("back@example.com").unwrap();
    let blocked = SubscriberEmail::parse("blocked@example.com").unwrap();
    for (email, now) in [(&back, 10), (&blocked, 11)] {
        let r = sign_up(email.as_str(), None, t, now);
        store.subscribe(&r).await.unwrap();
        store
            .confirm(
                &r.confirmation.hash,
                &ConfirmedBy::new(Some("203.0.113.7".into()), Some("Agent\u{7}/1")),
                now + 1,
            )
            .await
            .unwrap();
    }
    let record = store
        .subscriber_record("back@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.subscriber.confirm_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        record.subscriber.confirm_user_agent.as_deref(),
        Some("Agent/1"),
        "control characters are not kept"
    );
    assert_eq!(
        record.subscriber.consent,
        Some(morningpost::store::Consent::DoubleOptIn)
    );

    assert_eq!(
        store
            .suppress(&blocked.normalized(), &key.email_hash(&blocked), 20)
            .await
            .unwrap(),
        None
    );
    for email in [&back, &blocked] {
        let erased = store
            .erase(&email.normalized(), &key.email_hash(email), 30)
            .await
            .unwrap();
        assert!(erased.subscriber);
        assert_eq!(erased.confirmation_mails, 1);
    }

    // The blocked address is refused outright; the erased one gets a confirmation mail.
    let again = sign_up("Back@Example.com", None, t, 40);
    let blocked_again = sign_up("blocked@example.com", None, t, 40);
    assert_eq!(
        store
            .subscribe_batch(&[again.clone(), blocked_again])
            .await
            .unwrap(),
        [SubscribeOutcome::Created, SubscribeOutcome::Blocked]
    );
    assert!(
        store
            .subscriber_by_email("blocked@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // Pending, and suppressed while pending even if its row said otherwise.
    let issue = support::seed::issue(&store, "2026-11-28").await;
    let set_status = |status: &str| {
        format!("UPDATE subscribers SET status = '{status}' WHERE email_key = 'back@example.com'")
    };
    support::db::execute(&db.url, &set_status("active")).await;
    assert_eq!(
        store.enqueue_now(issue, 50).await.unwrap(),
        0,
        "the entry holds"
    );
    support::db::execute(&db.url, &set_status("pending")).await;
    store
        .confirm(&again.confirmation.hash, &ConfirmedBy::default(), 60)
        .await
        .unwrap();
    let issue = support::seed::issue(&store, "2026-11-29").await;
    assert_eq!(
        store.enqueue_now(issue, 70).await.unwrap(),
        1,
        "confirmed: the entry is lifted and the reader mailed"
    );
    let known = store
        .known_among(&[(blocked.normalized(), key.email_hash(&blocked))])
        .await
        .unwrap();
    assert_eq!(
        known.suppressed.get("blocked@example.com"),
        Some(&morningpost::store::SuppressionReason::Manual),
        "the operator's block is still there, as a hash"
    );
    assert!(known.erased.contains("blocked@example.com"));
}
