//! One relay's pace (docs/architecture.md decision 30): at most its configured
//! `rate_per_second`, and slower while it pushes back. A throttling reply halves the rate
//! (at most once per [`CUT_GAP`]: the replies to messages already on their way report the
//! same overload); every message it accepts after that adds `step / rate`, so the rate
//! climbs by `step` per second of sending — additive increase, multiplicative decrease, as
//! TCP finds a link's capacity. The rate settles just below the point where the relay
//! refuses, and the other relays are not slowed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rate is never cut below this (messages per second).
const MIN_RATE: f64 = 1.0;
/// A throttling reply multiplies the rate by this.
const CUT: f64 = 0.5;
/// Replies within this long of a cut answer messages sent before it: no second cut.
const CUT_GAP: Duration = Duration::from_secs(1);
/// The climb per second of sending, as a share of the rate right after the last cut.
const STEP_SHARE: f64 = 0.05;
/// Sends are counted over windows this long to know the rate of an unpaced relay.
const WINDOW: Duration = Duration::from_millis(500);

pub(super) struct Pace {
    /// The configured `rate_per_second`: the rate starts there and never climbs past it.
    ceiling: Option<f64>,
    state: Mutex<State>,
}

struct State {
    /// Messages per second now; `None`: not paced.
    rate: Option<f64>,
    /// The climb per second, set at each cut.
    step: f64,
    /// When the next message may start.
    next_at: Instant,
    last_cut: Option<Instant>,
    /// The rate measured while unpaced: where the first cut starts from.
    window_start: Instant,
    window_sent: u32,
    measured: f64,
}

impl Pace {
    pub fn new(rate_per_second: Option<u32>, now: Instant) -> Self {
        let ceiling = rate_per_second.map(f64::from);
        Self {
            ceiling,
            state: Mutex::new(State {
                rate: ceiling,
                step: MIN_RATE,
                next_at: now,
                last_cut: None,
                window_start: now,
                window_sent: 0,
                measured: 0.0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the next turn to send: how long to wait for it (zero when unpaced).
    pub fn turn(&self, now: Instant) -> Duration {
        let mut s = self.state();
        let Some(rate) = s.rate else {
            return Duration::ZERO;
        };
        let at = s.next_at.max(now);
        s.next_at = at + Duration::from_secs_f64(1.0 / rate);
        at - now
    }

    /// The relay took a message: count it, and climb back toward the ceiling.
    pub fn accepted(&self, now: Instant) {
        let mut s = self.state();
        s.window_sent += 1;
        let elapsed = now.saturating_duration_since(s.window_start);
        if elapsed >= WINDOW {
            s.measured = f64::from(s.window_sent) / elapsed.as_secs_f64();
            s.window_start = now;
            s.window_sent = 0;
        }
        if let Some(rate) = s.rate {
            let climbed = rate + s.step / rate;
            s.rate = Some(match self.ceiling {
                Some(ceiling) => climbed.min(ceiling),
                None => climbed,
            });
        }
    }

    /// The relay asked us to slow down: halve the rate (once per [`CUT_GAP`]). Returns the
    /// rate now.
    pub fn throttled(&self, now: Instant) -> f64 {
        let mut s = self.state();
        let recent = s
            .last_cut
            .is_some_and(|at| now.saturating_duration_since(at) < CUT_GAP);
        let current = s.rate.unwrap_or_else(|| {
            // Unpaced until now: start from what it was taking.
            let window = now.saturating_duration_since(s.window_start).as_secs_f64();
            let in_window = if window > 0.0 {
                f64::from(s.window_sent) / window
            } else {
                0.0
            };
            s.measured.max(in_window).max(MIN_RATE)
        });
        if recent && s.rate.is_some() {
            return current;
        }
        let cut = (current * CUT).max(MIN_RATE);
        s.rate = Some(cut);
        s.step = (cut * STEP_SHARE).max(MIN_RATE);
        s.last_cut = Some(now);
        // The turns already handed out stand; the next ones come at the new rate.
        cut
    }

    /// The rate the relay is paced at, `None` when it is not.
    #[cfg(test)]
    pub fn rate(&self) -> Option<f64> {
        self.state().rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpaced_relay_sends_at_once_until_it_pushes_back() {
        let t0 = Instant::now();
        let pace = Pace::new(None, t0);
        assert_eq!(pace.turn(t0), Duration::ZERO);
        assert_eq!(pace.rate(), None);
        // 400 messages in one second, then a throttling reply: half of that.
        for i in 0..400 {
            pace.accepted(t0 + Duration::from_micros(2_500 * i));
        }
        let rate = pace.throttled(t0 + Duration::from_secs(1));
        assert!((190.0..=210.0).contains(&rate), "{rate}");
        assert_eq!(pace.rate(), Some(rate));
    }

    #[test]
    fn a_configured_rate_spaces_the_turns_and_caps_the_climb() {
        let t0 = Instant::now();
        let pace = Pace::new(Some(10), t0);
        let waits: Vec<Duration> = (0..3).map(|_| pace.turn(t0)).collect();
        assert_eq!(
            waits,
            [
                Duration::ZERO,
                Duration::from_millis(100),
                Duration::from_millis(200)
            ]
        );
        for _ in 0..1000 {
            pace.accepted(t0);
        }
        assert_eq!(pace.rate(), Some(10.0));
    }

    #[test]
    fn replies_to_messages_already_sent_cut_the_rate_once() {
        let t0 = Instant::now();
        let pace = Pace::new(Some(100), t0);
        assert_eq!(pace.throttled(t0), 50.0);
        assert_eq!(pace.throttled(t0 + Duration::from_millis(500)), 50.0);
        assert_eq!(pace.throttled(t0 + Duration::from_millis(1_500)), 25.0);
        for _ in 0..100 {
            assert!(pace.throttled(t0 + Duration::from_secs(100)) >= MIN_RATE);
        }
    }

    #[test]
    fn after_a_cut_the_rate_climbs_by_a_step_per_second_of_sending() {
        let t0 = Instant::now();
        let pace = Pace::new(None, t0);
        for _ in 0..1000 {
            pace.accepted(t0 + Duration::from_millis(500));
        }
        pace.throttled(t0 + Duration::from_millis(600));
        let cut = pace.rate().unwrap_or_default();
        // One second's worth of messages at the cut rate climbs by about one step.
        for _ in 0..cut as usize {
            pace.accepted(t0 + Duration::from_secs(2));
        }
        let climbed = pace.rate().unwrap_or_default() - cut;
        let step = (cut * STEP_SHARE).max(MIN_RATE);
        assert!(
            (climbed - step).abs() < step * 0.1,
            "climbed {climbed}, step {step}"
        );
    }
}
