//! `morningpost signups …`: the sign-ups waiting for their confirmation mail.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use super::stdout::outln;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::store::ConfirmationBacklog;
use crate::subscribers::backlog;

#[derive(Debug, Subcommand)]
pub enum SignupsCommand {
    /// Confirmation mail waiting, sign-ups pending, and whether the hourly budget
    /// (`confirmation_mail_per_hour`) is exhausted and since when.
    Backlog,
    /// Drop the waiting confirmation mail of sign-ups made more than AGE ago (a flood of
    /// sign-ups nobody will confirm), and delete those sign-ups that were never confirmed.
    /// Readers who were subscribed before keep their record.
    Purge {
        /// 90s, 30m, 2h or 7d.
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        pending_older_than: Duration,
    },
}

pub async fn run(settings: &Settings, cmd: SignupsCommand) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    match cmd {
        SignupsCommand::Backlog => {
            let b = backlog::backlog(&store).await?;
            let lines = describe(&b, now_ms());
            if lines.is_empty() {
                outln!(
                    "no confirmation mail waiting ({} sign-ups pending)",
                    b.pending
                )?;
            }
            for line in lines {
                outln!("{line}")?;
            }
        }
        SignupsCommand::Purge { pending_older_than } => {
            let r = backlog::purge_pending(&store, pending_older_than).await?;
            outln!(
                "dropped {} waiting confirmation mails; deleted {} sign-ups never confirmed",
                r.confirmations_dropped,
                r.subscribers_deleted
            )?;
            if r.held_dropped > 0 {
                outln!(
                    "dropped {} sign-ups held in the inbox, never stored",
                    r.held_dropped
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The backlog in lines for `status` and `signups backlog`; none when nothing waits and the
/// budget is not exhausted.
pub(super) fn describe(b: &ConfirmationBacklog, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    if b.waiting == 0 && b.held == 0 && b.exhausted_since.is_none() {
        return lines;
    }
    // ", the oldest queued 3 min ago", or nothing when there is no oldest.
    let oldest = |what: &str, since: Option<i64>| {
        since
            .map(|t| format!(", the oldest {what} {} ago", ago(now - t)))
            .unwrap_or_default()
    };
    lines.push(format!(
        "confirmation mail waiting: {} ({} sign-ups pending{})",
        b.waiting,
        b.pending,
        oldest("queued", b.oldest_waiting_since)
    ));
    if b.held > 0 {
        lines.push(format!(
            "sign-ups held in the inbox: {}{}; stored and mailed as the queue drains",
            b.held,
            oldest("received", b.oldest_held_since)
        ));
    }
    match (b.per_hour, b.exhausted_since) {
        (Some(per_hour), Some(since)) => lines.push(format!(
            "budget of {per_hour}/hour exhausted since {} ({} ago): the rest waits, oldest first; \
             `morningpost signups purge --pending-older-than AGE` drops it",
            crate::clock::rfc3339(since),
            ago(now - since)
        )),
        (Some(per_hour), None) => lines.push(format!("budget of {per_hour}/hour not exhausted")),
        _ => lines.push("no worker has looked at the budget yet".to_owned()),
    }
    lines
}

/// "3 min", "2 h 5 min", "40 s".
fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A number and a unit: s, m, h or d.
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not an age: use a number and a unit, such as 30m, 2h or 7d")
    })?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit is s, m, h or d (30m, 2h, 7d)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_budget_is_said_with_its_time_and_the_fix() {
        let b = ConfirmationBacklog {
            waiting: 12,
            oldest_waiting_since: Some(1_000),
            pending: 15,
            per_hour: Some(200),
            exhausted_since: Some(61_000),
            looked_at: Some(62_000),
            held: 0,
            oldest_held_since: None,
        };
        let lines = describe(&b, 3_661_000);
        assert_eq!(
            lines[0],
            "confirmation mail waiting: 12 (15 sign-ups pending, the oldest queued 1 h 1 min ago)"
        );
        assert!(
            lines[1].starts_with(
                "budget of 200/hour exhausted since 1970-01-01T00:01:01Z (1 h 0 min ago)"
            ),
            "{}",
            lines[1]
        );
        assert!(describe(&ConfirmationBacklog::default(), 0).is_empty());
    }

    #[test]
    fn sign_ups_held_in_the_inbox_are_said_even_with_no_mail_waiting() {
        let b = ConfirmationBacklog {
            held: 7,
            oldest_held_since: Some(1_000),
            per_hour: Some(200),
            ..ConfirmationBacklog::default()
        };
        let lines = describe(&b, 181_000);
        assert_eq!(
            lines[1],
            "sign-ups held in the inbox: 7, the oldest received 3 min ago; stored and mailed as the queue drains"
        );
    }

    #[test]
    fn ages_need_a_number_and_a_unit() {
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_age("2").is_err());
        assert!(parse_age("h").is_err());
        assert!(parse_age("2 weeks").is_err());
    }
}
