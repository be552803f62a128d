//! Free space where the SQLite database lives. A full disk stops every write: claims,
//! outcomes, sign-ups (the worker waits and resumes once there is room, but nothing is sent
//! meanwhile).

use std::path::{Path, PathBuf};

use super::{Check, Outcome};
use crate::config::Settings;

/// Below this a send may stop part-way: fail.
pub const FAIL_BELOW: u64 = 50 * MIB;
/// Below this, warn; and below [`WARN_BELOW_PERCENT`] of the file system unless at least
/// [`PLENTY`] is free (6% of a large disk is still room for years of mail).
pub const WARN_BELOW: u64 = GIB;
pub const WARN_BELOW_PERCENT: u64 = 10;
pub const PLENTY: u64 = 10 * GIB;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const NAME: &str = "free space";

pub(super) fn check(settings: &Settings) -> Check {
    let Some(file) = crate::store::sqlite_file(settings.database_url.expose()) else {
        return Check::skip(
            NAME,
            "not visible from a PostgreSQL client: watch the database server's disk there",
        );
    };
    let Some(measured) = nearest_existing(&file) else {
        return Check::skip(NAME, format!("no folder of {} exists", file.display()));
    };
    match rustix::fs::statvfs(&measured) {
        Ok(stats) => {
            let free = stats.f_bavail.saturating_mul(stats.f_frsize);
            let size = stats.f_blocks.saturating_mul(stats.f_frsize);
            judge(free, size, &measured)
        }
        Err(e) => Check::warn(
            NAME,
            format!(
                "cannot measure the file system of {}: {e}",
                measured.display()
            ),
            "check the database's folder exists and can be read",
        ),
    }
}

/// The database file, or its nearest folder that exists (before `init`).
fn nearest_existing(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .map(Path::to_owned)
}

/// The outcome for `free` bytes left of a file system of `size` bytes.
pub fn outcome(free: u64, size: u64) -> Outcome {
    if free < FAIL_BELOW {
        Outcome::Fail
    } else if free < WARN_BELOW
        || (free < PLENTY && free.saturating_mul(100) < size.saturating_mul(WARN_BELOW_PERCENT))
    {
        Outcome::Warn
    } else {
        Outcome::Pass
    }
}

fn judge(free: u64, size: u64, at: &Path) -> Check {
    let percent = free.saturating_mul(100).checked_div(size).unwrap_or(0);
    let detail = format!(
        "{} free of {} ({percent}%) on the file system of {}",
        human(free),
        human(size),
        at.display()
    );
    match outcome(free, size) {
        Outcome::Pass => Check::pass(NAME, detail),
        Outcome::Fail => Check::fail(
            NAME,
            detail,
            format!(
                "free space there (under {} a send may stop part-way: every write needs room), \
                 or move the database to a larger disk",
                human(FAIL_BELOW)
            ),
        ),
        _ => Check::warn(
            NAME,
            detail,
            format!(
                "free space there before a large send or import (warned under {}, or under \
                 {WARN_BELOW_PERCENT}% of the file system with less than {} free)",
                human(WARN_BELOW),
                human(PLENTY)
            ),
        ),
    }
}

/// `812 MiB`, `1.4 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thresholds_are_absolute_and_relative() {
        let tb = 1024 * GIB;
        assert_eq!(outcome(49 * MIB, tb), Outcome::Fail);
        assert_eq!(outcome(49 * MIB, 60 * MIB), Outcome::Fail, "a tiny disk");
        assert_eq!(outcome(900 * MIB, 2 * GIB), Outcome::Warn, "under 1 GiB");
        assert_eq!(outcome(5 * GIB, 100 * GIB), Outcome::Warn, "under 10%");
        assert_eq!(
            outcome(50 * GIB, tb),
            Outcome::Pass,
            "under 10%, but plenty"
        );
        assert_eq!(outcome(200 * GIB, tb), Outcome::Pass);
        assert_eq!(outcome(2 * GIB, 4 * GIB), Outcome::Pass);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(50 * MIB), "50 MiB");
        assert_eq!(human(1024 * MIB + 1), "1.0 GiB");
        assert_eq!(human(1536 * MIB), "1.5 GiB");
        assert_eq!(human(300 * GIB), "300 GiB");
    }
}
