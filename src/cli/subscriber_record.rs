//! `subscribers show EMAIL` (everything held about one address: the GDPR art. 15 answer) and
//! `subscribers remove EMAIL` (unsubscribe them, cancelling what is queued).

use std::process::ExitCode;

use anyhow::Context;

use super::stdout::outln;
use crate::clock::{now_ms, rfc3339};
use crate::domain::SubscriberEmail;
use crate::store::Store;

fn address(email: &str) -> anyhow::Result<SubscriberEmail> {
    SubscriberEmail::parse(email).with_context(|| format!("{email:?} is not an address"))
}

fn when(t: Option<i64>) -> String {
    t.map_or_else(|| "-".to_owned(), rfc3339)
}

pub async fn show(store: &Store, email: &str) -> anyhow::Result<ExitCode> {
    let email = address(email)?;
    let Some(r) = store.subscriber_record(&email.normalized()).await? else {
        anyhow::bail!("no subscriber has the address {email}");
    };
    outln!("subscriber {}", r.email)?;
    outln!("  name          {}", r.name.as_deref().unwrap_or("-"))?;
    outln!("  status        {}", r.status)?;
    outln!(
        "  time zone     {}",
        r.time_zone.as_deref().unwrap_or("- (the newsletter's)")
    )?;
    outln!("  joined        {}", rfc3339(r.created_at))?;
    outln!("  confirmed     {}", when(r.confirmed_at))?;
    outln!("  unsubscribed  {}", when(r.unsubscribed_at))?;
    outln!(
        "  bounced       {}{}",
        when(r.bounced_at),
        r.bounce_reply
            .as_deref()
            .map(|b| format!(": {b}"))
            .unwrap_or_default()
    )?;
    outln!("  complained    {}", when(r.complained_at))?;
    outln!("  last change   {}", rfc3339(r.updated_at))?;
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
    if store.unsubscribe(s.id, now_ms()).await? {
        outln!("{email} is unsubscribed; nothing queued for them will be sent")?;
    } else {
        outln!("{email} is {} already; nothing changed", s.status)?;
    }
    Ok(ExitCode::SUCCESS)
}
