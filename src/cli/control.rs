//! `pause`, `resume`, `cancel`, `retry`, `publish`, `unpublish`: the operator's hands on a
//! send (the work is in `send::control`).

use std::process::ExitCode;

use super::stdout::outln;
use crate::config::Settings;
use crate::send::control;
use crate::store::RetryScope;

/// What to do to an issue's send.
#[derive(Debug, Clone)]
pub enum Action {
    Pause,
    Resume,
    Cancel,
    Retry(RetryScope),
    Publish,
    Unpublish,
}

pub async fn run(settings: &Settings, slug: &str, action: Action) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    match action {
        Action::Pause => match control::pause(&store, slug).await? {
            Some(n) => outln!(
                "issue {slug} paused: {n} queued deliveries held; workers stop within a second \
                 (sends in flight finish). `morningpost resume {slug}` goes on."
            )?,
            None => outln!("issue {slug} was paused already")?,
        },
        Action::Resume => match control::resume(&store, slug).await? {
            Some(n) => outln!("issue {slug} resumed: {n} deliveries queued again")?,
            None => outln!("issue {slug} was not paused; nothing changed")?,
        },
        Action::Cancel => match control::cancel(&store, slug).await? {
            Some(n) => outln!(
                "issue {slug} cancelled: {n} deliveries will not be sent \
                 (`morningpost send ISSUE --resume` would send them after all)"
            )?,
            None => outln!("issue {slug} was cancelled already")?,
        },
        Action::Retry(scope) => {
            let n = control::retry(&store, slug, scope).await?;
            outln!(
                "issue {slug}: {n} deliveries queued again, due now{}",
                if n > 0 {
                    "; `morningpost worker` (or `serve`) sends them"
                } else {
                    ""
                }
            )?;
        }
        Action::Publish => {
            control::set_published(&store, slug, true).await?;
            outln!("issue {slug} is in the web archive")?;
        }
        Action::Unpublish => {
            control::set_published(&store, slug, false).await?;
            outln!("issue {slug} is no longer in the web archive")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
