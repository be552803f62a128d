//! `trust_forwarded_for`: behind a proxy, the sign-up rate limit keys on the address the
//! proxy appended to `X-Forwarded-For`, never on what the client wrote, and only on
//! connections from a trusted proxy. The tests connect from 127.0.0.1, a trusted proxy by
//! default, and write the header a proxy would forward.

mod support;

use support::app::App;
use support::http::request;
use support::in_process::InProcessServer;

fn server(app: &mut App, env: &[(&str, &str)]) -> InProcessServer {
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "3");
    for (k, v) in env {
        app.set(k, v);
    }
    InProcessServer::start(app, false)
}

/// A sign-up with extra headers; its status.
fn sign_up(s: &InProcessServer, email: &str, headers: &[(&str, &str)]) -> u16 {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    let body = format!("email={}", email.replace('@', "%40"));
    request(s.port, "POST", "/subscribe", &all, body.as_bytes()).status
}

#[test]
fn forged_leftmost_entries_do_not_make_new_clients() {
    let mut app = App::new();
    let s = server(&mut app, &[("MORNINGPOST_TRUST_FORWARDED_FOR", "true")]);
    // One client, 203.0.113.7 (appended by the proxy), forging a new leftmost entry each time.
    let statuses: Vec<u16> = (0..50)
        .map(|i| {
            let forwarded = format!("10.0.{i}.1, 203.0.113.7");
            sign_up(
                &s,
                &format!("forged{i}@example.com"),
                &[("X-Forwarded-For", &forwarded)],
            )
        })
        .collect();
    // Was: all 50 passed.
    assert_eq!(statuses[..3], [200, 200, 200]);
    assert!(
        statuses[3..].iter().all(|s| *s == 429),
        "one client, one allowance: {statuses:?}"
    );
}

#[test]
fn forged_requests_naming_a_victim_do_not_lock_it_out() {
    let mut app = App::new();
    let s = server(&mut app, &[("MORNINGPOST_TRUST_FORWARDED_FOR", "true")]);
    // Ten clients each claim to be 192.0.2.55; the proxy appended their real addresses.
    for i in 0..10 {
        let forwarded = format!("192.0.2.55, 198.51.100.{i}");
        assert_eq!(
            sign_up(
                &s,
                &format!("r{i}@example.com"),
                &[("X-Forwarded-For", &forwarded)]
            ),
            200,
            "client {i} has its own allowance"
        );
    }
    // The real 192.0.2.55 still has its whole allowance (was: 429).
    for i in 0..3 {
        assert_eq!(
            sign_up(
                &s,
                &format!("victim{i}@example.com"),
                &[("X-Forwarded-For", "192.0.2.55")]
            ),
            200
        );
    }
    assert_eq!(
        sign_up(
            &s,
            "victim3@example.com",
            &[("X-Forwarded-For", "192.0.2.55")]
        ),
        429,
        "and is limited as itself"
    );
    // A chain through two of our proxies: the client is left of the second.
    assert_eq!(
        sign_up(
            &s,
            "chain@example.com",
            &[("X-Forwarded-For", "192.0.2.55, 198.51.100.77, 127.0.0.2")]
        ),
        200,
        "198.51.100.77 is a new client"
    );
}

#[test]
fn the_header_counts_only_on_connections_from_a_trusted_proxy() {
    let distinct_headers = |s: &InProcessServer, header: &str| -> Vec<u16> {
        (0..5)
            .map(|i| {
                let address = format!("198.51.100.{i}");
                sign_up(
                    s,
                    &format!("{}{i}@example.com", header.to_ascii_lowercase()),
                    &[(header, &address)],
                )
            })
            .collect()
    };
    // 127.0.0.1 is not among the trusted proxies: the header is the client's own word, and
    // every request counts against the connection's address (was: five clients).
    let mut app = App::new();
    let s = server(
        &mut app,
        &[
            ("MORNINGPOST_TRUST_FORWARDED_FOR", "true"),
            ("MORNINGPOST_TRUSTED_PROXIES", "10.0.0.0/8"),
        ],
    );
    assert_eq!(
        distinct_headers(&s, "X-Forwarded-For"),
        [200, 200, 200, 429, 429]
    );
    drop(s);

    // Trusted, but X-Real-IP is not read (was: preferred to the peer).
    let mut app = App::new();
    let s = server(&mut app, &[("MORNINGPOST_TRUST_FORWARDED_FOR", "true")]);
    assert_eq!(distinct_headers(&s, "X-Real-IP"), [200, 200, 200, 429, 429]);
    drop(s);

    // trust_forwarded_for off (the default): never read.
    let mut app = App::new();
    let s = server(&mut app, &[]);
    assert_eq!(
        distinct_headers(&s, "X-Forwarded-For"),
        [200, 200, 200, 429, 429]
    );
}
