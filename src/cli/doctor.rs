//! `morningpost doctor`: one line per check (✓ passed, ! warning, ✗ failed, - not checked),
//! with what to do under each warning and failure. Exit status 0 when nothing failed, 1 when
//! something did (warnings do not count).

use std::process::ExitCode;

use super::stdout::outln;
use crate::config::Settings;
use crate::doctor::{Check, Outcome};

pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let checks = crate::doctor::run(settings).await;
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for check in &checks {
        outln!(
            "{} {:width$}  {}",
            mark(check.outcome),
            check.name,
            check.detail
        )?;
        if let Some(fix) = &check.fix {
            outln!("  {:width$}  fix: {fix}", "")?;
        }
    }
    outln!("{}", summary(&checks))?;
    Ok(if crate::doctor::any_failed(&checks) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn mark(outcome: Outcome) -> char {
    match outcome {
        Outcome::Pass => '✓',
        Outcome::Warn => '!',
        Outcome::Fail => '✗',
        Outcome::Skip => '-',
    }
}

fn summary(checks: &[Check]) -> String {
    let count = |o| checks.iter().filter(|c| c.outcome == o).count();
    let (failed, warned, skipped) = (
        count(Outcome::Fail),
        count(Outcome::Warn),
        count(Outcome::Skip),
    );
    let mut parts = vec![format!("{} passed", count(Outcome::Pass))];
    for (n, what) in [
        (warned, "with a warning"),
        (failed, "failed"),
        (skipped, "not checked"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let verdict = if failed > 0 {
        "a send would fail or do harm"
    } else {
        "ready to send"
    };
    format!("{}: {verdict}", parts.join(", "))
}
