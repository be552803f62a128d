//! When to try again (docs/architecture.md decision 4; RFC 5321 §4.5.4.1): capped exponential backoff
//! with jitter, until a give-up age measured from when the message was queued.

use std::time::Duration;

use crate::clock::millis;

use crate::config::DeliverySettings;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first: Duration,
    pub cap: Duration,
    pub give_up_after: Duration,
}

impl RetryPolicy {
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        first: Duration::from_secs(60),
        cap: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(3 * 24 * 3600),
    };

    pub fn from_settings(d: &DeliverySettings) -> Self {
        Self {
            first: d.retry_first,
            cap: d.retry_cap,
            give_up_after: d.give_up_after,
        }
    }

    /// The delay before retry number `failures + 1`: `first · 2^failures`, capped, with
    /// "equal jitter" (half fixed, half random) so a burst of failures does not retry in step.
    /// `unit` is a random number in [0, 1).
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exp = self
            .first
            .saturating_mul(2u32.saturating_pow(failures.min(30)));
        let base = exp.min(self.cap);
        let half = base / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// When to try again, or `None` to give up. The last try is placed at the give-up age.
    pub fn next_attempt(&self, failures: i64, queued_at: i64, now: i64, unit: f64) -> Option<i64> {
        let give_up_at = queued_at.saturating_add(millis(self.give_up_after));
        if now >= give_up_at {
            return None;
        }
        let delay = self.delay(u32::try_from(failures.max(0)).unwrap_or(u32::MAX), unit);
        Some(now.saturating_add(millis(delay)).min(give_up_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps_with_jitter_inside_the_bounds() {
        let p = RetryPolicy::DEFAULT;
        assert_eq!(p.delay(0, 1.0), Duration::from_secs(60));
        assert_eq!(p.delay(0, 0.0), Duration::from_secs(30));
        assert_eq!(p.delay(3, 1.0), Duration::from_secs(480));
        assert_eq!(p.delay(20, 1.0), Duration::from_secs(3600));
        assert_eq!(p.delay(20, 0.0), Duration::from_secs(1800));
        for f in 0..40 {
            let d = p.delay(f, 0.5);
            assert!(d <= p.cap, "{f}: {d:?}");
        }
    }

    #[test]
    fn gives_up_after_the_configured_age() {
        let p = RetryPolicy::DEFAULT;
        let queued = 1_000_000;
        let three_days = 3 * 24 * 3600 * 1000;
        assert_eq!(
            p.next_attempt(0, queued, queued + 1000, 1.0),
            Some(queued + 1000 + 60_000)
        );
        // Close to the end, the last try lands exactly at the give-up age.
        assert_eq!(
            p.next_attempt(30, queued, queued + three_days - 1000, 1.0),
            Some(queued + three_days)
        );
        assert_eq!(p.next_attempt(30, queued, queued + three_days, 1.0), None);
    }
}
