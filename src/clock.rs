//! The crate's clock. Every stored time is a count of milliseconds since the Unix epoch (an
//! `i64`, the same column type on both backends); this module is the one place that reads
//! the system clock and converts durations to that unit.
//!
//! Leases are not timed by this clock on PostgreSQL: there every host asks the database
//! (`Store::now_ms`), so a host with a skewed clock cannot take rows early.

use std::time::Duration;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
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
}
