//! Which client a request comes from: the sign-up rate limit counts by it, and a confirmation
//! records it.
//!
//! Behind a proxy every request comes from the proxy, which appends the address it received
//! the request from to `X-Forwarded-For`. Only the entries our own proxies appended can be
//! believed: everything to their left was written by the client. So the header is read only on
//! connections from a trusted proxy, from the right, past the trusted proxies; the first other
//! address is the client. `X-Real-IP` and `Forwarded` are not read: one header, one rule.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

#[derive(Debug, Clone)]
pub struct ClientIp {
    /// Empty when `trust_forwarded_for` is off: the header is then never read.
    proxies: Vec<IpNet>,
}

impl ClientIp {
    pub fn new(trust_forwarded_for: bool, proxies: &[IpNet]) -> Self {
        Self {
            proxies: if trust_forwarded_for {
                proxies.to_vec()
            } else {
                Vec::new()
            },
        }
    }

    fn is_proxy(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request; `None` when the connection's peer is unknown (the accept loop
    /// always records it; an in-process request may not).
    pub fn of_request<B>(&self, request: &axum::http::Request<B>) -> Option<IpAddr> {
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()?
            .0
            .ip();
        Some(self.of(peer, request.headers()))
    }

    /// Whether a request's `X-Forwarded-For` is read: it came from one of our proxies.
    pub fn reads_forwarded_for<B>(&self, request: &axum::http::Request<B>) -> bool {
        request
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .is_some_and(|peer| self.is_proxy(peer.0.ip().to_canonical()))
    }

    pub fn of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_proxy(peer) {
            return peer;
        }
        // Every entry of every X-Forwarded-For line, in order; `None` for one that is no address.
        let entries: Vec<Option<IpAddr>> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|line| match line.to_str() {
                Ok(line) => line.split(',').map(parse_entry).collect(),
                Err(_) => vec![None],
            })
            .collect();
        let mut nearest = peer;
        for entry in entries.into_iter().rev() {
            match entry {
                Some(ip) if self.is_proxy(ip) => nearest = ip,
                Some(ip) => return ip,
                // No proxy of ours writes that: the nearest trusted hop is all we know.
                None => return nearest,
            }
        }
        nearest
    }
}

/// `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]`, and either with a port (some proxies add it).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .unwrap_or_default()
                .parse::<IpAddr>()
        })
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append("x-forwarded-for", line.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn loopback_trusted() -> ClientIp {
        ClientIp::new(
            true,
            &["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        )
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let c = loopback_trusted();
        let proxy = ip("127.0.0.1");
        // The client wrote the left entries; the proxy appended 203.0.113.7.
        assert_eq!(
            c.of(proxy, &xff(&["192.0.2.55, 203.0.113.7"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            c.of(proxy, &xff(&["192.0.2.55", "203.0.113.7"])),
            ip("203.0.113.7")
        );
        // Past a chain of our own proxies.
        assert_eq!(
            c.of(proxy, &xff(&["1.1.1.1, 203.0.113.7, 127.0.0.2"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            c.of(proxy, &xff(&["[2001:db8::1]:4711"])),
            ip("2001:db8::1")
        );
        assert_eq!(c.of(proxy, &xff(&["203.0.113.7:4711"])), ip("203.0.113.7"));
        assert_eq!(
            c.of(proxy, &xff(&["::ffff:203.0.113.7"])),
            ip("203.0.113.7")
        );
        // Garbage our proxy would not write: the nearest trusted hop.
        assert_eq!(c.of(proxy, &xff(&["203.0.113.7, nonsense"])), proxy);
        assert_eq!(c.of(proxy, &xff(&["203.0.113.7, 127.0.0.9, "])), proxy);
        assert_eq!(
            c.of(proxy, &xff(&["203.0.113.7, nonsense, 127.0.0.9"])),
            ip("127.0.0.9")
        );
        // Only trusted hops: the client is on a trusted address itself.
        assert_eq!(c.of(proxy, &xff(&["127.0.0.5"])), ip("127.0.0.5"));
        assert_eq!(c.of(proxy, &HeaderMap::new()), proxy);
        // A v4 peer seen through a v6 socket is still the trusted proxy.
        assert_eq!(
            c.of(ip("::ffff:127.0.0.1"), &xff(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy_and_only_when_enabled() {
        let headers = xff(&["203.0.113.7"]);
        assert_eq!(
            loopback_trusted().of(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
        let off = ClientIp::new(false, &["127.0.0.0/8".parse().unwrap()]);
        assert_eq!(off.of(ip("127.0.0.1"), &headers), ip("127.0.0.1"));
    }
}
