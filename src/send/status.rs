//! What `morningpost status [ISSUE]` shows, read in one library call (decision 23): the
//! command prints it as text or JSON, and the enqueue benchmark times it at a million
//! deliveries.

use crate::clock::now_ms;
use crate::store::{
    BounceCounts, ConfirmationBacklog, SendControl, StatusReport, Store, StoredMessage,
};

use super::control::{ControlError, find_issue};

/// Everything `status` prints, read at `now`.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub now: i64,
    /// The issue asked about; `None`: all mail.
    pub issue: Option<IssueStatus>,
    /// Counts, the send rate, the most frequent failures.
    pub report: StatusReport,
    /// All mail only: the sends that wait for their time or for the operator.
    pub waiting: Vec<(String, SendControl)>,
    /// All mail only: the sign-ups' confirmation mail.
    pub backlog: Option<ConfirmationBacklog>,
}

/// What `status ISSUE` adds about one issue.
#[derive(Debug, Clone)]
pub struct IssueStatus {
    pub message: StoredMessage,
    /// What came back after the send.
    pub bounces: BounceCounts,
    /// The receiving domains that refused it most.
    pub refused_by_domain: Vec<(String, i64)>,
    /// First attempts still to come, by hour: (start of the hour, deliveries).
    pub due_by_hour: Vec<(i64, i64)>,
}

/// Reads what `status` shows, for one issue (by slug) or for all mail.
pub async fn read_status(store: &Store, slug: Option<&str>) -> Result<StatusView, ControlError> {
    let message = match slug {
        Some(s) => Some(find_issue(store, s).await?),
        None => None,
    };
    let now = now_ms();
    let report = store
        .status_report(message.as_ref().map(|m| m.id), now)
        .await?;
    Ok(match message {
        Some(message) => {
            let id = message.id;
            StatusView {
                now,
                report,
                waiting: Vec::new(),
                backlog: None,
                issue: Some(IssueStatus {
                    bounces: store.bounce_counts(id).await?,
                    refused_by_domain: store.refused_by_domain(id).await?,
                    due_by_hour: store.due_by_hour(id, now).await?,
                    message,
                }),
            }
        }
        None => StatusView {
            now,
            report,
            waiting: store.waiting_sends().await?,
            backlog: Some(store.confirmation_backlog(now).await?),
            issue: None,
        },
    })
}
