//! The connections `serve` holds, at most `max` at once. When all slots are taken, the oldest
//! connection without a request in progress (a silent socket, a drip-fed header, an idle
//! keep-alive) is closed to make room: HTTP lets a server close an idle connection at any
//! time, and a client that is not talking must not keep out one that is. Only when every slot
//! has a request in progress is a newcomer turned away.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;

/// How long a newcomer waits for the connection closed for it to give its slot back.
const EVICTION_WAIT: Duration = Duration::from_millis(250);

pub struct Slots {
    free: Arc<Semaphore>,
    /// Oldest first.
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
}

/// What the accept loop and a connection's task share about it.
pub struct Conn {
    in_progress: AtomicUsize,
    /// Since the connection opened, when its last response was ready (0: none yet).
    last_done_ms: AtomicU64,
    opened: Instant,
    closing: AtomicBool,
    /// Rung when the connection must close, and when a request starts or ends.
    pub wake: Notify,
}

impl Conn {
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// No request in progress.
    pub fn idle(&self) -> bool {
        self.in_progress.load(Ordering::Acquire) == 0
    }

    /// No request was ever handed to the application.
    pub fn never_served(&self) -> bool {
        self.idle() && self.last_done_ms.load(Ordering::Acquire) == 0
    }

    /// When the connection, idle after a response, is to be closed; `None` while a request
    /// is in progress or before the first one (the header timeout covers that).
    pub fn idle_deadline(&self, idle_timeout: Duration) -> Option<Instant> {
        let last_done = self.last_done_ms.load(Ordering::Acquire);
        (self.idle() && last_done > 0)
            .then(|| self.opened + Duration::from_millis(last_done) + idle_timeout)
    }

    /// Counts a request as in progress until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InProgress {
        self.in_progress.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
        InProgress(Arc::clone(self))
    }
}

pub struct InProgress(Arc<Conn>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let conn = &self.0;
        // At least 1 ms, so that 0 keeps meaning "nothing served yet".
        let ms = u64::try_from(conn.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        conn.last_done_ms.store(ms.max(1), Ordering::Release);
        conn.in_progress.fetch_sub(1, Ordering::AcqRel);
        conn.wake.notify_one();
    }
}

/// A connection's hold on a slot; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
    id: u64,
    pub conn: Arc<Conn>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().remove(&self.id);
    }
}

impl Slots {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            free: Arc::new(Semaphore::new(max.max(1))),
            open: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot: a free one, or one an idle connection gives up. `None` when every slot has a
    /// request in progress.
    pub async fn admit(self: &Arc<Self>) -> Option<Slot> {
        let permit = match Arc::clone(&self.free).try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return None,
            Err(TryAcquireError::NoPermits) => {
                if !self.close_oldest_idle() {
                    return None;
                }
                tokio::time::timeout(EVICTION_WAIT, Arc::clone(&self.free).acquire_owned())
                    .await
                    .ok()?
                    .ok()?
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_progress: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(0),
            opened: Instant::now(),
            closing: AtomicBool::new(false),
            wake: Notify::new(),
        });
        self.lock().insert(id, Arc::clone(&conn));
        Some(Slot {
            slots: Arc::clone(self),
            id,
            conn,
            _permit: permit,
        })
    }

    /// Closes the oldest connection without a request in progress; false when there is none.
    pub fn close_oldest_idle(&self) -> bool {
        let open = self.lock();
        let oldest = open.values().find(|c| !c.closing() && c.idle());
        if let Some(conn) = oldest {
            conn.close();
        }
        oldest.is_some()
    }

    /// Asks every connection to close once its request in progress, if any, is answered.
    pub fn close_all(&self) {
        for conn in self.lock().values() {
            conn.close();
        }
    }

    pub fn open(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_house_makes_room_by_closing_the_oldest_idle_connection() {
        let slots = Slots::new(2);
        let first = slots.admit().await.expect("a free slot");
        let second = slots.admit().await.expect("a free slot");
        let busy = second.conn.request();
        // The first is idle: it is asked to close, and its slot goes to the newcomer once the
        // connection's task lets go of it.
        let closing = Arc::clone(&first.conn);
        let release = tokio::spawn(async move {
            closing.wake.notified().await;
            assert!(closing.closing());
            drop(first);
        });
        let third = slots.admit().await.expect("the idle connection's slot");
        release.await.unwrap();
        assert!(
            !second.conn.closing(),
            "a connection with a request is left alone"
        );
        assert_eq!(slots.open(), 2);
        // Now both have requests in progress: a newcomer is turned away.
        let _busy_too = third.conn.request();
        assert!(slots.admit().await.is_none());
        drop(busy);
        assert!(second.conn.idle_deadline(Duration::from_secs(5)).is_some());
    }
}
