//! Time zones and local clock times, as an operator or a sign-up form gives them.
//!
//! A zone is an IANA name found in the tz database (`Europe/Berlin`), never free text: a
//! browser's `Intl` zone, an import column and `subscribers set-zone` all go through
//! [`TimeZoneName::parse`]. A wall-clock time that a DST change skips or repeats has one
//! defined instant (jiff's "compatible" rule, as RFC 5545 and JavaScript's Temporal do): in a
//! gap the time moves forward by the gap's length (02:30 on a spring-forward night at 02:00
//! is 03:30), in a fold the earlier of the two instants is taken.

use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimeZoneError {
    #[error("{0:?} is not a time zone of the tz database (use an IANA name such as Europe/Berlin)")]
    Unknown(String),
    #[error("{0:?} is not a time of day (use HH:MM, e.g. 07:00)")]
    BadTime(String),
}

/// An IANA time zone name known to the tz database, in its canonical spelling.
#[derive(Clone, PartialEq, Eq)]
pub struct TimeZoneName {
    name: String,
    zone: TimeZone,
}

impl TimeZoneName {
    pub fn parse(s: &str) -> Result<Self, TimeZoneError> {
        let s = s.trim();
        let unknown = || TimeZoneError::Unknown(s.chars().take(64).collect());
        // Names only: no POSIX TZ strings or offsets, and nothing a path could be made of.
        if s.is_empty()
            || s.len() > 64
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
            || s.starts_with('/')
            || s.contains("..")
        {
            return Err(unknown());
        }
        let zone = jiff::tz::db().get(s).map_err(|_| unknown())?;
        let name = zone.iana_name().unwrap_or(s).to_owned();
        Ok(Self { name, zone })
    }

    pub fn utc() -> Self {
        Self {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The first instant after `after_ms` (ms since the epoch) when clocks in this zone show
    /// `at`, DST gaps and folds resolved as the module says.
    pub fn next(&self, at: LocalTime, after_ms: i64) -> i64 {
        let after = Timestamp::from_millisecond(after_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let today = after.to_zoned(self.zone.clone()).date();
        let mut day = today;
        // Two days always suffice; a third guards a day that a zone skipped entirely
        // (Pacific/Apia on 2011-12-30).
        for _ in 0..3 {
            if let Some(ms) = self.instant(day, at.0).filter(|&ms| ms > after_ms) {
                return ms;
            }
            day = day.checked_add(1.day()).unwrap_or(day);
        }
        after_ms.saturating_add(86_400_000)
    }

    fn instant(&self, day: Date, at: Time) -> Option<i64> {
        let zoned = day.to_datetime(at).to_zoned(self.zone.clone()).ok()?;
        Some(zoned.timestamp().as_millisecond())
    }

    /// The wall-clock date and time of an instant in this zone, for people: `2026-11-28 07:00`.
    pub fn local_datetime(&self, ms: i64) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(t) => t
                .to_zoned(self.zone.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string(),
            Err(_) => ms.to_string(),
        }
    }
}

impl TimeZoneName {
    /// An instant for an operator: the wall clock here, then UTC to the second
    /// (`2026-11-29 07:00 CET (2026-11-29T06:00:00Z)`).
    pub fn local_and_utc(&self, ms: i64) -> String {
        let utc = Timestamp::from_millisecond(ms - ms.rem_euclid(1000))
            .map(|t| t.to_string())
            .unwrap_or_default();
        format!("{} ({utc})", self.local_datetime(ms))
    }
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeZoneName").field(&self.name).finish()
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A time of day, `HH:MM`, minutes precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(Time);

impl LocalTime {
    pub fn parse(s: &str) -> Result<Self, TimeZoneError> {
        let bad = || TimeZoneError::BadTime(s.chars().take(32).collect());
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let two_digits =
            |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || m.len() != 2 || !two_digits(m) {
            return Err(bad());
        }
        let hour: i8 = h.parse().map_err(|_| bad())?;
        let minute: i8 = m.parse().map_err(|_| bad())?;
        Time::new(hour, minute, 0, 0)
            .map(LocalTime)
            .map_err(|_| bad())
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn at(s: &str) -> LocalTime {
        LocalTime::parse(s).unwrap()
    }

    #[test]
    fn names_are_checked_against_the_tz_database() {
        assert_eq!(
            TimeZoneName::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert_eq!(TimeZoneName::parse(" UTC ").unwrap().as_str(), "UTC");
        for bad in [
            "",
            "Mars/Olympus_Mons",
            "Europe/Berlin<script>",
            "../../etc/passwd",
            "/usr/share/zoneinfo/UTC",
            "EST5EDT,M3.2.0,M11.1.0",
            "+05:30",
        ] {
            assert!(TimeZoneName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_instant_is_shown_on_the_local_clock_and_in_utc() {
        let berlin = TimeZoneName::parse("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.local_and_utc(ms("2026-11-29T06:00:00.250Z")),
            "2026-11-29 07:00 CET (2026-11-29T06:00:00Z)"
        );
    }

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(at("7:05").to_string(), "07:05");
        assert_eq!(at("23:59").to_string(), "23:59");
        for bad in [
            "24:00", "07:60", "7", "07:5", "07:00:00", "-1:00", "ab:cd", "",
        ] {
            assert!(LocalTime::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_next_seven_o_clock_in_three_zones() {
        let now = ms("2026-11-27T20:00:00Z");
        let next = |zone: &str| TimeZoneName::parse(zone).unwrap().next(at("07:00"), now);
        // Auckland is UTC+13 in November: already 09:00 on the 28th there, so the 29th.
        assert_eq!(next("Pacific/Auckland"), ms("2026-11-28T18:00:00Z"));
        assert_eq!(next("Europe/Berlin"), ms("2026-11-28T06:00:00Z"));
        assert_eq!(next("America/Los_Angeles"), ms("2026-11-28T15:00:00Z"));
        // Exactly at the time: the next day's.
        let utc = TimeZoneName::utc();
        assert_eq!(
            utc.next(at("07:00"), ms("2026-11-28T07:00:00Z")),
            ms("2026-11-29T07:00:00Z")
        );
    }

    #[test]
    fn a_time_a_dst_change_skips_moves_forward_and_a_repeated_one_takes_the_first() {
        let berlin = TimeZoneName::parse("Europe/Berlin").unwrap();
        // 2027-03-28: clocks go from 02:00 to 03:00 (UTC+1 → UTC+2). 02:30 does not exist:
        // it is 03:30 CEST = 01:30 UTC.
        assert_eq!(
            berlin.next(at("02:30"), ms("2027-03-27T12:00:00Z")),
            ms("2027-03-28T01:30:00Z")
        );
        // 2026-10-25: clocks go from 03:00 back to 02:00. 02:30 happens twice: the first,
        // still CEST (UTC+2), is 00:30 UTC.
        assert_eq!(
            berlin.next(at("02:30"), ms("2026-10-24T12:00:00Z")),
            ms("2026-10-25T00:30:00Z")
        );
        // 07:00 on both nights is ordinary.
        assert_eq!(
            berlin.next(at("07:00"), ms("2027-03-27T12:00:00Z")),
            ms("2027-03-28T05:00:00Z")
        );
    }
}
