//! `send --wait`: when waiting is over, and what it came to. Waiting used to last until the
//! last delivery was final, so one full mailbox (4xx, retried for days) held the command for
//! up to the give-up age; and it exited 0 whatever failed.

use std::time::Duration;

use uuid::Uuid;

use crate::clock::now_ms;
use crate::store::{Hold, QueueCounts, ReplyGroup, SendControl, Store, StoreError};

/// A retry due within this much time is waited for; one due later is reported instead.
pub const RETRY_HORIZON: Duration = Duration::from_secs(60);

/// True when no delivery of the message is in flight or queued to be tried within
/// [`RETRY_HORIZON`]: what is left would only be waited out.
pub async fn settled(store: &Store, message_id: Uuid) -> Result<bool, StoreError> {
    let horizon = now_ms().saturating_add(RETRY_HORIZON.as_millis() as i64);
    Ok(!store.has_due_before(message_id, horizon).await?)
}

/// How a wait ended, from best to worst news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every delivery was sent (cancelled ones, to readers who left meanwhile, count as done).
    AllSent,
    /// Nothing is left to try, and some deliveries failed for good.
    Failures,
    /// Some deliveries are still waiting for a retry (failures may come on top).
    StillToRetry,
    /// The send is paused (by the operator, or by the worker because the relay kept
    /// failing) or cancelled: the operator must act.
    Held { hold: Hold, reason: String },
}

#[derive(Debug, Clone)]
pub struct WaitSummary {
    pub counts: QueueCounts,
    pub send: SendControl,
    /// The most frequent replies of failed deliveries.
    pub failed: Vec<ReplyGroup>,
    /// The most frequent replies of deliveries waiting for a retry, with their next attempt.
    pub retrying: Vec<ReplyGroup>,
}

impl WaitSummary {
    pub async fn read(store: &Store, message_id: Uuid) -> Result<Self, StoreError> {
        let send = store
            .message(message_id)
            .await?
            .map(|m| m.send)
            .unwrap_or_default();
        Ok(Self {
            counts: store.queue_counts(Some(message_id)).await?,
            send,
            failed: store.reply_groups(message_id, false).await?,
            retrying: store.reply_groups(message_id, true).await?,
        })
    }

    pub fn verdict(&self) -> Verdict {
        if let Some(hold) = self.send.hold {
            Verdict::Held {
                hold,
                reason: self.send.hold_reason.clone().unwrap_or_default(),
            }
        } else if self.counts.queued + self.counts.sending > 0 {
            Verdict::StillToRetry
        } else if self.counts.failed > 0 {
            Verdict::Failures
        } else {
            Verdict::AllSent
        }
    }
}
