//! `morningpost issues`: every stored issue, newest first, with its send's state and counts.

use std::process::ExitCode;

use super::stdout::outln;
use crate::config::Settings;
use crate::send::issue_state;

pub async fn list(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    let issues = store.issues().await?;
    if issues.is_empty() {
        outln!("no issue is stored yet: `morningpost send ISSUE-FILE` stores and sends one")?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:<10}  {:<24}  {:<9}  {:>9}  {:>9}  {:>7}  {:>9}  subject",
        "date",
        "slug",
        "state",
        "sent",
        "unsent",
        "failed",
        "cancelled"
    )?;
    for i in &issues {
        let state = issue_state(i.enqueued_at, &i.send, &i.counts);
        let c = &i.counts;
        outln!(
            "{:<10}  {:<24}  {:<9}  {:>9}  {:>9}  {:>7}  {:>9}  {}",
            i.issue_date,
            i.slug,
            state.as_str(),
            c.sent,
            c.unsent(),
            c.failed,
            c.cancelled,
            i.subject
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
