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
use super::relays::{Link, Relays};
use super::retry::RetryPolicy;
use super::share::ClaimShare;
use crate::clock::{millis, now_ms};
use crate::config::ConfirmationMailBudget;
use crate::mail::transport::{SendFailure, Transport};
use crate::metrics::DomainLabels;
use crate::metrics::record::{self, DeliveryLabels, DeliveryOutcome};
use crate::report::Chain;
use crate::store::{
    Claimed, Outcome, OutcomeRecord, SendStart, Store, StoreError, SubscriberStatus,
};

/// How often the list's largest domains (the metrics' domain label) are counted again.
const DOMAINS_REFRESH: Duration = Duration::from_secs(600);

/// How often a worker folds the delivery counts of database connections that are gone
/// (`Store::fold_delivery_counts`, decision 41); the first time at its start.
const COUNTS_FOLD: Duration = Duration::from_secs(3600);

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
    /// The hourly budget of confirmation mail (`share`).
    pub confirmation_mail_per_hour: ConfirmationMailBudget,
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
    /// Handed back because the relay asked us to slow down.
    pub throttled: u64,
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
    throttled: AtomicU64,
    unrecorded: AtomicU64,
}

impl Counters {
    fn of(&self, outcome: DeliveryOutcome) -> &AtomicU64 {
        match outcome {
            DeliveryOutcome::Sent => &self.sent,
            DeliveryOutcome::Retried => &self.retried,
            DeliveryOutcome::Refused | DeliveryOutcome::Failed => &self.failed,
            DeliveryOutcome::Cancelled => &self.cancelled,
            DeliveryOutcome::Released => &self.released,
            DeliveryOutcome::Deferred => &self.deferred,
            DeliveryOutcome::Throttled => &self.throttled,
        }
    }
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
        let (recorder, recorder_task) = Recorder::spawn(self.store.for_recording(), o.concurrency);
        let counters = Arc::new(Counters::default());
        let relays = Arc::new(Relays::new(
            &self.transport,
            o.concurrency,
            o.relay_failures_before_pause,
        ));
        let domains = Arc::new(std::sync::RwLock::new(self.domain_labels().await));
        let limiter = o
            .rate_per_second
            .and_then(std::num::NonZeroU32::new)
            .map(|r| Arc::new(RateLimiter::direct(Quota::per_second(r))));
        tracing::info!(transport = %self.transport.describe(), concurrency = o.concurrency, "worker started");
        record::worker_slots(o.concurrency);

        let mut slots = Vec::with_capacity(o.concurrency);
        for _ in 0..o.concurrency {
            let slot = Slot {
                send_budget_ms: millis(o.send_budget),
                jobs: jobs_rx.clone(),
                recorder: recorder.clone(),
                composer: self.composer.clone(),
                relays: relays.clone(),
                link: None,
                domains: domains.clone(),
                retry: o.retry,
                held: self.held.clone(),
                store: self.store.clone(),
                limiter: limiter.clone(),
                shutdown: shutdown.clone(),
                counters: counters.clone(),
            };
            slots.push(tokio::spawn(slot.run()));
        }
        drop(jobs_rx);

        let claim_result = self
            .claim_loop(&jobs_tx, capacity, &domains, shutdown)
            .await;
        jobs_tx.close();
        for slot in slots {
            let _ = slot.await;
        }
        drop(recorder);
        let _ = recorder_task.await;
        record::worker_slots(0);
        claim_result?;
        let report = WorkerReport {
            sent: counters.sent.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
            cancelled: counters.cancelled.load(Ordering::Relaxed),
            released: counters.released.load(Ordering::Relaxed),
            deferred: counters.deferred.load(Ordering::Relaxed),
            throttled: counters.throttled.load(Ordering::Relaxed),
            unrecorded: counters.unrecorded.load(Ordering::Relaxed),
        };
        tracing::info!(
            sent = report.sent,
            retried = report.retried,
            failed = report.failed,
            cancelled = report.cancelled,
            released = report.released,
            deferred = report.deferred,
            throttled = report.throttled,
            unrecorded = report.unrecorded,
            "worker stopped"
        );
        Ok(report)
    }

    async fn claim_loop(
        &self,
        jobs: &async_channel::Sender<Job>,
        capacity: usize,
        domains: &std::sync::RwLock<DomainLabels>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        let o = &self.options;
        let store = self.store.for_claiming();
        let lease_ms = millis(o.lease);
        // Rows claimed ahead wait in the channel under their lease, and whatever is claimed
        // next (a reader's confirmation) waits behind them: a paced worker claims about a
        // second's worth at a time (never under its slot count), and never more than a
        // quarter of a lease's worth.
        let rate_cap = o
            .rate_per_second
            .map_or(usize::MAX, |r| {
                let r = r as usize;
                r.max(o.concurrency)
                    .min(r.saturating_mul(o.lease.as_secs() as usize) / 4)
            })
            .max(1);
        let mut share = ClaimShare::new(o.confirmation_mail_per_hour);
        let mut db_failures = 0u32;
        let mut next_look = std::time::Instant::now();
        let mut next_domains = std::time::Instant::now() + DOMAINS_REFRESH;
        let mut next_fold = std::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            // The list's largest domains change as it grows: counted again now and then.
            if std::time::Instant::now() >= next_domains {
                let labels = self.domain_labels().await;
                *domains.write().unwrap_or_else(|p| p.into_inner()) = labels;
                next_domains = std::time::Instant::now() + DOMAINS_REFRESH;
            }
            // A few rows per connection that ever changed a delivery: merged now and then,
            // so that reading the counts stays a few rows per message. Not urgent: a
            // failure waits for the next time.
            if std::time::Instant::now() >= next_fold {
                if let Err(e) = store.fold_delivery_counts().await {
                    tracing::warn!(error = %Chain(&e), "cannot fold the delivery counts; trying again in an hour");
                }
                next_fold = std::time::Instant::now() + COUNTS_FOLD;
            }
            // Before the first claim and then every HOLD_REFRESH: start scheduled sends (or
            // pause late ones) and learn the holds, so nothing of a held send goes out.
            if std::time::Instant::now() >= next_look {
                match self.look_at_sends(&store).await {
                    Ok(()) => next_look = std::time::Instant::now() + held::REFRESH,
                    Err(e) => {
                        wait_out(
                            &mut db_failures,
                            "reading the sends' holds",
                            e,
                            &mut shutdown,
                        )
                        .await?;
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
                    Ok(now) => share.claim(&store, want.max(1), now + lease_ms, now).await,
                    Err(e) => Err(e),
                };
                match claimed {
                    Ok(c) => {
                        db_failures = 0;
                        c
                    }
                    Err(e) => {
                        wait_out(&mut db_failures, "claiming", e, &mut shutdown).await?;
                        continue;
                    }
                }
            } else {
                Vec::new()
            };
            if claimed.is_empty() {
                if jobs.is_empty() {
                    match self.stop_condition_met().await {
                        Ok(true) => return Ok(()),
                        Ok(false) => {}
                        Err(e) => {
                            wait_out(&mut db_failures, "checking for work left", e, &mut shutdown)
                                .await?;
                            continue;
                        }
                    }
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

    /// The metrics' domain label, from the list's largest domains now. A database that
    /// cannot say leaves every domain `other`: the send does not wait for a label.
    async fn domain_labels(&self) -> DomainLabels {
        // A full pass over the list at a million readers: only where metrics are served.
        if !crate::metrics::installed() {
            return DomainLabels::default();
        }
        match self.store.top_domains(crate::metrics::TOP_DOMAINS).await {
            Ok(top) => DomainLabels::new(top),
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "metrics: cannot count the list's domains; every domain is `other`");
                DomainLabels::default()
            }
        }
    }

    async fn stop_condition_met(&self) -> Result<bool, StoreError> {
        match self.options.stop {
            StopWhen::Never => Ok(false),
            StopWhen::QueueEmpty => self.store.is_done(None).await,
            StopWhen::MessageDone(id) => self.store.is_done(Some(id)).await,
        }
    }
}

/// One more database failure in a row: waits the pause [`super::database_retry`] gives
/// (or until shutdown), or hands the error back when the worker should stop.
async fn wait_out(
    failures: &mut u32,
    what: &str,
    e: StoreError,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), StoreError> {
    *failures += 1;
    let pause = super::database_retry(what, *failures, &e).ok_or(e)?;
    sleep_or_shutdown(pause, shutdown).await;
    Ok(())
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
    relays: Arc<Relays>,
    /// The session this slot holds, with one relay.
    link: Option<Link>,
    domains: Arc<std::sync::RwLock<DomainLabels>>,
    retry: RetryPolicy,
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
            // A relay first: while every relay is out, this waits out the backoff.
            self.link = self.relays.link(self.link.take(), &mut self.shutdown).await;
            record::worker_in_flight(1.0);
            let (outcome, counted) = if *self.shutdown.borrow()
                || self.link.is_none()
                || self.held.contains(job.message_id)
                || !self.lease_allows_a_send(deadline)
            {
                (Outcome::Released, DeliveryOutcome::Released)
            } else {
                self.attempt(&job, deadline).await
            };
            record::worker_in_flight(-1.0);
            self.counters.of(counted).fetch_add(1, Ordering::Relaxed);
            let relay = self
                .link
                .as_ref()
                .and_then(|l| self.relays.get(l.relay))
                .map_or("none", |r| r.name.as_str());
            if crate::metrics::installed() {
                let issue = self.composer.label(job.message_id).await;
                let domains = self.domains.read().unwrap_or_else(|p| p.into_inner());
                record::delivery(
                    counted,
                    &DeliveryLabels {
                        issue: &issue,
                        domain: domains.of(&job.email),
                        relay,
                    },
                );
            }
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
        if let Some(mut link) = self.link.take() {
            link.sender.close().await;
        }
    }

    /// A send must end before the lease does, or another worker may start the same row.
    fn lease_allows_a_send(&self, deadline: i64) -> bool {
        deadline - now_ms() >= self.send_budget_ms
    }

    async fn attempt(&mut self, job: &Claimed, deadline: i64) -> (Outcome, DeliveryOutcome) {
        // Issues go to active subscribers; a confirmation mail to a subscriber still pending.
        let wanted = if job.token_id.is_some() {
            SubscriberStatus::Pending
        } else {
            SubscriberStatus::Active
        };
        if job.subscriber_status != wanted {
            let reason = format!("subscriber is {}", job.subscriber_status);
            return (Outcome::Cancelled { reason }, DeliveryOutcome::Cancelled);
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
                let reply = format!("not sent: {why}");
                return (
                    Outcome::Failed {
                        reply,
                        bounce: false,
                    },
                    DeliveryOutcome::Failed,
                );
            }
            Err(e) => return self.retry_or_give_up(job, Chain(&e).to_string()),
        };
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let relays = self.relays.clone();
        let Some(relay) = self.link.as_ref().and_then(|l| relays.get(l.relay)) else {
            return (Outcome::Released, DeliveryOutcome::Released);
        };
        // The relay's own pace; a long wait may leave too little lease for a send.
        let wait = relay.pace.turn(std::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            if !self.lease_allows_a_send(deadline) {
                return (Outcome::Released, DeliveryOutcome::Released);
            }
        }
        let Some(link) = self.link.as_mut() else {
            return (Outcome::Released, DeliveryOutcome::Released);
        };
        let started = std::time::Instant::now();
        let result = link
            .sender
            .send(&composed.envelope, &composed.message_id, &composed.bytes)
            .await;
        if let Some(connect) = link.sender.take_connect_time() {
            record::connect_seconds(&relay.name, connect.as_secs_f64());
        }
        let reply = match &result {
            Ok(reply) => reply.clone(),
            Err(failure) => failure.reply(),
        };
        if !matches!(result, Err(SendFailure::Relay { .. })) {
            record::transaction_seconds(&relay.name, started.elapsed().as_secs_f64());
            record::smtp_reply(&relay.name, &reply);
            if relay.health.worked() {
                record::relay_up(&relay.name, true);
                tracing::info!(relay = %relay.name, "the relay works again");
            }
        }
        match result {
            Ok(_) => {
                relay.pace.accepted(std::time::Instant::now());
                tracing::debug!(delivery = job.delivery_id, relay = %relay.name, %reply, "sent");
                (Outcome::Sent { reply }, DeliveryOutcome::Sent)
            }
            Err(SendFailure::Permanent { no_such_user, .. }) => {
                tracing::debug!(delivery = job.delivery_id, %reply, "permanent failure");
                (
                    Outcome::Failed {
                        reply,
                        bounce: no_such_user,
                    },
                    DeliveryOutcome::Refused,
                )
            }
            Err(SendFailure::Temporary { .. }) => {
                tracing::debug!(delivery = job.delivery_id, %reply, "temporary failure");
                self.retry_or_give_up(job, reply)
            }
            Err(SendFailure::Throttled { .. }) => {
                let rate = relay.pace.throttled(std::time::Instant::now());
                record::relay_throttled(&relay.name);
                record::relay_rate_limit(&relay.name, rate);
                tracing::info!(relay = %relay.name, %reply, rate_per_second = format!("{rate:.1}"), "the relay asks us to slow down; the message goes back to the queue");
                // Not the reader's fault and not a failure: back to the queue as it was.
                (Outcome::Released, DeliveryOutcome::Throttled)
            }
            Err(SendFailure::Relay { .. }) => {
                let index = link.relay;
                self.relay_failed(job, index, reply).await
            }
        }
    }

    /// Not this recipient's fault: the row goes back unharmed and the relay is taken out
    /// for a backoff. With another relay up, the row is due again at once (another relay
    /// takes it); with none, it waits for the backoff, and past the threshold the issue is
    /// paused for the operator (confirmation mail is never paused: it only waits).
    async fn relay_failed(
        &self,
        job: &Claimed,
        index: usize,
        reply: String,
    ) -> (Outcome, DeliveryOutcome) {
        let Some(relay) = self.relays.get(index) else {
            return (Outcome::Released, DeliveryOutcome::Released);
        };
        let failure = relay.health.failed();
        record::relay_up(&relay.name, false);
        let another = self.relays.another_is_up(index);
        // The operator hears of it at once (ERROR), then once per try: the sends that were
        // on their way when it was taken out say nothing more.
        match (failure.counted, failure.in_a_row) {
            (true, 1) => {
                tracing::error!(relay = %relay.name, delivery = job.delivery_id, %reply, other_relay_up = another, "the SMTP relay cannot be used; its messages go back to the queue until a relay can take them")
            }
            (true, _) => {
                tracing::warn!(relay = %relay.name, delivery = job.delivery_id, %reply, in_a_row = failure.in_a_row, "the SMTP relay still cannot be used")
            }
            (false, _) => {
                tracing::debug!(relay = %relay.name, delivery = job.delivery_id, %reply, "a send already on its way to a relay taken out failed too")
            }
        }
        if failure.pause && !another && job.token_id.is_none() {
            let reason = format!(
                "the relay failed {} times in a row (last: {reply}); fix the relay, then `morningpost resume` the issue",
                failure.in_a_row
            );
            match self.store.pause(job.message_id, &reason, now_ms()).await {
                Ok(Some(_)) => {
                    self.held.insert(job.message_id);
                    relay.health.restart_count();
                    tracing::error!(message = %job.message_id, %reason, "send paused");
                }
                Ok(None) => self.held.insert(job.message_id),
                Err(e) => {
                    tracing::error!(error = %Chain(&e), "cannot pause the send after relay failures")
                }
            }
        }
        // Due when a relay can take it: now if another is up, else when the first is back.
        let due_at = if another {
            now_ms()
        } else {
            self.relays.next_usable_at().max(now_ms())
        };
        (
            Outcome::Deferred { reply, due_at },
            DeliveryOutcome::Deferred,
        )
    }

    fn retry_or_give_up(&self, job: &Claimed, reply: String) -> (Outcome, DeliveryOutcome) {
        match self
            .retry
            .next_attempt(job.failures, job.queued_at, now_ms(), rand::random::<f64>())
        {
            Some(due_at) => (Outcome::Retry { reply, due_at }, DeliveryOutcome::Retried),
            None => (
                Outcome::Failed {
                    reply: format!("gave up after {} tries: {reply}", job.failures + 1),
                    bounce: false,
                },
                DeliveryOutcome::Failed,
            ),
        }
    }
}
