//! The worker's outcomes go through a group commit ([`crate::group_commit`]): every slot
//! waits until its outcome is durable before it takes the next message, so at most
//! `concurrency` messages can be sent again after a crash.

use crate::clock::now_ms;
use crate::group_commit::GroupCommit;
use crate::store::{OutcomeRecord, Store, StoreError};

const MAX_BATCH: usize = 512;

#[derive(Clone)]
pub(super) struct Recorder(GroupCommit<OutcomeRecord, (), StoreError>);

impl Recorder {
    pub fn spawn(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (group, task) = GroupCommit::spawn(MAX_BATCH, move |records: Vec<OutcomeRecord>| {
            let store = store.clone();
            async move {
                commit(&store, &records).await?;
                Ok(vec![(); records.len()])
            }
        });
        (Self(group), task)
    }

    /// Waits until the outcome is committed. `false` when it could not be recorded (the row
    /// then comes due again when its lease expires).
    pub async fn record(&self, record: OutcomeRecord) -> bool {
        self.0.submit(record).await.is_ok()
    }
}

/// Retries a failed commit as the worker retries every database call
/// ([`super::database_retry`]): a full disk or a lost connection is waited out, with the
/// slots holding their outcomes (recorded late, the fence still applies), rather than
/// leaving sent rows to come due again after their lease.
async fn commit(store: &Store, records: &[OutcomeRecord]) -> Result<(), StoreError> {
    let mut failures = 0;
    loop {
        match store.record(records, now_ms()).await {
            Ok(0) => return Ok(()),
            Ok(fenced) => {
                tracing::warn!(
                    fenced,
                    "outcomes refused by the fence: a newer attempt owns those rows"
                );
                return Ok(());
            }
            Err(e) => {
                failures += 1;
                match super::database_retry("recording outcomes", failures, &e) {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => {
                        tracing::error!(error = %crate::report::Chain(&e), rows = records.len(), "cannot record outcomes; the rows will be retried after their lease");
                        return Err(e);
                    }
                }
            }
        }
    }
}
