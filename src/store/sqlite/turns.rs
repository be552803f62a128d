//! Turns at SQLite's one writer connection. The pool lends it first come, first served, and
//! under a sign-up flood a sign-up batch (as large as what arrived while the last one ran)
//! stood in line before every claim and every outcome of the worker: the issue went out at
//! a third of its speed. The worker's writes go first: a sign-up batch waits while one of
//! them waits, so a claim waits behind at most the batch already in line. The wait is
//! bounded, so sign-ups are slowed under a busy worker, never stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The longest a sign-up batch stands aside: a visitor's answer waits at most this long
/// for the worker.
const MAX_DEFERRAL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub(super) struct WriterTurns {
    /// Writes that go first, waiting for the writer now.
    first: AtomicUsize,
    clear: Notify,
}

/// Held by a write that goes first until it has the writer.
pub(super) struct FirstInLine<'a>(&'a WriterTurns);

impl WriterTurns {
    pub fn first(&self) -> FirstInLine<'_> {
        self.first.fetch_add(1, Ordering::SeqCst);
        FirstInLine(self)
    }

    /// Returns when no write that goes first is waiting, or after [`MAX_DEFERRAL`].
    pub async fn stand_aside(&self) {
        let _ = tokio::time::timeout(MAX_DEFERRAL, async {
            loop {
                let clear = self.clear.notified();
                tokio::pin!(clear);
                // Registered before the count is read: a release in between still wakes us.
                clear.as_mut().enable();
                if self.first.load(Ordering::SeqCst) == 0 {
                    return;
                }
                clear.await;
            }
        })
        .await;
    }
}

impl Drop for FirstInLine<'_> {
    fn drop(&mut self) {
        if self.0.first.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.clear.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deferred_write_waits_for_the_first_and_no_longer_than_its_bound() {
        let turns = std::sync::Arc::new(WriterTurns::default());
        let started = tokio::time::Instant::now();
        turns.stand_aside().await;
        assert!(
            started.elapsed() < Duration::from_millis(20),
            "nobody first: no wait"
        );

        let first = turns.first();
        let waiting = {
            let turns = turns.clone();
            tokio::spawn(async move {
                let t = tokio::time::Instant::now();
                turns.stand_aside().await;
                t.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(first);
        let waited = waiting.await.unwrap();
        assert!(
            waited >= Duration::from_millis(25) && waited < MAX_DEFERRAL,
            "released when the first got the writer: {waited:?}"
        );

        let _held = turns.first();
        let started = tokio::time::Instant::now();
        turns.stand_aside().await;
        assert!(
            started.elapsed() >= MAX_DEFERRAL,
            "a worker that never lets go does not stop sign-ups"
        );
    }
}
