//! Relay failures are not recipient failures (docs/architecture.md decision 4): when the relay
//! refuses us (no connection, TLS, AUTH, a refusal at EHLO or MAIL FROM, relaying denied),
//! every message would fail alike. The row goes back to the queue and never fails for it,
//! the relay is taken out for a backoff (capped) while the others take its share
//! (queue/relays.rs), and after `threshold` failures in a row with no other relay to turn
//! to, the issue being sent is paused for the operator. One of these per relay.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use crate::clock::now_ms;

/// The first pause after a relay failure; it doubles with each failure in a row.
const FIRST_BACKOFF_MS: i64 = 250;
/// The longest pause between tries while the relay fails.
const MAX_BACKOFF_MS: i64 = 60_000;

pub(super) struct RelayHealth {
    consecutive: AtomicU32,
    /// No slot starts a send before this instant (ms, local clock).
    blocked_until: AtomicI64,
    threshold: u32,
}

/// What one relay failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RelayFailure {
    /// When the row may be tried again.
    pub retry_at: i64,
    /// The failures in a row so far, this one included.
    pub in_a_row: u32,
    /// Whether the send must now be paused.
    pub pause: bool,
}

impl RelayHealth {
    pub fn new(threshold: u32) -> Self {
        Self {
            consecutive: AtomicU32::new(0),
            blocked_until: AtomicI64::new(0),
            threshold: threshold.max(1),
        }
    }

    /// Counts a failure and blocks every slot for the backoff it earns.
    pub fn failed(&self) -> RelayFailure {
        let n = self
            .consecutive
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        let now = now_ms();
        let retry_at = now.saturating_add(backoff_ms(n));
        self.blocked_until.fetch_max(retry_at, Ordering::AcqRel);
        RelayFailure {
            retry_at,
            in_a_row: n,
            pause: n >= self.threshold,
        }
    }

    /// The relay answered as a relay should (even a refusal of one recipient): the streak
    /// ends.
    /// Returns whether it was failing until now.
    pub fn worked(&self) -> bool {
        let was_failing = self.consecutive.swap(0, Ordering::AcqRel) > 0;
        if was_failing {
            self.blocked_until.store(0, Ordering::Release);
        }
        was_failing
    }

    /// After the send was paused, counting starts again (a resumed send gets the full
    /// `threshold` of tries before it is paused again).
    pub fn restart_count(&self) {
        self.consecutive.store(0, Ordering::Release);
    }

    /// How long the relay is still out after its last failure; `None` when it may be used.
    pub fn blocked_for(&self, now: i64) -> Option<Duration> {
        let wait = self.blocked_until.load(Ordering::Acquire) - now;
        (wait > 0).then(|| Duration::from_millis(wait.unsigned_abs()))
    }
}

/// `FIRST_BACKOFF_MS · 2^(n−1)`, capped at `MAX_BACKOFF_MS`.
fn backoff_ms(n: u32) -> i64 {
    let doublings = n.saturating_sub(1).min(20);
    FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff_ms(1), 250);
        assert_eq!(backoff_ms(2), 500);
        assert_eq!(backoff_ms(5), 4_000);
        assert_eq!(backoff_ms(9), 60_000);
        assert_eq!(backoff_ms(u32::MAX), 60_000);
    }

    #[test]
    fn the_threshold_pauses_and_a_working_relay_ends_the_streak() {
        let h = RelayHealth::new(3);
        assert!(!h.failed().pause);
        assert!(!h.failed().pause);
        let third = h.failed();
        assert!(third.pause && third.in_a_row == 3);
        h.worked();
        assert_eq!(h.failed().in_a_row, 1);
        h.restart_count();
        assert_eq!(h.failed().in_a_row, 1);
    }
}
