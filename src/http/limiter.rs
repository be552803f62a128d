//! The sign-up rate limit: `per_minute` sign-ups per client, in bursts of up to that many
//! (GCRA: a client's whole state is one instant, when its allowance is whole again).
//!
//! The state is bounded: a client whose allowance is whole again is the same as one never
//! seen, so it is forgotten (every minute, and whenever the table has doubled); and when more
//! than `max_clients` are limited at once, the quarter nearest to a whole allowance is
//! forgotten early. A flood of distinct addresses can then neither grow memory past the bound
//! nor lock anybody out: at worst some clients get their allowance back a little early.
//! IPv6 clients are counted per /64, the block one subscriber line usually gets.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Clients tracked at most (about 50 bytes each).
pub const MAX_CLIENTS: usize = 100_000;
/// How often forgotten clients' memory is given back, traffic or not.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Below this many clients the table is not worth pruning on insert.
const MIN_PRUNE_AT: usize = 1024;

pub struct Limiter {
    /// The time one sign-up uses up: a minute / `per_minute`.
    interval: Duration,
    /// A whole allowance: `per_minute` × `interval`.
    burst: Duration,
    max_clients: usize,
    clients: Mutex<Clients>,
}

struct Clients {
    /// When each client's allowance is whole again.
    whole_at: HashMap<IpAddr, Instant>,
    /// Prune before inserting past this many.
    prune_at: usize,
}

impl Limiter {
    pub fn new(per_minute: u32, max_clients: usize) -> Self {
        let per_minute = per_minute.max(1);
        let interval = (Duration::from_secs(60) / per_minute).max(Duration::from_millis(1));
        Self {
            interval,
            burst: interval * per_minute,
            max_clients: max_clients.max(1),
            clients: Mutex::new(Clients {
                whole_at: HashMap::new(),
                prune_at: MIN_PRUNE_AT.min(max_clients.max(1)),
            }),
        }
    }

    /// `Err(wait)` when the client has used up its allowance.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = key(client);
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let whole_at = clients.whole_at.get(&key).copied().unwrap_or(now).max(now);
        let used = whole_at.duration_since(now) + self.interval;
        if used > self.burst {
            return Err(used - self.burst);
        }
        if !clients.whole_at.contains_key(&key) && clients.whole_at.len() >= clients.prune_at {
            self.prune_locked(&mut clients, now);
        }
        clients.whole_at.insert(key, now + used);
        Ok(())
    }

    /// Forgets the clients whose allowance is whole again; past `max_clients`, also the
    /// quarter nearest to it.
    pub fn prune(&self, now: Instant) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        self.prune_locked(&mut clients, now);
    }

    fn prune_locked(&self, clients: &mut Clients, now: Instant) {
        clients.whole_at.retain(|_, whole_at| *whole_at > now);
        if clients.whole_at.len() >= self.max_clients {
            let mut instants: Vec<Instant> = clients.whole_at.values().copied().collect();
            let quarter = instants.len() / 4;
            let (_, cut, _) = instants.select_nth_unstable(quarter);
            let cut = *cut;
            clients.whole_at.retain(|_, whole_at| *whole_at > cut);
        }
        let len = clients.whole_at.len();
        if clients.whole_at.capacity() > 4 * len.max(MIN_PRUNE_AT) {
            clients.whole_at.shrink_to_fit();
        }
        clients.prune_at = (2 * len).clamp(MIN_PRUNE_AT.min(self.max_clients), self.max_clients);
    }

    /// Clients tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .whole_at
            .len()
    }

    /// Prunes every minute while the limiter lives, so a flood's memory is given back even
    /// if no sign-up follows it.
    pub fn spawn_pruning(limiter: &Arc<Self>) {
        let limiter: Weak<Self> = Arc::downgrade(limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PRUNE_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                match limiter.upgrade() {
                    Some(l) => l.prune(Instant::now()),
                    None => return,
                }
            }
        });
    }
}

/// IPv4 addresses count alone; IPv6 addresses by their /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// The middleware on `POST /subscribe`: 429 with `Retry-After` past the allowance.
pub async fn limit(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = &app.inner.limiter else {
        return next.run(request).await;
    };
    // The accept loop always sets the peer; without one every request shares one allowance.
    let client = app
        .inner
        .client_ip
        .of_request(&request)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match limiter.check(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            crate::metrics::record::signup("limited");
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many sign-ups from your address: try again in {seconds} s.\n"),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(i: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from_bits(0x0a00_0000 + i))
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let l = Limiter::new(3, 100);
        let t = Instant::now();
        let a = v4(1);
        assert_eq!(l.check(a, t), Ok(()));
        assert_eq!(l.check(a, t), Ok(()));
        assert_eq!(l.check(a, t), Ok(()));
        assert_eq!(l.check(a, t), Err(Duration::from_secs(20)));
        assert_eq!(
            l.check(v4(2), t),
            Ok(()),
            "another client has its own allowance"
        );
        assert_eq!(
            l.check(a, t + Duration::from_secs(19)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(l.check(a, t + Duration::from_secs(20)), Ok(()));
        assert_eq!(
            l.check(a, t + Duration::from_secs(20)),
            Err(Duration::from_secs(20))
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let l = Limiter::new(1, 100);
        let t = Instant::now();
        assert_eq!(l.check("2001:db8:1:2::1".parse().unwrap(), t), Ok(()));
        assert!(l.check("2001:db8:1:2:ffff::9".parse().unwrap(), t).is_err());
        assert_eq!(l.check("2001:db8:1:3::1".parse().unwrap(), t), Ok(()));
    }

    #[test]
    fn clients_whose_allowance_is_whole_again_are_forgotten() {
        let l = Limiter::new(10, MAX_CLIENTS);
        let t = Instant::now();
        for i in 0..5000 {
            l.check(v4(i), t).unwrap();
        }
        // One sign-up each: whole again after 6 s. Pruning inside that keeps them all.
        l.prune(t + Duration::from_secs(5));
        assert_eq!(l.tracked(), 5000);
        l.prune(t + Duration::from_secs(6));
        assert_eq!(l.tracked(), 0, "the table was emptied");
        // New clients after a quiet spell push the old ones out without an explicit prune.
        let later = t + Duration::from_secs(120);
        for i in 0..5000 {
            l.check(v4(i), t).unwrap();
        }
        // The table doubles before it is pruned: at 8,192 the 5,000 old ones go.
        for i in 5000..5000 + 4096 {
            l.check(v4(i), later).unwrap();
        }
        assert_eq!(l.tracked(), 4096);
    }

    #[test]
    fn a_flood_of_distinct_clients_stays_within_the_bound() {
        // 400,000 distinct clients within one second: every one still limited (the old
        // limiter kept all 400,000 for good).
        let max = 10_000;
        let l = Limiter::new(10, max);
        let t = Instant::now();
        for i in 0..400_000 {
            assert_eq!(
                l.check(v4(i), t + Duration::from_micros(u64::from(i))),
                Ok(())
            );
            assert!(
                l.tracked() <= max,
                "{} clients tracked after {i}",
                l.tracked()
            );
        }
        assert!(
            l.tracked() > max / 2,
            "the bound is used, not emptied: {}",
            l.tracked()
        );
        // The newest clients are the ones still limited.
        let now = t + Duration::from_secs(1);
        assert!(l.check(v4(399_999), now).is_ok());
        for _ in 0..8 {
            l.check(v4(399_999), now).unwrap();
        }
        assert!(l.check(v4(399_999), now).is_err());
    }
}
