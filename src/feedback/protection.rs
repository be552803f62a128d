//! The sender's reputation: an issue whose complaint rate or hard-bounce rate passes its
//! limit, after enough deliveries to judge, is paused for the operator (Gmail and Yahoo want
//! complaints under 0.3% from bulk senders).
//!
//! Each issue's counts are read on its first report and then counted along in memory, read
//! again after [`REFRESH`] (a server's webhook lives for days while the send goes on): a
//! hundred thousand reports cost a hundred thousand records, not as many counts of a million
//! rows.

use std::collections::HashMap;

use tokio::sync::Mutex;
use uuid::Uuid;

use crate::clock::now_ms;
use crate::config::BounceSettings;
use crate::store::{BounceClass, Store, StoreError};

/// Deliveries an issue must have before its rates are judged.
pub const MIN_DELIVERIES: i64 = 1_000;

/// How long counts read from the database are counted along before they are read again.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Protection {
    complaint_rate: f64,
    bounce_rate: f64,
    issues: Mutex<HashMap<Uuid, Tally>>,
}

/// One issue's counts as this run knows them.
#[derive(Debug, Clone, Copy)]
struct Tally {
    sent: i64,
    hard: i64,
    complaints: i64,
    /// Judged past a limit already (paused, or held before).
    done: bool,
    read_at: std::time::Instant,
}

impl Protection {
    pub fn from_settings(b: &BounceSettings) -> Self {
        Self {
            complaint_rate: b.pause_complaint_rate,
            bounce_rate: b.pause_bounce_rate,
            issues: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a report just recorded about this issue's delivery; pauses the issue's send
    /// when a rate passes its limit. Returns the reason when it paused it.
    pub async fn recorded(
        &self,
        store: &Store,
        message_id: Uuid,
        class: BounceClass,
    ) -> Result<Option<String>, StoreError> {
        let mut issues = self.issues.lock().await;
        let fresh = issues
            .get(&message_id)
            .is_some_and(|t| t.read_at.elapsed() < REFRESH);
        let tally = match issues.get_mut(&message_id).filter(|_| fresh) {
            Some(t) => {
                match class {
                    BounceClass::Hard => t.hard += 1,
                    BounceClass::Complaint => t.complaints += 1,
                    BounceClass::Soft | BounceClass::Refused => {}
                }
                *t
            }
            None => {
                // Read after the record: the counts include this report.
                let done = issues.get(&message_id).is_some_and(|t| t.done);
                let b = store.bounce_counts(message_id).await?;
                let t = Tally {
                    sent: store.queue_counts(Some(message_id)).await?.sent,
                    hard: b.hard,
                    complaints: b.complaints,
                    done,
                    read_at: std::time::Instant::now(),
                };
                issues.insert(message_id, t);
                t
            }
        };
        if tally.done || tally.sent < MIN_DELIVERIES {
            return Ok(None);
        }
        let rate = |n: i64| n as f64 / tally.sent as f64;
        let why = if rate(tally.complaints) > self.complaint_rate {
            format!(
                "the complaint rate is {:.2}% ({} of {}), past pause_complaint_rate_percent {:.2}%",
                100.0 * rate(tally.complaints),
                tally.complaints,
                tally.sent,
                100.0 * self.complaint_rate
            )
        } else if rate(tally.hard) > self.bounce_rate {
            format!(
                "the hard-bounce rate is {:.2}% ({} of {}), past pause_bounce_rate_percent {:.2}%",
                100.0 * rate(tally.hard),
                tally.hard,
                tally.sent,
                100.0 * self.bounce_rate
            )
        } else {
            return Ok(None);
        };
        if let Some(t) = issues.get_mut(&message_id) {
            t.done = true;
        }
        let reason = format!("{why}: check the list before `morningpost resume`");
        Ok(store
            .pause(message_id, &reason, now_ms())
            .await?
            .map(|_| reason))
    }
}
