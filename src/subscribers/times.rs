//! Times in subscriber files: RFC 3339 in UTC with milliseconds, so that a stored time (ms
//! since the epoch) survives an export and a restore exactly.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const MS_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Milliseconds since the epoch as `2026-11-28T07:00:00.000Z`; empty if out of range.
pub fn format_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(MS_FORMAT).ok())
        .unwrap_or_default()
}

/// Any RFC 3339 time (with an offset) as milliseconds since the epoch.
pub fn parse_ms(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_survive_the_round_trip() {
        for ms in [0, 1, 999, 1_764_316_800_123, -1_000] {
            assert_eq!(parse_ms(&format_ms(ms)), Some(ms), "{ms}");
        }
        assert_eq!(format_ms(1_764_316_800_123), "2025-11-28T08:00:00.123Z");
        assert_eq!(
            parse_ms("2025-11-28T09:00:00+01:00"),
            Some(1_764_316_800_000)
        );
        assert_eq!(parse_ms("yesterday"), None);
    }
}

/// The times other tools write, as milliseconds since the epoch (fractions past the
/// millisecond are cut, never rounded into the next second): RFC 3339; Mailchimp's
/// `2021-03-04 09:15:22` (UTC); listmonk's (Go's) `2023-01-10 08:00:00.123456 +0000 UTC`.
pub fn parse_loose(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ms) = parse_ms(s) {
        return Some(ms);
    }
    let mut words = s.split_whitespace();
    let (date, clock) = (words.next()?, words.next()?);
    let offset = words.next().unwrap_or("+0000");
    let (sign, digits) = match offset.split_at_checked(1)? {
        ("+", d) => (1, d),
        ("-", d) => (-1, d),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rfc = format!(
        "{date}T{clock}.{millis}{}{}:{}",
        if sign < 0 { '-' } else { '+' },
        digits.get(..2)?,
        digits.get(2..)?
    );
    parse_ms(&rfc)
}

#[cfg(test)]
mod loose_tests {
    use super::*;

    #[test]
    fn other_tools_times_are_read() {
        assert_eq!(
            parse_loose("2023-01-10 08:00:00.123456 +0000 UTC"),
            parse_ms("2023-01-10T08:00:00.123Z")
        );
        assert_eq!(
            parse_loose("2024-06-30 23:59:59.999999 +0000 UTC"),
            parse_ms("2024-06-30T23:59:59.999Z"),
            "cut, not rounded into the next day"
        );
        assert_eq!(
            parse_loose("2021-03-04 09:15:22"),
            parse_ms("2021-03-04T09:15:22Z")
        );
        assert_eq!(
            parse_loose("2023-01-05T10:00:00Z"),
            parse_ms("2023-01-05T10:00:00Z")
        );
        assert_eq!(parse_loose("05/03/2021"), None);
    }
}
