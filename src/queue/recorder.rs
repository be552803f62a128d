//! The worker's outcomes go through a group commit ([`crate::group_commit`]): every slot
//! waits until its outcome is durable before it takes the next message, so at most
//! `concurrency` messages can be sent again after a crash.
//!
//! On PostgreSQL the committer lingers for the other slots' outcomes ([`linger`]).
//! Without it, slots that finish a few milliseconds apart found the last commit done and
//! each paid for one of its own: four workers of 8 slots averaged 1.4 outcomes per commit,
//! and those commits were half of the database's time per message.

use std::time::Duration;

use crate::clock::now_ms;
use crate::group_commit::{GroupCommit, Linger};
use crate::store::{OutcomeRecord, Store, StoreError};

/// How the outcomes are gathered. Where a commit is a round trip to a database that every
/// worker shares, an outcome waits for the others as long as the last commit took (a
/// timer's millisecond at least, 5 ms at most): a busy database gets fewer, larger commits.
/// SQLite commits in this process, in a fraction of the shortest wait there is: there it
/// would only slow the slots (by 7% on a send of 20,000, measured).
fn linger(store: &Store) -> Linger {
    if store.commits_are_round_trips() {
        Linger::AsLongAsTheLastCommit {
            max: Duration::from_millis(5),
        }
    } else {
        Linger::No
    }
}

#[derive(Clone)]
pub(super) struct Recorder(GroupCommit<OutcomeRecord, (), StoreError>);

impl Recorder {
    /// `slots`: how many outcomes can wait at once (each slot waits on its own), a full batch.
    pub fn spawn(store: Store, slots: usize) -> (Self, tokio::task::JoinHandle<()>) {
        let (group, task) =
            GroupCommit::spawn(slots, linger(&store), move |records: Vec<OutcomeRecord>| {
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
