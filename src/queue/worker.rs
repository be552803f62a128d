//! The worker: a claimer feeds claimed rows to `concurrency` slots; each slot owns one
//! transport connection, sends, and waits for its outcome to be recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;
use uuid::Uuid;

use super::compose::Composer;
use super::held::{self, HeldSends};
use super::recorder::Recorder;
use super::relay_health::RelayHealth;
use super::retry::RetryPolicy;
use crate::clock::{millis, now_ms};
use crate::mail::transport::{SendFailure, Transport};
use crate::report::Chain;
use crate::store::{
    Claimed, Outcome, OutcomeRecord, SendStart, Store, StoreError, SubscriberStatus,
};

/// When a worker stops by itself (besides SIGINT/SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhen {
    Never,
    /// No delivery at all is queued or in flight.
    QueueEmpty,
    /// No delivery of this message is queued or in flight.
    MessageDone(Uuid),
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub concurrency: usize,
    pub batch_size: usize,
    pub lease: Duration,
    pub rate_per_second: Option<u32>,
    pub retry: RetryPolicy,
    pub stop: StopWhen,
    /// How long to wait before looking again when nothing is due.
    pub idle_poll: Duration,
    /// The longest one send may take: a row whose lease has less left is handed back.
    pub send_budget: Duration,
    /// Relay failures in a row after which the issue being sent is paused.
    pub relay_failures_before_pause: u32,
    /// How late a scheduled send may start by itself; later, it is paused.
    pub max_lateness: Duration,
}

#[derive(Debug, Default)]
pub struct WorkerReport {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub released: u64,
    /// Handed back because the relay could not be used.
    pub deferred: u64,
    pub unrecorded: u64,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    released: AtomicU64,
    deferred: AtomicU64,
    unrecorded: AtomicU64,
}

pub struct Worker {
    store: Store,
    transport: Transport,
    composer: Arc<Composer>,
    options: WorkerOptions,
    held: Arc<HeldSends>,
}

impl Worker {
    pub fn new(
        store: Store,
        transport: Transport,
        composer: Composer,
        options: WorkerOptions,
    ) -> Self {
        Self {
            store,
            transport,
            composer: Arc::new(composer),
            options,
            held: Arc::new(HeldSends::default()),
        }
    }

    /// When the worker stops by itself.
    pub fn stopping_when(mut self, stop: StopWhen) -> Self {
        self.options.stop = stop;
        self
    }

    /// The store the worker works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs until the stop condition holds or `shutdown` turns true; then finishes what is
    /// in flight, gives back what was claimed but not started, and returns.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<WorkerReport, StoreError> {
        let o = &self.options;
        let capacity = o.batch_size.max(o.concurrency);
        let (jobs_tx, jobs_rx) = async_channel::bounded::<Job>(capacity);
        let (recorder, recorder_task) = Recorder::spawn(self.store.for_recording());
        let counters = Arc::new(Counters::default());
        let relay = Arc::new(RelayHealth::new(o.relay_failures_before_pause));
        let limiter = o
            .rate_per_second
            .and_then(std::num::NonZeroU32::new)
            .map(|r| Arc::new(RateLimiter::direct(Quota::per_second(r))));
        tracing::info!(transport = %self.transport.describe(), concurrency = o.concurrency, "worker started");

        let mut slots = Vec::with_capacity(o.concurrency);
        for _ in 0..o.concurrency {
            let slot = Slot {
                send_budget_ms: millis(o.send_budget),
                jobs: jobs_rx.clone(),
                recorder: recorder.clone(),
                composer: self.composer.clone(),
                sender: self.transport.sender(),
                retry: o.retry,
                relay: relay.clone(),
                held: self.held.clone(),
                store: self.store.clone(),
                limiter: limiter.clone(),
                shutdown: shutdown.clone(),
                counters: counters.clone(),
            };
            slots.push(tokio::spawn(slot.run()));
        }
        drop(jobs_rx);

        let claim_result = self.claim_loop(&jobs_tx, capacity, shutdown).await;
        jobs_tx.close();
        for slot in slots {
            let _ = slot.await;
        }
        drop(recorder);
        let _ = recorder_task.await;
        claim_result?;
        let report = WorkerReport {
            sent: counters.sent.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
            cancelled: counters.cancelled.load(Ordering::Relaxed),
            released: counters.released.load(Ordering::Relaxed),
            deferred: counters.deferred.load(Ordering::Relaxed),
            unrecorded: counters.unrecorded.load(Ordering::Relaxed),
        };
        tracing::info!(
            sent = report.sent,
            retried = report.retried,
            failed = report.failed,
            cancelled = report.cancelled,
            released = report.released,
            deferred = report.deferred,
            unrecorded = report.unrecorded,
            "worker stopped"
        );
        Ok(report)
    }

    async fn claim_loop(
        &self,
        jobs: &async_channel::Sender<Job>,
        capacity: usize,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        let o = &self.options;
        let store = self.store.for_claiming();
        let lease_ms = millis(o.lease);
        // Rows wait in the channel under their lease: never claim more than a quarter of a
        // lease's worth at the configured rate.
        let rate_cap = o
            .rate_per_second
            .map_or(usize::MAX, |r| {
                (r as usize).saturating_mul(o.lease.as_secs() as usize) / 4
            })
            .max(1);
        let mut db_failures = 0u32;
        let mut next_look = std::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            // Before the first claim and then every HOLD_REFRESH: start scheduled sends (or
            // pause late ones) and learn the holds, so nothing of a held send goes out.
            if std::time::Instant::now() >= next_look {
                match self.look_at_sends(&store).await {
                    Ok(()) => next_look = std::time::Instant::now() + held::REFRESH,
                    Err(e) => {
                        db_failures += 1;
                        if db_failures > 20 {
                            return Err(e);
                        }
                        tracing::warn!(error = %Chain(&e), "reading the sends' holds failed; retrying");
                        sleep_or_shutdown(Duration::from_millis(500), &mut shutdown).await;
                        continue;
                    }
                }
            }
            let room = capacity.saturating_sub(jobs.len());
            let want = room.min(o.batch_size).min(rate_cap);
            // Claim again only when the slots are about to run dry: claimed rows wait under
            // their lease, and a slow server must not make them outlive it.
            // The lease as this process's clock sees it, taken before the claim: conservative.
            let local_deadline = now_ms() + lease_ms;
            let claimed = if jobs.len() < o.concurrency {
                let claimed = match store.now_ms().await {
                    Ok(now) => store.claim(want.max(1), now + lease_ms, now).await,
                    Err(e) => Err(e),
                };
                match claimed {
                    Ok(c) => {
                        db_failures = 0;
                        c
                    }
                    Err(e) => {
                        db_failures += 1;
                        if db_failures > 20 {
                            return Err(e);
                        }
                        tracing::warn!(error = %Chain(&e), "claiming failed; retrying");
                        sleep_or_shutdown(
                            Duration::from_millis(200 * u64::from(db_failures.min(10))),
                            &mut shutdown,
                        )
                        .await;
                        continue;
                    }
                }
            } else {
                Vec::new()
            };
            if claimed.is_empty() {
                if jobs.is_empty() && self.stop_condition_met().await? {
                    return Ok(());
                }
                let pause = if jobs.is_empty() {
                    o.idle_poll
                } else {
                    Duration::from_millis(5)
                };
                sleep_or_shutdown(pause, &mut shutdown).await;
                continue;
            }
            for claimed in claimed {
                if jobs
                    .send(Job {
                        claimed,
                        deadline: local_deadline,
                    })
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
    }

    /// Starts the scheduled sends whose time has come (pausing those found too late) and
    /// refreshes the set of held sends.
    async fn look_at_sends(&self, store: &Store) -> Result<(), StoreError> {
        let now = store.now_ms().await?;
        for event in store
            .start_due_sends(now, millis(self.options.max_lateness))
            .await?
        {
            match event {
                SendStart::Started { slug } => {
                    tracing::info!(issue = %slug, "scheduled send started")
                }
                SendStart::PausedLate { slug, scheduled_at } => tracing::error!(
                    issue = %slug,
                    scheduled_at = %crate::clock::rfc3339(scheduled_at),
                    "a scheduled send was found too late (no worker was running) and is paused; \
                     `morningpost resume` sends it, `morningpost cancel` drops it"
                ),
            }
        }
        self.held.replace(store.held_messages().await?);
        Ok(())
    }

    async fn stop_condition_met(&self) -> Result<bool, StoreError> {
        match self.options.stop {
            StopWhen::Never => Ok(false),
            StopWhen::QueueEmpty => self.store.is_done(None).await,
            StopWhen::MessageDone(id) => self.store.is_done(Some(id)).await,
        }
    }
}

async fn sleep_or_shutdown(pause: Duration, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(pause) => {}
        _ = shutdown.changed() => {}
    }
}

struct Slot {
    /// The longest one send may take (its timeouts), in milliseconds.
    send_budget_ms: i64,
    jobs: async_channel::Receiver<Job>,
    recorder: Recorder,
    composer: Arc<Composer>,
    sender: crate::mail::transport::Sender,
    retry: RetryPolicy,
    relay: Arc<RelayHealth>,
    held: Arc<HeldSends>,
    /// To pause a send whose relay keeps failing.
    store: Store,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    shutdown: watch::Receiver<bool>,
    counters: Arc<Counters>,
}

/// A claimed row and when its lease ends, by this process's clock.
struct Job {
    claimed: Claimed,
    deadline: i64,
}

impl Slot {
    async fn run(mut self) {
        while let Ok(Job {
            claimed: job,
            deadline,
        }) = self.jobs.recv().await
        {
            // While the relay fails, every slot waits out the backoff before its next try.
            self.relay.ready(&mut self.shutdown).await;
            // A send must end before the lease does, or another worker may start the same row.
            let lease_left = deadline - now_ms();
            let outcome = if *self.shutdown.borrow()
                || lease_left < self.send_budget_ms
                || self.held.contains(job.message_id)
            {
                Outcome::Released
            } else {
                self.attempt(&job).await
            };
            let counter = match &outcome {
                Outcome::Sent { .. } => &self.counters.sent,
                Outcome::Retry { .. } => &self.counters.retried,
                Outcome::Failed { .. } => &self.counters.failed,
                Outcome::Cancelled { .. } => &self.counters.cancelled,
                Outcome::Released => &self.counters.released,
                Outcome::Deferred { .. } => &self.counters.deferred,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let record = OutcomeRecord {
                delivery_id: job.delivery_id,
                attempt: job.attempt,
                subscriber_id: job.subscriber_id,
                outcome,
            };
            if !self.recorder.record(record).await {
                self.counters.unrecorded.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sender.close().await;
    }

    async fn attempt(&mut self, job: &Claimed) -> Outcome {
        // Issues go to active subscribers; a confirmation mail to a subscriber still pending.
        let wanted = if job.token_id.is_some() {
            SubscriberStatus::Pending
        } else {
            SubscriberStatus::Active
        };
        if job.subscriber_status != wanted {
            return Outcome::Cancelled {
                reason: format!("subscriber is {}", job.subscriber_status),
            };
        }
        let composed = match self
            .composer
            .compose(job, time::OffsetDateTime::now_utc())
            .await
        {
            Ok(c) => c,
            Err(e) if e.is_permanent() => {
                let why = Chain(&e);
                tracing::error!(delivery = job.delivery_id, %why, "message cannot be built");
                return Outcome::Failed {
                    reply: format!("not sent: {why}"),
                    bounce: false,
                };
            }
            Err(e) => return self.retry_or_give_up(job, Chain(&e).to_string()),
        };
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        match self
            .sender
            .send(&composed.envelope, &composed.message_id, &composed.bytes)
            .await
        {
            Ok(reply) => {
                self.relay.worked();
                tracing::debug!(delivery = job.delivery_id, %reply, "sent");
                Outcome::Sent { reply }
            }
            Err(SendFailure::Permanent {
                reply,
                no_such_user,
            }) => {
                self.relay.worked();
                tracing::debug!(delivery = job.delivery_id, %reply, "permanent failure");
                Outcome::Failed {
                    reply,
                    bounce: no_such_user,
                }
            }
            Err(failure @ SendFailure::Temporary { .. }) => {
                self.relay.worked();
                let reply = failure.reply();
                tracing::debug!(delivery = job.delivery_id, %reply, "temporary failure");
                self.retry_or_give_up(job, reply)
            }
            Err(failure @ SendFailure::Relay { .. }) => {
                self.relay_failed(job, failure.reply()).await
            }
        }
    }

    /// Not this recipient's fault: the row goes back unharmed, every slot backs off, and
    /// past the threshold the issue is paused for the operator (confirmation mail is never
    /// paused: it only waits).
    async fn relay_failed(&self, job: &Claimed, reply: String) -> Outcome {
        let failure = self.relay.failed();
        // The operator hears of it at once (ERROR), then without a line per message.
        if failure.in_a_row == 1 {
            tracing::error!(delivery = job.delivery_id, %reply, "the SMTP relay cannot be used; messages go back to the queue until it can");
        } else {
            tracing::warn!(delivery = job.delivery_id, %reply, in_a_row = failure.in_a_row, "the SMTP relay still cannot be used");
        }
        if failure.pause && job.token_id.is_none() {
            let reason = format!(
                "the relay failed {} times in a row (last: {reply}); fix the relay, then `morningpost resume` the issue",
                failure.in_a_row
            );
            match self.store.pause(job.message_id, &reason, now_ms()).await {
                Ok(Some(_)) => {
                    self.held.insert(job.message_id);
                    self.relay.restart_count();
                    tracing::error!(message = %job.message_id, %reason, "send paused");
                }
                Ok(None) => self.held.insert(job.message_id),
                Err(e) => {
                    tracing::error!(error = %Chain(&e), "cannot pause the send after relay failures")
                }
            }
        }
        Outcome::Deferred {
            reply,
            due_at: failure.retry_at,
        }
    }

    fn retry_or_give_up(&self, job: &Claimed, reply: String) -> Outcome {
        match self
            .retry
            .next_attempt(job.failures, job.queued_at, now_ms(), rand::random::<f64>())
        {
            Some(due_at) => Outcome::Retry { reply, due_at },
            None => Outcome::Failed {
                reply: format!("gave up after {} tries: {reply}", job.failures + 1),
                bounce: false,
            },
        }
    }
}
