//! `morningpost doctor`: checks what a send needs, on the real things (the database, the
//! key, each relay, the DKIM key, the outbox folder), and says for each what to do when it
//! is not so. It changes nothing, but for creating a missing outbox folder as a send would
//! and a probe file in it (removed at once), and rewriting the one row of `health_probe`
//! that `/healthz` rewrites too (a write rolled back never reaches SQLite's log, so it
//! cannot meet a full disk).

mod database;
mod disk;
mod key;
mod relay;
mod signing;

use std::time::Duration;

use crate::config::Settings;

/// How long a relay or the database may take to answer a check.
pub const TIMEOUT_CAP: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Works, but something deserves a look.
    Warn,
    /// A send would fail, or do harm.
    Fail,
    /// Could not be checked (what it needs failed above, or it is not visible from here).
    Skip,
}

/// One thing a send needs, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
    /// What to do about it (for a warning or a failure).
    pub fix: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome,
            detail: detail.into(),
            fix: None,
        }
    }

    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Pass, detail)
    }

    fn skip(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Skip, detail)
    }

    fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Outcome::Warn, detail).with_fix(fix)
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Outcome::Fail, detail).with_fix(fix)
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, in the order a send meets them.
pub async fn run(settings: &Settings) -> Vec<Check> {
    let mut checks = Vec::new();
    let store = database::check(settings, &mut checks).await;
    checks.push(disk::check(settings));
    key::check(settings, store.as_ref(), &mut checks).await;
    relay::check(settings, &mut checks).await;
    checks.push(signing::check(settings));
    checks
}

/// Whether any check failed (`doctor` then exits 1).
pub fn any_failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.outcome == Outcome::Fail)
}
