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

    /// When the first relay may be used again (now or earlier when one may be used now).
    pub fn next_usable_at(&self) -> i64 {
        self.relays
            .iter()
            .map(|r| r.health.usable_at())
            .min()
            .unwrap_or_default()
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
            let is_up = |r: &Relay| r.health.blocked_for(now).is_none();
            let current = link.as_ref().map(|l| l.relay);
            let here = current.and_then(|c| self.relays.get(c));
            // The up relay (not the current one) that one more session would load least.
            let best = self
                .relays
                .iter()
                .enumerate()
                .filter(|&(i, r)| Some(i) != current && is_up(r))
                .filter(|(_, r)| r.sessions.available_permits() > 0)
                .min_by(|(_, a), (_, b)| a.load(1).total_cmp(&b.load(1)));
            let current_up = here.is_some_and(is_up);
            // Stay unless moving would even out the sessions per weight.
            let stay = match (here, best) {
                (Some(here), Some((_, there))) => here.load(0) <= there.load(1),
                _ => true,
            };
            if current_up && stay {
                return link;
            }
            let any_up = self.relays.iter().any(is_up);
            if any_up && self.all_out.swap(false, Ordering::AcqRel) {
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
            let pause = if !any_up {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn relays(smtp_url: &str, slots: usize) -> Relays {
        let settings =
            crate::config::Settings::from_env_for_tests(&[("MORNINGPOST_SMTP_URL", smtp_url)]);
        let transport = Transport::named_by(&settings).expect("relays");
        Relays::new(&transport, slots, 3)
    }

    /// Each of `slots` slots takes its first session; which relay each got.
    async fn first_links(relays: &Relays, slots: usize) -> (Vec<Link>, Vec<usize>) {
        let (_tx, mut shutdown) = watch::channel(false);
        let mut links = Vec::new();
        for _ in 0..slots {
            if let Some(link) = relays.link(None, &mut shutdown).await {
                links.push(link);
            }
        }
        let on = links.iter().map(|l| l.relay).collect();
        (links, on)
    }

    #[tokio::test]
    async fn sessions_are_shared_by_weight() {
        let r = relays("smtp://a.example?weight=3 smtp://b.example", 8);
        let (_links, on) = first_links(&r, 8).await;
        assert_eq!(on.iter().filter(|&&i| i == 0).count(), 6, "{on:?}");
        assert_eq!(on.iter().filter(|&&i| i == 1).count(), 2, "{on:?}");
    }

    #[tokio::test]
    async fn max_connections_caps_a_relay_and_the_rest_go_elsewhere() {
        let r = relays(
            "smtp://a.example?max_connections=1&weight=10 smtp://b.example",
            4,
        );
        let (_links, on) = first_links(&r, 4).await;
        assert_eq!(on.iter().filter(|&&i| i == 0).count(), 1, "{on:?}");
        assert_eq!(on.iter().filter(|&&i| i == 1).count(), 3, "{on:?}");
    }

    #[tokio::test]
    async fn a_failed_relay_hands_its_slots_over_and_gets_them_back() {
        let r = relays("smtp://a.example smtp://b.example", 2);
        let (mut links, on) = first_links(&r, 2).await;
        assert_eq!(on, [0, 1]);
        let (_tx, mut shutdown) = watch::channel(false);
        let on_a = links.remove(0);
        r.get(0).expect("relay a").health.failed();
        assert!(r.another_is_up(0) && !r.another_is_up(1));
        let moved = r.link(Some(on_a), &mut shutdown).await.expect("a session");
        assert_eq!(moved.relay, 1, "the slot moved to the relay that works");
        // Back up: a new slot goes to the relay with fewer sessions.
        r.get(0).expect("relay a").health.worked();
        let (_more, on) = first_links(&r, 1).await;
        assert_eq!(on, [0]);
    }
}
