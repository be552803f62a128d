//! The relays a worker sends through (docs/architecture.md decision 30). Each slot holds a
//! session with one relay at a time and keeps it while that relay is up and the slots are
//! spread by weight; a relay that fails is taken out for its backoff (relay_health.rs) and
//! the slots on it move to the others; when every relay is out the slots wait, and the
//! worker says so once. Each relay also has its own pace (pace.rs) and session cap
//! (`max_connections`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::pace::Pace;
use super::relay_health::RelayHealth;
use crate::clock::now_ms;
use crate::mail::transport::{Sender, Transport};
use crate::metrics::record;

/// How often a slot looks again while every relay with room is at its session cap.
const CAP_POLL: Duration = Duration::from_millis(20);

pub(super) struct Relay {
    pub name: String,
    pub health: RelayHealth,
    pub pace: Pace,
    weight: u32,
    /// Its `max_connections` (or the worker's slot count) as permits.
    sessions: Arc<Semaphore>,
    capacity: usize,
}

impl Relay {
    fn in_use(&self) -> usize {
        self.capacity - self.sessions.available_permits()
    }

    /// Sessions per unit of weight, counting `extra` more.
    fn load(&self, extra: usize) -> f64 {
        (self.in_use() + extra) as f64 / f64::from(self.weight.max(1))
    }
}

pub(super) struct Relays {
    relays: Vec<Relay>,
    transport: Transport,
    /// Whether the worker has said that every relay is out (said once per outage).
    all_out: AtomicBool,
}

/// A slot's session with one relay: the relay's place in [`Relays`], the connection, and
/// the permit that counts it against the relay's `max_connections`.
pub(super) struct Link {
    pub relay: usize,
    pub sender: Sender,
    _session: OwnedSemaphorePermit,
}

impl Relays {
    pub fn new(transport: &Transport, slots: usize, failures_before_pause: u32) -> Self {
        let now = Instant::now();
        let relays = transport
            .relays()
            .into_iter()
            .map(|(name, limits)| {
                let capacity = limits.max_connections.unwrap_or(slots).max(1);
                record::relay_up(&name, true);
                record::relay_rate_limit(&name, limits.rate_per_second.map_or(0.0, f64::from));
                Relay {
                    health: RelayHealth::new(failures_before_pause),
                    pace: Pace::new(limits.rate_per_second, now),
                    weight: limits.weight,
                    sessions: Arc::new(Semaphore::new(capacity)),
                    capacity,
                    name,
                }
            })
            .collect();
        Self {
            relays,
            transport: transport.clone(),
            all_out: AtomicBool::new(false),
        }
    }

    pub fn get(&self, index: usize) -> Option<&Relay> {
        self.relays.get(index)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.relays.iter().map(|r| r.name.as_str())
    }

    /// Whether some relay other than `except` may be used now.
    pub fn another_is_up(&self, except: usize) -> bool {
        let now = now_ms();
        self.relays
            .iter()
            .enumerate()
            .any(|(i, r)| i != except && r.health.blocked_for(now).is_none())
    }

    /// The session for the slot's next message: `link` kept while its relay is up and the
    /// spread by weight holds, else a session with the up relay that has the fewest
    /// sessions per weight and room for one more. Waits while every relay is out or full;
    /// `None` on shutdown.
    pub async fn link(
        &self,
        link: Option<Link>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Link> {
        let mut link = link;
        loop {
            if *shutdown.borrow() {
                return link;
            }
            let now = now_ms();
            let up: Vec<usize> = (0..self.relays.len())
                .filter(|&i| {
                    self.relays
                        .get(i)
                        .is_some_and(|r| r.health.blocked_for(now).is_none())
                })
                .collect();
            let current = link.as_ref().map(|l| l.relay);
            // The up relay (not the current one) that one more session would load least.
            let best = up
                .iter()
                .copied()
                .filter(|&i| Some(i) != current)
                .filter_map(|i| self.relays.get(i).map(|r| (i, r)))
                .filter(|(_, r)| r.sessions.available_permits() > 0)
                .min_by(|(_, a), (_, b)| a.load(1).total_cmp(&b.load(1)));
            let current_up = current.is_some_and(|c| up.contains(&c));
            // Stay unless moving would even out the sessions per weight.
            let stay = match (current.and_then(|c| self.relays.get(c)), best) {
                (Some(here), Some((_, there))) => here.load(0) <= there.load(1),
                _ => true,
            };
            if current_up && stay {
                return link;
            }
            if !up.is_empty() && self.all_out.swap(false, Ordering::AcqRel) {
                tracing::info!("a relay is back; sending again");
            }
            if let Some((i, relay)) = best
                && let Ok(permit) = relay.sessions.clone().try_acquire_owned()
            {
                if let Some(mut old) = link.take() {
                    old.sender.close().await;
                }
                return Some(Link {
                    relay: i,
                    sender: self.transport.sender(i),
                    _session: permit,
                });
            }
            if current_up {
                return link;
            }
            let pause = if up.is_empty() {
                // Every relay is out: drop the session, wait for the first to come back.
                if let Some(mut old) = link.take() {
                    old.sender.close().await;
                }
                if !self.all_out.swap(true, Ordering::AcqRel) {
                    tracing::error!(
                        relays = %self.names().collect::<Vec<_>>().join(", "),
                        "every relay is failing: the send waits for one to come back (nothing is lost)"
                    );
                }
                self.relays
                    .iter()
                    .filter_map(|r| r.health.blocked_for(now))
                    .min()
                    .unwrap_or(CAP_POLL)
            } else {
                CAP_POLL
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
