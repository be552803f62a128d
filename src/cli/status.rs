//! `morningpost status [ISSUE]`: queue counts, the send rate, the most frequent failures;
//! for one issue also where its send stands (scheduled, paused and why, cancelled) and, for
//! a send still to come, how many deliveries are due in each coming hour.

use std::process::ExitCode;

use super::stdout::outln;
use crate::clock::{now_ms, rfc3339};
use crate::config::Settings;
use crate::send::{IssueState, IssueStatus, issue_state, read_status};
use crate::store::Store;

pub async fn status(settings: &Settings, slug: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    print_status(settings, &store, slug).await
}

/// `status --watch`: the status again every two seconds until Ctrl-C, drawn over the last
/// one on a terminal (one after the other when piped).
pub async fn watch(settings: &Settings, slug: Option<&str>) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let store = super::open_store(settings, super::Open::MustExist).await?;
    let terminal = std::io::stdout().is_terminal();
    loop {
        if terminal {
            // Home, then clear: the new status replaces the old without scrolling.
            super::stdout::write_bytes(b"\x1b[H\x1b[2J")?;
        }
        print_status(settings, &store, slug).await?;
        outln!("(every 2 s, {}; Ctrl-C stops)", rfc3339(now_ms()))?;
        if !terminal {
            outln!("")?;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    }
}

async fn print_status(
    settings: &Settings,
    store: &Store,
    slug: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let view = read_status(store, slug).await?;
    let (r, now) = (&view.report, view.now);
    let c = r.counts;
    outln!(
        "{}",
        slug.map_or("all mail".to_owned(), |s| format!("issue {s}"))
    )?;
    match &view.issue {
        Some(i) => {
            let m = &i.message;
            let state = issue_state(m.enqueued_at, &m.send, &c);
            outln!("  state      {}", describe_state(settings, state, &m.send))?;
            if !m.send.is_public(now) {
                outln!("  archive    not public")?;
            }
        }
        // Sends that wait for their time or for the operator come first.
        None => {
            for (slug, send) in &view.waiting {
                let state = if send.hold.is_some() {
                    IssueState::Paused
                } else {
                    IssueState::Scheduled
                };
                outln!("  {slug}: {}", describe_state(settings, state, send))?;
            }
        }
    }
    outln!(
        "  queued     {:>9}  (of which retrying: {})",
        c.queued,
        c.retrying
    )?;
    outln!("  in flight  {:>9}", c.sending)?;
    outln!("  sent       {:>9}", c.sent)?;
    outln!("  failed     {:>9}", c.failed)?;
    outln!("  cancelled  {:>9}", c.cancelled)?;
    if c.paused > 0 {
        outln!("  paused     {:>9}", c.paused)?;
    }
    outln!(
        "  send rate  {:>9.1} messages/s over the last minute",
        r.send_rate
    )?;
    if !r.top_failures.is_empty() {
        outln!("  most frequent failures, by reply code:")?;
        for g in &r.top_failures {
            outln!("  {:>9}  {}", g.count, describe_group(g))?;
        }
    }
    if let Some(backlog) = &view.backlog {
        for line in super::signups::describe(backlog, now) {
            outln!("  sign-ups   {line}")?;
        }
    }
    if let Some(i) = &view.issue {
        print_late_reports(i, c.sent, c.sent + c.failed)?;
        print_due_by_hour(settings, &i.due_by_hour)?;
    }
    if settings.bounces.address.is_none() {
        outln!(
            "  late bounces and complaints are not being collected: set bounce_address \
             (and feed its mail to `morningpost bounces ingest`)"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `status --json`: what `status` prints, as one JSON object (times in RFC 3339).
pub async fn status_json(settings: &Settings, slug: Option<&str>) -> anyhow::Result<ExitCode> {
    use serde_json::json;
    let store = super::open_store(settings, super::Open::MustExist).await?;
    let view = read_status(&store, slug).await?;
    let (r, now) = (&view.report, view.now);
    let c = &r.counts;
    let failures: Vec<_> = r
        .top_failures
        .iter()
        .map(|g| {
            json!({
                "code": g.code,
                "count": g.count,
                "example_reply": g.example,
                "example_address": g.example_address,
            })
        })
        .collect();
    let mut out = json!({
        "issue": slug,
        "counts": {
            "queued": c.queued,
            "retrying": c.retrying,
            "in_flight": c.sending,
            "sent": c.sent,
            "failed": c.failed,
            "cancelled": c.cancelled,
            "paused": c.paused,
        },
        "send_rate_per_second": r.send_rate,
        "failures": failures,
    });
    if let Some(b) = &view.backlog
        && let Some(object) = out.as_object_mut()
    {
        object.insert(
            "signups".into(),
            json!({
                "pending": b.pending,
                "confirmations_waiting": b.waiting,
                "held_in_inbox": b.held,
                "oldest_held_since": b.oldest_held_since.map(rfc3339),
                "oldest_waiting_since": b.oldest_waiting_since.map(rfc3339),
                "budget_per_hour": b.per_hour,
                "budget_exhausted_since": b.exhausted_since.map(rfc3339),
            }),
        );
    }
    if let Some(i) = &view.issue {
        let m = &i.message;
        let state = issue_state(m.enqueued_at, &m.send, c);
        let b = i.bounces;
        let due: Vec<_> = i
            .due_by_hour
            .iter()
            .map(|&(hour, n)| json!({"hour": rfc3339(hour), "deliveries": n}))
            .collect();
        if let Some(object) = out.as_object_mut() {
            object.insert("state".into(), json!(state.as_str()));
            object.insert("hold_reason".into(), json!(m.send.hold_reason.as_deref()));
            object.insert("public".into(), json!(m.send.is_public(now)));
            object.insert(
                "late_reports".into(),
                json!({"hard": b.hard, "soft": b.soft, "refused": b.refused, "complaints": b.complaints}),
            );
            object.insert("due_by_hour".into(), json!(due));
        }
    }
    outln!("{out}")?;
    Ok(ExitCode::SUCCESS)
}

fn describe_state(
    settings: &Settings,
    state: IssueState,
    send: &crate::store::SendControl,
) -> String {
    let zone = &settings.timezone;
    let when = |t: i64| zone.local_and_utc(t);
    let local = send
        .local_time
        .as_deref()
        .map(|t| format!(", {t} in each reader's time zone"))
        .unwrap_or_default();
    match state {
        IssueState::Scheduled => format!(
            "scheduled for {}{local}",
            send.scheduled_at.map(when).unwrap_or_default()
        ),
        IssueState::Paused | IssueState::Cancelled => format!(
            "{} since {}: {}",
            state.as_str(),
            send.held_at.map(rfc3339).unwrap_or_default(),
            send.hold_reason.as_deref().unwrap_or("no reason recorded")
        ),
        other => format!("{}{local}", other.as_str()),
    }
}

/// First attempts still to come, by hour (a scheduled or local-morning send).
fn print_due_by_hour(settings: &Settings, hours: &[(i64, i64)]) -> anyhow::Result<()> {
    if hours.is_empty() {
        return Ok(());
    }
    outln!("  due in the coming hours ({}):", settings.timezone)?;
    for &(hour, n) in hours {
        outln!("  {n:>9}  {}", settings.timezone.local_datetime(hour))?;
    }
    Ok(())
}

/// What came back about the issue's mail (late reports, and hard bounces the relay answered
/// during the conversation), with rates of what was sent.
fn print_late_reports(issue: &IssueStatus, sent: i64, attempted: i64) -> anyhow::Result<()> {
    let b = issue.bounces;
    // Of the deliveries that reached a verdict: sent, or failed at the relay.
    let rate = |n: i64| {
        if attempted > 0 {
            format!("{:.2}%", 100.0 * n as f64 / attempted as f64)
        } else {
            "-".to_owned()
        }
    };
    outln!(
        "  delivered  {:>9}  (sent, and no bounce came back)",
        (sent - b.hard - b.soft).max(0)
    )?;
    outln!(
        "  bounced    {:>9}  hard ({}), {} soft",
        b.hard,
        rate(b.hard),
        b.soft
    )?;
    outln!(
        "  refused    {:>9}  (by the receiver: the message or the sender, not the address)",
        b.refused
    )?;
    let domains = &issue.refused_by_domain;
    if !domains.is_empty() {
        let list: Vec<String> = domains.iter().map(|(d, n)| format!("{d} {n}")).collect();
        outln!("             refused most by: {}", list.join(", "))?;
    }
    outln!("  complaints {:>9}  ({})", b.complaints, rate(b.complaints))?;
    Ok(())
}

/// `550 5.1.1  e.g. ada@example.com: 550 5.1.1 <ada@…>: no such user`: a group's code, then
/// one of its replies and the address it came for.
pub(super) fn describe_group(g: &crate::store::ReplyGroup) -> String {
    let example = match &g.example_address {
        Some(address) => format!("{address}: {}", g.example),
        None => g.example.clone(),
    };
    if g.code == g.example {
        format!("e.g. {example}")
    } else {
        format!("{}  e.g. {example}", g.code)
    }
}
