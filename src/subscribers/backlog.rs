//! The sign-ups waiting for their confirmation mail, as an operator sees and clears them
//! (`morningpost signups`; docs/architecture.md decision 36).

use std::time::Duration;

use crate::clock::{millis, now_ms};
use crate::store::{ConfirmationBacklog, PurgeReport, Store, StoreError};

/// The backlog now: waiting mail, pending sign-ups, the budget as a worker last saw it.
pub async fn backlog(store: &Store) -> Result<ConfirmationBacklog, StoreError> {
    store.confirmation_backlog(now_ms()).await
}

/// Drops the waiting confirmation mail of sign-ups made more than `age` ago, and the
/// unconfirmed sign-ups among them that have nothing else on record.
pub async fn purge_pending(store: &Store, age: Duration) -> Result<PurgeReport, StoreError> {
    store.purge_pending(now_ms() - millis(age)).await
}

/// The backlog in lines for `status` and `signups backlog`; none when nothing waits and the
/// budget is not exhausted.
pub fn describe(b: &ConfirmationBacklog, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    if b.waiting == 0 && b.exhausted_since.is_none() {
        return lines;
    }
    let oldest = b
        .oldest_waiting_since
        .map(|t| format!(", the oldest queued {} ago", ago(now - t)))
        .unwrap_or_default();
    lines.push(format!(
        "confirmation mail waiting: {} ({} sign-ups pending{oldest})",
        b.waiting, b.pending
    ));
    match (b.per_hour, b.exhausted_since) {
        (Some(per_hour), Some(since)) => lines.push(format!(
            "budget of {per_hour}/hour exhausted since {} ({} ago): the rest waits, oldest first; \
             `morningpost signups purge --pending-older-than AGE` drops it",
            crate::clock::rfc3339(since),
            ago(now - since)
        )),
        (Some(per_hour), None) => lines.push(format!("budget of {per_hour}/hour not exhausted")),
        _ => lines.push("no worker has looked at the budget yet".to_owned()),
    }
    lines
}

/// "3 min", "2 h 5 min", "40 s".
fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_budget_is_said_with_its_time_and_the_fix() {
        let b = ConfirmationBacklog {
            waiting: 12,
            oldest_waiting_since: Some(1_000),
            pending: 15,
            per_hour: Some(200),
            exhausted_since: Some(61_000),
            looked_at: Some(62_000),
        };
        let lines = describe(&b, 3_661_000);
        assert_eq!(
            lines[0],
            "confirmation mail waiting: 12 (15 sign-ups pending, the oldest queued 1 h 1 min ago)"
        );
        assert!(
            lines[1].starts_with(
                "budget of 200/hour exhausted since 1970-01-01T00:01:01Z (1 h 0 min ago)"
            ),
            "{}",
            lines[1]
        );
        assert!(describe(&ConfirmationBacklog::default(), 0).is_empty());
    }
}
