//! What an operator does to a send once it is queued: pause, resume, cancel, retry, publish.
//! Each is a store call by the issue's slug; the command line only prints the outcome.

use crate::clock::now_ms;
use crate::store::{Hold, QueueCounts, RetryScope, SendControl, Store, StoreError, StoredMessage};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no stored issue has the slug {0:?}: `morningpost issues` lists them")]
    NoSuchIssue(String),
    #[error(
        "issue {0} was cancelled: `morningpost send ISSUE --resume` sends what the cancel stopped"
    )]
    Cancelled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored issue with this slug.
pub async fn find_issue(store: &Store, slug: &str) -> Result<StoredMessage, ControlError> {
    store
        .message_by_slug(slug)
        .await?
        .filter(|m| m.kind == crate::store::MessageKind::Issue)
        .ok_or_else(|| ControlError::NoSuchIssue(slug.chars().take(80).collect()))
}

/// Where an issue's send stands, as `issues` and `status` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    /// Stored, never queued.
    Stored,
    /// Queued for a later time.
    Scheduled,
    Sending,
    Paused,
    /// Nothing left to send or retry.
    Done,
    Cancelled,
}

impl IssueState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The state of a send from its control columns and counts: a hold says it all; else a
/// send not yet started is scheduled, one with rows left is sending, the rest are done.
pub fn issue_state(
    enqueued_at: Option<i64>,
    send: &SendControl,
    counts: &QueueCounts,
) -> IssueState {
    match send.hold {
        Some(Hold::Cancelled) => IssueState::Cancelled,
        Some(Hold::Paused) => IssueState::Paused,
        None if enqueued_at.is_none() => IssueState::Stored,
        None if send.started_at.is_none() && send.scheduled_at.is_some() => IssueState::Scheduled,
        None if counts.queued + counts.sending > 0 => IssueState::Sending,
        None => IssueState::Done,
    }
}

/// Pauses the issue's send. `Ok(None)`: it was held already.
pub async fn pause(store: &Store, slug: &str) -> Result<Option<u64>, ControlError> {
    let m = find_issue(store, slug).await?;
    if m.send.hold == Some(Hold::Cancelled) {
        return Err(ControlError::Cancelled(slug.to_owned()));
    }
    Ok(store
        .pause(m.id, "paused by the operator", now_ms())
        .await?)
}

/// Resumes a paused send. `Ok(None)`: it was not paused.
pub async fn resume(store: &Store, slug: &str) -> Result<Option<u64>, ControlError> {
    let m = find_issue(store, slug).await?;
    if m.send.hold == Some(Hold::Cancelled) {
        return Err(ControlError::Cancelled(slug.to_owned()));
    }
    Ok(store.resume(m.id, now_ms()).await?)
}

/// Cancels the send. `Ok(None)`: it was cancelled before.
pub async fn cancel(store: &Store, slug: &str) -> Result<Option<u64>, ControlError> {
    let m = find_issue(store, slug).await?;
    Ok(store.cancel(m.id, now_ms()).await?)
}

/// Puts failed and/or waiting deliveries back in the queue, due now.
pub async fn retry(store: &Store, slug: &str, scope: RetryScope) -> Result<u64, ControlError> {
    let m = find_issue(store, slug).await?;
    if m.send.hold == Some(Hold::Cancelled) {
        return Err(ControlError::Cancelled(slug.to_owned()));
    }
    Ok(store.retry_deliveries(m.id, scope, now_ms()).await?)
}

/// Shows the issue in the web archive, or takes it down.
pub async fn set_published(store: &Store, slug: &str, public: bool) -> Result<(), ControlError> {
    let m = find_issue(store, slug).await?;
    Ok(store.set_published(m.id, public, now_ms()).await?)
}
