//! `subscribers show EMAIL` (everything held about one address: the GDPR art. 15 answer) and
//! `subscribers remove EMAIL` (unsubscribe them, cancelling what is queued).

use std::process::ExitCode;

use anyhow::Context;

use super::stdout::outln;
use crate::clock::{now_ms, rfc3339};
use crate::domain::{SubscriberEmail, TokenKey};
use crate::store::{LeftVia, Store};

fn address(email: &str) -> anyhow::Result<SubscriberEmail> {
    SubscriberEmail::parse(email).with_context(|| format!("{email:?} is not an address"))
}

fn when(t: Option<i64>) -> String {
    t.map_or_else(|| "-".to_owned(), rfc3339)
}

pub async fn show(store: &Store, email: &str) -> anyhow::Result<ExitCode> {
    let email = address(email)?;
    let held = store.held_for(&email.normalized()).await?;
    let held_line = (!held.is_empty()).then(|| {
        let times: Vec<String> = held.iter().map(|&t| rfc3339(t)).collect();
        format!(
            "  held sign-ups {} (in the inbox: stored and mailed when the queue has room)",
            times.join(", ")
        )
    });
    let Some(r) = store.subscriber_record(&email.normalized()).await? else {
        let Some(line) = held_line else {
            anyhow::bail!("no subscriber has the address {email}");
        };
        outln!("no subscriber has the address {email} yet")?;
        outln!("{line}")?;
        return Ok(ExitCode::SUCCESS);
    };
    let b = &r.subscriber;
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    outln!("subscriber {}", b.email)?;
    outln!("  name          {}", or_dash(&b.name))?;
    outln!("  status        {}", b.status)?;
    outln!(
        "  time zone     {}",
        b.time_zone.as_deref().unwrap_or("- (the newsletter's)")
    )?;
    outln!(
        "  joined        {} (by {})",
        rfc3339(b.created_at),
        b.source
    )?;
    outln!(
        "  basis         {}{}",
        b.consent.map_or("none yet (pending)", |c| c.as_str()),
        b.consent_note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default()
    )?;
    outln!("  confirmed     {}", when(b.confirmed_at))?;
    if b.confirm_ip.is_some() || b.confirm_user_agent.is_some() {
        outln!(
            "    by          {} {}",
            or_dash(&b.confirm_ip),
            or_dash(&b.confirm_user_agent)
        )?;
    }
    outln!(
        "  unsubscribed  {}{}",
        when(b.unsubscribed_at),
        b.left_via.map(|v| format!(" (by {v})")).unwrap_or_default()
    )?;
    if let Some(line) = held_line {
        outln!("{line}")?;
    }
    outln!(
        "  bounced       {}{}",
        when(b.bounced_at),
        b.bounce_reply
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    )?;
    outln!("  complained    {}", when(b.complained_at))?;
    outln!(
        "  suppressed    {}",
        r.suppressed.map_or("no".to_owned(), |(reason, at)| format!(
            "{reason}, since {}",
            rfc3339(at)
        ))
    )?;
    outln!("  last change   {}", rfc3339(b.updated_at))?;
    outln!("confirmation mails: {}", r.confirmations.len())?;
    for (issued, used) in &r.confirmations {
        outln!("  issued {}  used {}", rfc3339(*issued), when(*used))?;
    }
    outln!("deliveries: {}", r.deliveries.len())?;
    for d in &r.deliveries {
        outln!(
            "  {:<22} {:<9} queued {}  sent {}  attempts {}  {}",
            d.what,
            d.state,
            rfc3339(d.queued_at),
            when(d.sent_at),
            d.attempts,
            d.last_reply.as_deref().unwrap_or("")
        )?;
    }
    outln!("bounces and complaints: {}", r.reports.len())?;
    for e in &r.reports {
        let words = [
            e.reply_code.as_deref(),
            e.status.as_deref(),
            e.feedback_type.as_deref(),
            e.diagnostic.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        outln!(
            "  {}  {:<9} {}  (matched by {}{})",
            rfc3339(e.received_at),
            e.class,
            words,
            e.matched_by,
            e.issue
                .as_deref()
                .map(|s| format!(", issue {s}"))
                .unwrap_or_default()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn remove(store: &Store, email: &str) -> anyhow::Result<ExitCode> {
    let email = address(email)?;
    let Some(s) = store.subscriber_by_email(&email.normalized()).await? else {
        anyhow::bail!("no subscriber has the address {email}");
    };
    if store.unsubscribe(s.id, LeftVia::Admin, now_ms()).await? {
        outln!("{email} is unsubscribed; nothing queued for them will be sent")?;
    } else {
        outln!("{email} is {} already; nothing changed", s.status)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn suppress(store: &Store, key: &TokenKey, email: &str) -> anyhow::Result<ExitCode> {
    let email = address(email)?;
    match store
        .suppress(&email.normalized(), &key.email_hash(&email), now_ms())
        .await?
    {
        None => outln!(
            "{email} is suppressed: it will not be mailed again (anything queued is cancelled)"
        )?,
        Some(reason) => outln!("{email} was suppressed already ({reason}); nothing changed")?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn unsuppress(store: &Store, key: &TokenKey, email: &str) -> anyhow::Result<ExitCode> {
    let email = address(email)?;
    match store
        .unsuppress(&email.normalized(), &key.email_hash(&email))
        .await?
    {
        Some(reason) => {
            outln!("{email} is off the suppression list (it was there as {reason})")?;
            if let Some(s) = store.subscriber_by_email(&email.normalized()).await? {
                outln!("  its subscriber is {}: that status is unchanged", s.status)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            outln!("{email} is not on the suppression list; nothing changed")?;
            Ok(ExitCode::from(1))
        }
    }
}

/// The erasure request: what was removed is printed, so the operator can answer the reader.
pub async fn erase(store: &Store, key: &TokenKey, email: &str) -> anyhow::Result<ExitCode> {
    let email = address(email)?;
    let erased = store
        .erase(&email.normalized(), &key.email_hash(&email), now_ms())
        .await?;
    if erased.subscriber {
        outln!("erased {email}:")?;
        outln!("  the subscriber row (address, name, dates, basis, time zone)")?;
        outln!(
            "  {} confirmation tokens and their mails",
            erased.confirmation_mails
        )?;
        outln!(
            "  the address and reply texts of {} deliveries (kept, anonymous, in the issues' counts; {} queued were cancelled)",
            erased.deliveries_detached,
            erased.deliveries_cancelled
        )?;
        outln!(
            "  the address and diagnostics of {} bounce or complaint reports (kept, anonymous)",
            erased.reports_detached
        )?;
    } else if erased.held_signups == 0 {
        outln!("no subscriber has the address {email}; nothing else held it")?;
    } else {
        outln!("erased {email}:")?;
    }
    if erased.held_signups > 0 {
        outln!(
            "  {} sign-ups held in the inbox, never stored",
            erased.held_signups
        )?;
    }
    if let Some(reason) = erased.suppression {
        outln!(
            "  the suppression list keeps only a keyed hash of the address ({reason}): \
             it is not mailed again unless it signs up and confirms anew"
        )?;
    }
    outln!(
        "  not touched: mail already delivered, the relay's and your mail server's logs, \
         backups made before now (restore them, then erase again)"
    )?;
    Ok(ExitCode::SUCCESS)
}
