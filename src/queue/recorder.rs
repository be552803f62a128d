//! The worker's outcomes go through a group commit ([`crate::group_commit`]): every slot
//! waits until its outcome is durable before it takes the next message, so at most
//! `concurrency` messages can be sent again after a crash.

use std::time::Duration;

use crate::clock::now_ms;
use crate::group_commit::GroupCommit;
use crate::store::{OutcomeRecord, Store, StoreError};

const MAX_BATCH: usize = 512;
const DB_RETRIES: u32 = 8;

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

/// Retries a failed commit (a lost connection, a busy database) with a growing pause.
async fn commit(store: &Store, records: &[OutcomeRecord]) -> Result<(), StoreError> {
    let mut pause = Duration::from_millis(50);
    let mut attempt = 1;
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
            Err(e) if attempt < DB_RETRIES => {
                super::warn_retrying("recording outcomes", &e);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(error = %crate::report::Chain(&e), rows = records.len(), "cannot record outcomes; the rows will be retried after their lease");
                return Err(e);
            }
        }
    }
}
