//! Checkpoints of the write-ahead log, mostly off the writer. SQLite checkpoints in
//! whichever connection commits past `wal_autocheckpoint` pages (1,000 by default); under a
//! sign-up flood that was often one of the worker's claims or outcomes, which then copied
//! megabytes into the database file while every other write waited behind it. This task
//! runs a PASSIVE checkpoint (which runs beside the writer) from a reader connection a few
//! times a second, and the writer checkpoints only past 10,000 pages, by then mostly
//! copied. The writer must still checkpoint: the log restarts from its beginning only when
//! a write begins after a complete checkpoint, and with the task alone it never was
//! complete at that moment — the log grew to 2.2 GB in a 30 s flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::SqlitePool;

const PERIOD: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub(super) struct Checkpointer {
    /// A bulk writer (an import) checkpoints in its own, larger steps.
    stood_down: AtomicBool,
}

impl Checkpointer {
    /// Starts the task; it ends when `readers` is closed.
    pub fn spawn(readers: SqlitePool) -> Arc<Self> {
        let this = Arc::new(Self::default());
        let task = this.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PERIOD);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !readers.is_closed() {
                tick.tick().await;
                if task.stood_down.load(Ordering::Relaxed) {
                    continue;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&readers)
                    .await
                {
                    tracing::debug!(error = %crate::report::Chain(&e), "checkpoint failed; trying again");
                }
            }
        });
        this
    }

    pub fn stand_down(&self) {
        self.stood_down.store(true, Ordering::Relaxed);
    }
}
