//! The decisions both backends share, kept apart from their SQL so that SQLite and
//! PostgreSQL cannot drift: what a sign-up does to an address (docs/architecture.md decision 9), what a
//! confirmation does, where a sign-up's time zone goes (decision 26), and how state counts
//! add up.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::subscriber_data::SuppressionReason;
use super::types::{QueueCounts, SubscribeOutcome, SubscribeRequest, SubscriberStatus};
use super::{Result, StoreError};

/// An address's state as a sign-up batch sees it.
#[derive(Clone, Copy)]
pub(super) struct Known {
    pub id: Uuid,
    pub status: SubscriberStatus,
    /// When its last confirmation mail was made.
    pub last_mail: Option<i64>,
}

/// What a batch of sign-ups must write, in request order.
pub(super) struct SignupPlan<'a> {
    pub outcomes: Vec<SubscribeOutcome>,
    /// New pending subscribers (they get `new_id`).
    pub new: Vec<&'a SubscribeRequest>,
    /// Unsubscribed (or allowed bounced) subscribers to make pending again.
    pub reactivate: Vec<(Uuid, &'a SubscribeRequest)>,
    /// A confirmation token and mail for each.
    pub mails: Vec<(Uuid, &'a SubscribeRequest)>,
    /// Per address, the first request of the batch that gave a zone: its zone is stored
    /// where the address has none yet, never over one it has (docs/architecture.md
    /// decision 26).
    pub zones: Vec<&'a SubscribeRequest>,
}

/// Decides every sign-up of a batch from the stored states; a later request for the same
/// address sees what the earlier one did (two sign-ups in one batch → one mail).
pub(super) fn plan_signups<'a>(
    requests: &'a [SubscribeRequest],
    mut known: HashMap<String, Known>,
    suppressed: &HashMap<String, SuppressionReason>,
) -> SignupPlan<'a> {
    let mut plan = SignupPlan {
        outcomes: Vec::with_capacity(requests.len()),
        new: Vec::new(),
        reactivate: Vec::new(),
        mails: Vec::new(),
        zones: Vec::new(),
    };
    let mut zoned = HashSet::new();
    for r in requests {
        let key = r.email.normalized();
        if r.time_zone.is_some() && zoned.insert(key.clone()) {
            plan.zones.push(r);
        }
        // The operator's block holds whatever the reader does; a bounced address whose row
        // was erased is still a bounced address.
        let listed = suppressed.get(&key).copied();
        let blocked = match listed {
            Some(SuppressionReason::Manual) => Some(SubscribeOutcome::Blocked),
            Some(SuppressionReason::Bounced) if !r.allow_bounced => Some(SubscribeOutcome::Bounced),
            _ => None,
        };
        let (id, outcome) = match (blocked, known.get(&key).copied()) {
            (Some(outcome), k) => (k.map_or(r.new_id, |k| k.id), outcome),
            (None, None) => {
                plan.new.push(r);
                (r.new_id, SubscribeOutcome::Created)
            }
            (None, Some(k)) => {
                let outcome = match k.status {
                    SubscriberStatus::Active => SubscribeOutcome::AlreadyActive,
                    SubscriberStatus::Bounced if !r.allow_bounced => SubscribeOutcome::Bounced,
                    SubscriberStatus::Pending
                        if k.last_mail.is_some_and(|t| r.now - t < r.resend_after_ms) =>
                    {
                        SubscribeOutcome::TooSoon
                    }
                    SubscriberStatus::Pending => SubscribeOutcome::Resent,
                    // A complaint is undone only by a new double opt-in, like an unsubscribe.
                    SubscriberStatus::Unsubscribed
                    | SubscriberStatus::Bounced
                    | SubscriberStatus::Complained => {
                        plan.reactivate.push((k.id, r));
                        SubscribeOutcome::Reactivated
                    }
                };
                (k.id, outcome)
            }
        };
        if outcome.queued_mail() {
            plan.mails.push((id, r));
            known.insert(
                key,
                Known {
                    id,
                    status: SubscriberStatus::Pending,
                    last_mail: Some(r.now),
                },
            );
        }
        plan.outcomes.push(outcome);
    }
    plan
}

/// What spending a confirmation token does.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ConfirmStep {
    AlreadyConfirmed,
    /// Too old, or unsubscribed/bounced since the mail went out: a fresh sign-up is needed.
    Expired,
    /// Pending → active, and the subscriber's other tokens are spent.
    Activate,
}

pub(super) fn confirm_step(used: bool, status: SubscriberStatus, expired: bool) -> ConfirmStep {
    match (used, status) {
        (true, _) | (false, SubscriberStatus::Active) => ConfirmStep::AlreadyConfirmed,
        (false, _) if expired => ConfirmStep::Expired,
        (false, SubscriberStatus::Pending) => ConfirmStep::Activate,
        (false, _) => ConfirmStep::Expired,
    }
}

/// Adds one `(state, retrying, count)` row of `kept_counts!` to the counts.
pub(super) fn tally(counts: &mut QueueCounts, state: &str, retrying: bool, n: i64) -> Result<()> {
    match state {
        "queued" => {
            counts.queued += n;
            if retrying {
                counts.retrying += n;
            }
        }
        // In flight, counted from the rows (`kept_counts!`): the kept counts hold these
        // under queued, and retrying when they failed before.
        "sending" => {
            counts.sending += n;
            counts.queued -= n;
            if retrying {
                counts.retrying -= n;
            }
        }
        "sent" => counts.sent += n,
        "failed" => counts.failed += n,
        "cancelled" => counts.cancelled += n,
        "paused" => counts.paused += n,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown delivery state {other:?}"
            )));
        }
    }
    Ok(())
}

/// How many of the most recent sends `status`'s send rate looks at, at most: a walk of a few
/// thousand entries of the `sent_at` index at any speed or size (decision 41).
pub(super) const RATE_SAMPLE: i64 = 5_000;

/// Sends per second: `ours` of the `recent` sends of the last minute (the most recent
/// [`RATE_SAMPLE`] at most); when the sample was full, over the time it spans (from its
/// oldest send to `now`, at least a second) instead of the minute.
pub(super) fn rate_over(recent: i64, oldest: Option<i64>, ours: i64, now: i64) -> f64 {
    let span_ms = match oldest {
        Some(t) if recent >= RATE_SAMPLE => (now - t).clamp(1_000, 60_000),
        _ => 60_000,
    };
    ours as f64 * 1000.0 / span_ms as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SubscriberEmail, TimeZoneName, TokenHash};
    use crate::store::types::NewConfirmation;

    #[test]
    fn the_send_rate_is_over_the_minute_or_over_a_full_sample() {
        // Fewer than a sample in the last minute: over the minute.
        assert_eq!(rate_over(600, Some(1_000), 600, 60_000), 10.0);
        assert_eq!(
            rate_over(600, Some(1_000), 150, 60_000),
            2.5,
            "a quarter ours"
        );
        assert_eq!(rate_over(0, None, 0, 60_000), 0.0);
        // A full sample spanning 2 s: 2,500 a second, whatever the minute held.
        assert_eq!(
            rate_over(RATE_SAMPLE, Some(98_000), RATE_SAMPLE, 100_000),
            2_500.0
        );
        // All at once (or a clock step): at least a second.
        assert_eq!(
            rate_over(RATE_SAMPLE, Some(100_000), RATE_SAMPLE, 100_000),
            5_000.0
        );
    }

    const MINUTE: i64 = 60_000;

    fn request(email: &str, now: i64, allow_bounced: bool) -> SubscribeRequest {
        SubscribeRequest {
            new_id: Uuid::new_v4(),
            new_unsubscribe_hash: TokenHash([1; 32]),
            email: SubscriberEmail::parse(email).unwrap(),
            email_hash: [3; 32],
            source: crate::store::Source::Form,
            name: None,
            time_zone: None,
            confirmation: NewConfirmation {
                id: Uuid::new_v4(),
                hash: TokenHash([2; 32]),
                expires_at: now + 60 * MINUTE,
            },
            confirmation_message: Uuid::nil(),
            resend_after_ms: 10 * MINUTE,
            allow_bounced,
            now,
        }
    }

    fn known(status: SubscriberStatus, last_mail: Option<i64>) -> Known {
        Known {
            id: Uuid::new_v4(),
            status,
            last_mail,
        }
    }

    #[test]
    fn each_state_gets_its_sign_up_outcome() {
        use SubscriberStatus::*;
        let now = 100 * MINUTE;
        let mut states = HashMap::new();
        states.insert("active@example.com".to_owned(), known(Active, None));
        states.insert(
            "recent@example.com".to_owned(),
            known(Pending, Some(now - MINUTE)),
        );
        states.insert(
            "stale@example.com".to_owned(),
            known(Pending, Some(now - 11 * MINUTE)),
        );
        states.insert("left@example.com".to_owned(), known(Unsubscribed, Some(0)));
        states.insert("dead@example.com".to_owned(), known(Bounced, None));
        let requests = [
            "new@example.com",
            "active@example.com",
            "recent@example.com",
            "stale@example.com",
            "left@example.com",
            "dead@example.com",
        ]
        .map(|e| request(e, now, false));
        let plan = plan_signups(&requests, states.clone(), &HashMap::new());
        use SubscribeOutcome as O;
        assert_eq!(
            plan.outcomes,
            [
                O::Created,
                O::AlreadyActive,
                O::TooSoon,
                O::Resent,
                O::Reactivated,
                O::Bounced
            ]
        );
        assert_eq!(plan.new.len(), 1);
        assert_eq!(plan.reactivate.len(), 1);
        assert_eq!(plan.reactivate[0].0, states["left@example.com"].id);
        let mailed: Vec<&str> = plan.mails.iter().map(|(_, r)| r.email.as_str()).collect();
        assert_eq!(
            mailed,
            ["new@example.com", "stale@example.com", "left@example.com"]
        );

        // With `allow_bounced_resubscribe`, a bounced address may try again.
        let again = [request("dead@example.com", now, true)];
        let plan = plan_signups(&again, states, &HashMap::new());
        assert_eq!(plan.outcomes, [O::Reactivated]);
        assert_eq!(plan.mails.len(), 1);
    }

    #[test]
    fn a_batch_sees_its_own_earlier_requests() {
        let now = 100 * MINUTE;
        let requests = [
            request("Twice@example.com", now, false),
            request("twice@example.com", now, false),
        ];
        let plan = plan_signups(&requests, HashMap::new(), &HashMap::new());
        assert_eq!(
            plan.outcomes,
            [SubscribeOutcome::Created, SubscribeOutcome::TooSoon],
            "one address, one mail"
        );
        assert_eq!(plan.new.len(), 1);
        assert_eq!(plan.mails.len(), 1);
        assert_eq!(plan.mails[0].0, requests[0].new_id);
    }

    #[test]
    fn the_first_zone_a_batch_gives_an_address_is_the_one_offered() {
        let now = 100 * MINUTE;
        let zone = |z: &str| Some(TimeZoneName::parse(z).unwrap());
        let mut requests = [
            request("a@example.com", now, false),
            request("A@example.com", now, false),
            request("A@EXAMPLE.COM", now, false),
            request("b@example.com", now, false),
            request("c@example.com", now, false),
        ];
        requests[1].time_zone = zone("Europe/Berlin");
        requests[2].time_zone = zone("Asia/Tokyo");
        requests[4].time_zone = zone("America/New_York");
        let mut states = HashMap::new();
        states.insert(
            "c@example.com".to_owned(),
            known(SubscriberStatus::Active, None),
        );
        let plan = plan_signups(&requests, states, &HashMap::new());
        let zones: Vec<(String, Option<&str>)> = plan
            .zones
            .iter()
            .map(|r| {
                (
                    r.email.normalized(),
                    r.time_zone.as_ref().map(|z| z.as_str()),
                )
            })
            .collect();
        assert_eq!(
            zones,
            [
                ("a@example.com".to_owned(), Some("Europe/Berlin")),
                ("c@example.com".to_owned(), Some("America/New_York"))
            ],
            "the first given zone per address, known or new; none offered for b"
        );
    }

    #[test]
    fn confirmation_steps() {
        use SubscriberStatus::*;
        assert_eq!(confirm_step(false, Pending, false), ConfirmStep::Activate);
        assert_eq!(confirm_step(false, Pending, true), ConfirmStep::Expired);
        assert_eq!(
            confirm_step(true, Pending, false),
            ConfirmStep::AlreadyConfirmed
        );
        assert_eq!(
            confirm_step(false, Active, true),
            ConfirmStep::AlreadyConfirmed
        );
        assert_eq!(
            confirm_step(false, Unsubscribed, false),
            ConfirmStep::Expired
        );
        assert_eq!(confirm_step(false, Bounced, false), ConfirmStep::Expired);
    }

    #[test]
    fn the_suppression_list_decides_before_the_row() {
        let requests = vec![
            request("blocked@example.com", 0, true),
            request("erased-bounce@example.com", 0, false),
            request("erased-complaint@example.com", 0, false),
        ];
        let suppressed = HashMap::from([
            ("blocked@example.com".to_owned(), SuppressionReason::Manual),
            (
                "erased-bounce@example.com".to_owned(),
                SuppressionReason::Bounced,
            ),
            (
                "erased-complaint@example.com".to_owned(),
                SuppressionReason::Complained,
            ),
        ]);
        let plan = plan_signups(&requests, HashMap::new(), &suppressed);
        assert_eq!(
            plan.outcomes,
            [
                SubscribeOutcome::Blocked,
                SubscribeOutcome::Bounced,
                // A new double opt-in is how a complainer (or an erased reader) comes back.
                SubscribeOutcome::Created
            ]
        );
        assert_eq!(plan.new.len(), 1, "only the complainer gets a pending row");
        assert_eq!(plan.mails.len(), 1);
    }
}
