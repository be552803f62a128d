//! `morningpost subscribers set-zone EMAIL ZONE`: the operator sets or clears the time zone a
//! local-morning send uses for one subscriber (docs/architecture.md decision 26).

use std::process::ExitCode;

use anyhow::Context;

use super::stdout::outln;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::domain::{SubscriberEmail, TimeZoneName};

/// What ZONE may be to clear the subscriber's own zone.
const CLEAR: [&str; 2] = ["-", "none"];

pub async fn run(settings: &Settings, email: &str, zone: &str) -> anyhow::Result<ExitCode> {
    // The arguments first: a typo is reported as a typo, not as a missing database.
    let email = SubscriberEmail::parse(email)
        .with_context(|| format!("cannot set the time zone of {email:?}"))?;
    let zone = if CLEAR.iter().any(|c| zone.trim().eq_ignore_ascii_case(c)) {
        None
    } else {
        Some(TimeZoneName::parse(zone).with_context(|| {
            format!("cannot set the time zone of {email} (`-` or `none` clears it)")
        })?)
    };
    let store = super::open_store(settings, super::Open::MustExist).await?;
    let unknown = || {
        anyhow::anyhow!(
            "no subscriber has the address {email}: check it with `morningpost subscribers list`"
        )
    };
    let before = store
        .subscriber_by_email(&email.normalized())
        .await?
        .ok_or_else(unknown)?;
    let newsletter = &settings.timezone;
    let was = before.time_zone.as_deref();
    if was == zone.as_ref().map(|z| z.as_str()) {
        match was {
            Some(was) => outln!("{email}: time zone already {was}; nothing changed")?,
            None => outln!(
                "{email}: no time zone of its own to clear (the newsletter's, {newsletter}, applies); nothing changed"
            )?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !store
        .set_time_zone(&email.normalized(), zone.as_ref(), now_ms())
        .await?
    {
        return Err(unknown());
    }
    let was = match was {
        Some(was) => was.to_owned(),
        None => format!("none: the newsletter's, {newsletter}"),
    };
    match zone {
        Some(zone) => outln!("{email}: time zone {zone} (was {was})")?,
        None => outln!(
            "{email}: time zone cleared (was {was}); the newsletter's, {newsletter}, applies"
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
