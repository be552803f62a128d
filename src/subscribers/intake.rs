//! Where a sign-up goes once it is answered (docs/architecture.md decision 40).
//!
//! While the queue holds fewer than [`QUEUED_AHEAD`] confirmation mails, a sign-up is stored
//! at once: a pending subscriber and its confirmation mail, many sign-ups per transaction
//! (a group commit, [`crate::group_commit`]). Past that — a flood faster than its mail can
//! go, or held back by the hourly budget — and for as long as anything is held (first come,
//! first served), it is held in the sign-up inbox instead, as received; the mover releases
//! the oldest through the same store call as the queue drains. The database then takes
//! sign-ups no faster than their mail leaves it, and on SQLite the inbox is a file of its
//! own, so a flood held there no longer shares the database's one writer with the worker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::now_ms;
use crate::group_commit::{GroupCommit, GroupCommitError, Linger};
use crate::metrics::record;
use crate::store::{Store, StoreError, SubscribeOutcome, SubscribeRequest};

/// The confirmation mails the queue may hold before sign-ups are held in the inbox: enough
/// for the workers to send for a while, few enough that a flood stays out of the database.
pub const QUEUED_AHEAD: i64 = 500;

/// Sign-ups stored at once per transaction: a claim of the worker waits behind at most the
/// batch in progress (store/sqlite/turns.rs).
const MAX_BATCH: usize = 64;

/// Sign-ups held per transaction: the inbox has its own write lock on SQLite.
const MAX_HELD_BATCH: usize = 256;

/// Sign-ups released per transaction.
const MAX_RELEASE: i64 = 256;

/// How often the mover looks at the queue and the inbox.
const TICK: Duration = Duration::from_millis(250);

pub type SignupError = GroupCommitError<StoreError>;

/// What became of a sign-up when it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Stored(SubscribeOutcome),
    /// In the inbox, to be stored when the queue has room.
    Held,
}

impl Received {
    /// Its name in a log line and a metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored(outcome) => outcome.as_str(),
            Self::Held => "held",
        }
    }
}

#[derive(Clone)]
pub struct Intake {
    stored: GroupCommit<SubscribeRequest, SubscribeOutcome, StoreError>,
    held: GroupCommit<SubscribeRequest, (), StoreError>,
    /// Set by the mover: whether sign-ups go to the inbox now.
    holding: Arc<AtomicBool>,
}

impl Intake {
    /// Starts both committers and the mover.
    pub fn spawn(store: Store) -> Self {
        let direct = store.clone();
        let (stored, _task) = GroupCommit::spawn(MAX_BATCH, Linger::No, move |requests: Vec<_>| {
            let store = direct.clone();
            async move { store.subscribe_batch(&requests).await }
        });
        let inbox = store.clone();
        let (held, _task) =
            GroupCommit::spawn(MAX_HELD_BATCH, Linger::No, move |requests: Vec<_>| {
                let store = inbox.clone();
                async move {
                    let n = requests.len();
                    store.hold_signups(&requests).await.map(|()| vec![(); n])
                }
            });
        let holding = Arc::new(AtomicBool::new(false));
        tokio::spawn(mover(store, Arc::clone(&holding)));
        Self {
            stored,
            held,
            holding,
        }
    }

    /// Stores or holds the sign-up; answers once it is durable either way.
    pub async fn subscribe(&self, request: SubscribeRequest) -> Result<Received, SignupError> {
        if self.holding.load(Ordering::Acquire) {
            self.held.submit(request).await.map(|()| Received::Held)
        } else {
            self.stored.submit(request).await.map(Received::Stored)
        }
    }
}

/// Looks at the queue and the inbox every [`TICK`]: sets whether sign-ups are held, and
/// releases the oldest held ones while the queue has room. A database error is logged once
/// and the mover goes on looking: the inbox keeps what it holds meanwhile.
async fn mover(store: Store, holding: Arc<AtomicBool>) {
    let mut failing = false;
    loop {
        match step(&store).await {
            Ok(step) => {
                holding.store(step.hold, Ordering::Release);
                if failing {
                    tracing::info!("the sign-up inbox is working again");
                    failing = false;
                }
                if step.released == MAX_RELEASE {
                    continue;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "the sign-up inbox could not be looked at or released; retrying (sign-ups already held wait)");
                    failing = true;
                }
            }
        }
        tokio::time::sleep(TICK).await;
    }
}

struct Step {
    /// Whether new sign-ups go to the inbox.
    hold: bool,
    /// Sign-ups released (read from the inbox) this step.
    released: i64,
}

async fn step(store: &Store) -> Result<Step, StoreError> {
    let due = store
        .confirmations_due_up_to(now_ms(), QUEUED_AHEAD)
        .await?;
    let any_held = store.any_held().await?;
    if !any_held || due >= QUEUED_AHEAD {
        return Ok(Step {
            hold: any_held || due >= QUEUED_AHEAD,
            released: 0,
        });
    }
    let batch = store
        .held_signups((QUEUED_AHEAD - due).min(MAX_RELEASE))
        .await?;
    let Some(last) = batch.last().map(|h| h.seq) else {
        return Ok(Step {
            hold: false,
            released: 0,
        });
    };
    let released = i64::try_from(batch.len()).unwrap_or(i64::MAX);
    let requests: Vec<SubscribeRequest> = batch.into_iter().filter_map(|h| h.request).collect();
    // Stored, then removed from the inbox: a crash between the two stores them again, which
    // the sign-up rules make harmless (a pending address mailed just now is "too soon").
    let outcomes = store.subscribe_batch(&requests).await?;
    store.release_held(last).await?;
    for outcome in outcomes {
        record::signup_released(outcome.as_str());
    }
    tracing::debug!(released, "released held sign-ups");
    // Still holding until a step finds the inbox empty: first come, first served.
    Ok(Step {
        hold: true,
        released,
    })
}
