//! The crate's clock. Every stored time is a count of milliseconds since the Unix epoch (an
//! `i64`, the same column type on both backends); this module is the one place that reads
//! the system clock and converts durations to that unit.
//!
//! **It never goes back** (docs/architecture.md decision 39). Leases, retry times and due
//! times are instants compared with "now"; if "now" followed the host clock back by an hour,
//! every row queued in that hour would wait for the clock to catch up, and a lease could
//! outlive its holder by an hour. So:
//! - the host clock stepped forward (or the machine resumed from a suspend): followed at
//!   once, as schedules need; a lease that then looks expired is fenced like any other
//!   (decision 3: duplicates at most the sends in flight);
//! - stepped back: this clock does not follow. It runs on at half speed (timed by the
//!   monotonic clock, which no step moves) until the host clock meets it, then follows it
//!   again: rows already due keep going, a retry or lease timed across the step takes at
//!   most twice as long, and a correction of a fast host clock is absorbed in twice its size;
//! - a process started after a step back begins from the floor its database recorded
//!   ([`raise_floor`]; SQLite's `clock_floor`), not from the host's earlier time.
//!
//! Leases are not timed by this clock on PostgreSQL: there every host asks the database
//! (`Store::now_ms`), so a host with a skewed clock cannot take rows early.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How far behind ours the host clock may be before it is a step worth a warning, not jitter.
const STEP_MS: i64 = 2_000;

/// The process's clock: the monotonic origin and the last reading.
static ORIGIN: OnceLock<Instant> = OnceLock::new();
static CLOCK: Clock = Clock::new();

/// Milliseconds since the Unix epoch, now; never less than an earlier answer.
pub fn now_ms() -> i64 {
    let (now_us, stepped_back) = CLOCK.at(wall_us(), mono_us());
    if let Some(behind_us) = stepped_back {
        tracing::warn!(
            behind_ms = behind_us / 1000,
            "the system clock went back; morningpost's clock does not: it runs at half speed \
             until the system clock meets it (leases, retries and schedules are never moved \
             back)"
        );
    }
    now_us / 1000
}

/// Moves this process's clock up to `floor_ms` if it is behind it: a database's record of
/// the latest time it acted on, read at open, so a process started after the host clock
/// went back does not count from before that.
pub fn raise_floor(floor_ms: i64) {
    CLOCK.raise(floor_ms.saturating_mul(1000), wall_us(), mono_us());
}

fn wall_us() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

fn mono_us() -> i64 {
    i64::try_from(ORIGIN.get_or_init(Instant::now).elapsed().as_micros()).unwrap_or(i64::MAX)
}

/// The last time answered (µs since the epoch) with the monotonic reading it was answered
/// at, and whether a step back has been said since the host clock was last followed.
struct Clock(Mutex<Option<Reading>>);

#[derive(Clone, Copy)]
struct Reading {
    now: i64,
    mono: i64,
    said_behind: bool,
}

impl Clock {
    const fn new() -> Self {
        Clock(Mutex::new(None))
    }

    /// The time for a wall and a monotonic reading (µs), and how far the wall clock is
    /// behind it when that is news (a step back first seen).
    fn at(&self, wall: i64, mono: i64) -> (i64, Option<i64>) {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(prev) = *last else {
            *last = Some(Reading {
                now: wall,
                mono,
                said_behind: false,
            });
            return (wall, None);
        };
        let slow = prev
            .now
            .saturating_add(mono.saturating_sub(prev.mono).max(0) / 2);
        let (now, news, said_behind) = if wall >= slow {
            (wall, None, false)
        } else {
            let behind = slow - wall;
            let news = (behind > STEP_MS * 1000 && !prev.said_behind).then_some(behind);
            (slow, news, prev.said_behind || news.is_some())
        };
        *last = Some(Reading {
            now,
            mono,
            said_behind,
        });
        (now, news)
    }

    fn raise(&self, floor: i64, wall: i64, mono: i64) {
        self.at(wall, mono);
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(r) = last.as_mut() {
            r.now = r.now.max(floor);
        }
    }
}

/// A duration in the stored unit, saturating (a configured "forever" stays positive).
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A stored time as RFC 3339 in UTC, to the second (`2026-11-28T07:00:00Z`); empty if out of
/// range.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_convert_and_saturate() {
        assert_eq!(millis(Duration::from_secs(3)), 3000);
        assert_eq!(millis(Duration::MAX), i64::MAX);
        assert!(now_ms() > 1_700_000_000_000);
    }

    const S: i64 = 1_000_000;
    const HOUR: i64 = 3600 * S;
    const T0: i64 = 1_800_000_000 * S;

    #[test]
    fn a_step_back_slows_the_clock_until_the_host_meets_it() {
        let c = Clock::new();
        assert_eq!(c.at(T0, 0), (T0, None));
        // One second later the host clock reads an hour earlier: said once, never back.
        assert_eq!(c.at(T0 + S - HOUR, S), (T0 + S / 2, Some(HOUR - S / 2)));
        assert_eq!(c.at(T0 + 3 * S - HOUR, 3 * S), (T0 + 3 * S / 2, None));
        // Half speed: the host clock meets it after about two hours, and is followed again.
        let (at_meeting, _) = c.at(T0 + 2 * HOUR - HOUR, 2 * HOUR);
        assert_eq!(at_meeting, T0 + HOUR);
        assert_eq!(
            c.at(T0 + 2 * HOUR + S - HOUR, 2 * HOUR + S),
            (T0 + HOUR + S, None)
        );
    }

    #[test]
    fn a_step_forward_is_followed() {
        let c = Clock::new();
        c.at(T0, 0);
        assert_eq!(c.at(T0 + S + HOUR, S).0, T0 + S + HOUR);
    }

    #[test]
    fn jitter_behind_is_absorbed_without_a_warning() {
        let c = Clock::new();
        c.at(T0, 0);
        let (now, news) = c.at(T0 + S - 5, S);
        assert_eq!(news, None);
        assert!((T0..=T0 + S).contains(&now));
    }

    #[test]
    fn a_floor_raises_the_clock_but_never_lowers_it() {
        let c = Clock::new();
        c.raise(T0, T0 - HOUR, 0);
        let (now, news) = c.at(T0 - HOUR + 2 * S, 2 * S);
        assert_eq!(now, T0 + S);
        assert!(news.is_some(), "a host clock behind the floor is said");
        c.raise(T0 - 2 * HOUR, T0 - HOUR + 4 * S, 4 * S);
        assert_eq!(c.at(T0 - HOUR + 6 * S, 6 * S).0, T0 + 3 * S);
    }
}
