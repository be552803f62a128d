//! Group commit of outcomes: every slot waits until its outcome is durable before it takes
//! the next message, and all outcomes that arrive during one commit share the next one.
//! So at most `concurrency` messages can be sent again after a crash, and SQLite's single
//! writer sees one transaction per burst instead of one per message.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::now_ms;
use crate::store::{OutcomeRecord, Store};

const MAX_BATCH: usize = 512;
const DB_RETRIES: u32 = 8;

type Ack = oneshot::Sender<bool>;

#[derive(Clone)]
pub(super) struct Recorder {
    tx: mpsc::Sender<(OutcomeRecord, Ack)>,
}

impl Recorder {
    pub fn spawn(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let handle = tokio::spawn(run(store, rx));
        (Self { tx }, handle)
    }

    /// Waits until the outcome is committed. `false` when it could not be recorded (the row
    /// then comes due again when its lease expires).
    pub async fn record(&self, record: OutcomeRecord) -> bool {
        let (ack, done) = oneshot::channel();
        if self.tx.send((record, ack)).await.is_err() {
            return false;
        }
        done.await.unwrap_or(false)
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<(OutcomeRecord, Ack)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let records: Vec<OutcomeRecord> = batch.iter().map(|(r, _)| r.clone()).collect();
        let ok = commit(&store, &records).await;
        for (_, ack) in batch.drain(..) {
            let _ = ack.send(ok);
        }
    }
}

/// Retries a failed commit (a lost connection, a busy database) with a growing pause.
async fn commit(store: &Store, records: &[OutcomeRecord]) -> bool {
    let mut pause = Duration::from_millis(50);
    for attempt in 1..=DB_RETRIES {
        match store.record(records, now_ms()).await {
            Ok(0) => return true,
            Ok(fenced) => {
                tracing::warn!(
                    fenced,
                    "outcomes refused by the fence: a newer attempt owns those rows"
                );
                return true;
            }
            Err(e) if attempt < DB_RETRIES => {
                tracing::warn!(error = %e, attempt, "recording outcomes failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(error = %e, rows = records.len(), "cannot record outcomes; the rows will be retried after their lease");
            }
        }
    }
    false
}
