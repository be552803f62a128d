//! Relay failures are not recipient failures (docs/architecture.md decision 4): when the relay
//! refuses us (no connection, TLS, AUTH, a refusal at EHLO or MAIL FROM, relaying denied),
//! every message would fail alike. The row goes back to the queue and never fails for it,
//! the relay is taken out for a backoff (capped) while the others take its share
//! (queue/relays.rs), and after `threshold` failures in a row with no other relay to turn
//! to, the issue being sent is paused for the operator. One of these per relay.
//!
//! A failure counts once per try: the sends that were already on their way when the relay
//! was taken out fail too, and are the same outage, not more of it (eight slots failing at
//! once would otherwise double the backoff eight times, to a minute, in one instant).

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::now_ms;

/// The first pause after a relay failure; it doubles with each failure in a row.
const FIRST_BACKOFF_MS: i64 = 250;
/// The longest pause between tries while the relay fails.
const MAX_BACKOFF_MS: i64 = 60_000;

pub(super) struct RelayHealth {
    state: Mutex<State>,
    threshold: u32,
}

#[derive(Default)]
struct State {
    /// Tries in a row that failed.
    consecutive: u32,
    /// No send starts before this instant (ms, local clock).
    blocked_until: i64,
}

/// What one relay failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RelayFailure {
    /// The failures in a row so far, this one included.
    pub in_a_row: u32,
    /// Whether this failure was a new try (not a send started before the relay was out).
    pub counted: bool,
    /// Whether the send must now be paused.
    pub pause: bool,
}

impl RelayHealth {
    pub fn new(threshold: u32) -> Self {
        Self {
            state: Mutex::new(State::default()),
            threshold: threshold.max(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a failure (unless the relay is already out) and takes the relay out for the
    /// backoff it earns.
    pub fn failed(&self) -> RelayFailure {
        self.failed_at(now_ms())
    }

    fn failed_at(&self, now: i64) -> RelayFailure {
        let mut s = self.state();
        let counted = s.blocked_until <= now;
        if counted {
            s.consecutive = s.consecutive.saturating_add(1);
            s.blocked_until = now.saturating_add(backoff_ms(s.consecutive));
        }
        RelayFailure {
            in_a_row: s.consecutive,
            counted,
            pause: counted && s.consecutive >= self.threshold,
        }
    }

    /// The relay answered as a relay should (even a refusal of one recipient): the streak
    /// ends. Returns whether it was failing until now.
    pub fn worked(&self) -> bool {
        let mut s = self.state();
        let was_failing = s.consecutive > 0;
        *s = State::default();
        was_failing
    }

    /// After the send was paused, counting starts again (a resumed send gets the full
    /// `threshold` of tries before it is paused again).
    pub fn restart_count(&self) {
        self.state().consecutive = 0;
    }

    /// How long the relay is still out after its last failure; `None` when it may be used.
    pub fn blocked_for(&self, now: i64) -> Option<Duration> {
        let wait = self.state().blocked_until - now;
        (wait > 0).then(|| Duration::from_millis(wait.unsigned_abs()))
    }

    /// When it may be used again (now or earlier when it may be used now).
    pub fn usable_at(&self) -> i64 {
        self.state().blocked_until
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
    fn sends_failing_while_the_relay_is_out_are_the_same_outage() {
        let h = RelayHealth::new(10);
        let first = h.failed_at(1_000);
        assert_eq!(
            (first.in_a_row, first.counted, h.usable_at()),
            (1, true, 1_250)
        );
        // Seven more slots fail in the same instant: the backoff stays.
        for _ in 0..7 {
            let same = h.failed_at(1_001);
            assert_eq!(
                (same.in_a_row, same.counted, h.usable_at()),
                (1, false, 1_250)
            );
        }
        // The next try, once the backoff is over, counts and doubles it.
        let second = h.failed_at(1_250);
        assert_eq!(
            (second.in_a_row, second.counted, h.usable_at()),
            (2, true, 1_750)
        );
    }

    #[test]
    fn the_threshold_pauses_and_a_working_relay_ends_the_streak() {
        let h = RelayHealth::new(3);
        let next = || h.failed_at(h.usable_at());
        assert!(!next().pause);
        assert!(!next().pause);
        let third = next();
        assert!(third.pause && third.in_a_row == 3);
        assert!(h.worked());
        assert_eq!(h.blocked_for(0), None, "usable at once");
        let now = h.usable_at();
        assert_eq!(h.failed_at(now).in_a_row, 1);
        h.restart_count();
        assert_eq!(h.failed_at(now + 60_000).in_a_row, 1);
    }
}
