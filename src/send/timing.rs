//! When a send's deliveries come due: now, at a time (`--at`), or at a local time in each
//! reader's own zone (`--local`, docs/architecture.md decision 24).

use crate::domain::{LocalTime, TimeZoneError, TimeZoneName};
use crate::store::{DueTimes, Store, StoreError};

/// When to send, as the operator said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timing {
    Now,
    /// An instant (RFC 3339 with its offset).
    At(i64),
    /// The next such time in the newsletter's `timezone`.
    AtLocal(LocalTime),
    /// This time of day in each subscriber's own zone (the newsletter's for those without).
    ReadersLocal(LocalTime),
}

#[derive(Debug, thiserror::Error)]
pub enum TimingError {
    #[error(
        "{0:?} is neither an RFC 3339 time (2026-11-29T07:00:00+01:00) nor a time of day (07:00)"
    )]
    Unreadable(String),
    #[error(transparent)]
    Time(#[from] TimeZoneError),
    #[error("{0} is in the past: leave out --at to send now")]
    InThePast(String),
}

impl Timing {
    /// `--at WHEN`: RFC 3339, or `HH:MM` meaning its next occurrence in the newsletter's zone.
    pub fn at(when: &str, now: i64) -> Result<Self, TimingError> {
        if let Ok(t) = when.trim().parse::<jiff::Timestamp>() {
            let ms = t.as_millisecond();
            if ms <= now {
                return Err(TimingError::InThePast(when.trim().to_owned()));
            }
            return Ok(Timing::At(ms));
        }
        if when.contains('T') || when.contains('-') {
            return Err(TimingError::Unreadable(when.chars().take(64).collect()));
        }
        Ok(Timing::AtLocal(LocalTime::parse(when)?))
    }

    /// `--local HH:MM`.
    pub fn readers_local(time: &str) -> Result<Self, TimingError> {
        Ok(Timing::ReadersLocal(LocalTime::parse(time)?))
    }

    /// The due time of every new delivery, computed at `now`. A local-morning send asks the
    /// store for the zones its readers are in and computes each zone's instant once.
    pub async fn due_times(
        &self,
        store: &Store,
        newsletter_zone: &TimeZoneName,
        now: i64,
    ) -> Result<DueTimes, StoreError> {
        Ok(match self {
            Timing::Now => DueTimes::At(now),
            Timing::At(ms) => DueTimes::At(*ms),
            Timing::AtLocal(at) => DueTimes::At(newsletter_zone.next(*at, now)),
            Timing::ReadersLocal(at) => {
                let by_zone = store
                    .subscriber_zones()
                    .await?
                    .into_iter()
                    // Stored zones were checked when stored; one the tz database no longer
                    // knows falls back to the newsletter's.
                    .filter_map(|name| {
                        let zone = TimeZoneName::parse(&name).ok()?;
                        Some((name, zone.next(*at, now)))
                    })
                    .collect();
                DueTimes::Local {
                    local_time: at.to_string(),
                    default: newsletter_zone.next(*at, now),
                    by_zone,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn at_reads_an_instant_or_a_time_of_day() {
        let now = ms("2026-11-28T09:00:00Z");
        assert_eq!(
            Timing::at("2026-11-29T07:00:00+01:00", now).unwrap(),
            Timing::At(ms("2026-11-29T06:00:00Z"))
        );
        assert_eq!(
            Timing::at("07:00", now).unwrap(),
            Timing::AtLocal(LocalTime::parse("07:00").unwrap())
        );
        assert!(matches!(
            Timing::at("2026-11-28T08:00:00Z", now),
            Err(TimingError::InThePast(_))
        ));
        for bad in ["tomorrow", "2026-11-29", "2026-11-29T07:00", "25:00"] {
            assert!(Timing::at(bad, now).is_err(), "{bad}");
        }
    }
}
