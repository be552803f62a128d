//! `serve` against clients that hold connections without finishing requests: silent sockets,
//! drip-fed headers, idle keep-alives, bodies that never arrive, hundreds of such sockets
//! under a low open-file limit, and SIGTERM while they are open. Real sockets against the
//! real binary.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::app::App;
use support::http::{Server, get, request};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    s
}

/// Reads until the server closes the connection (or resets it); `None` if it is still open
/// after `within`. The bytes read on the way are returned.
fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<(Duration, Vec<u8>)> {
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .ok();
        match stream.read(&mut buf) {
            Ok(0) => return Some((start.elapsed(), seen)),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some((start.elapsed(), seen)),
        }
    }
    None
}

/// One response on a kept-alive connection: the head and a `Content-Length` body.
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            other => panic!("the response head ended early: {other:?}"),
        }
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .expect("a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("the body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/// A sign-up whose body is announced as 100 bytes and never all sent.
fn half_sent_sign_up(port: u16) -> TcpStream {
    let mut s = connect(port);
    s.write_all(
        b"POST /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=",
    )
    .expect("send a head and part of a body");
    s
}

#[test]
fn silent_drip_fed_and_idle_connections_are_closed_on_time() {
    let mut app = App::new();
    // Far enough apart that each close says which timeout fired.
    app.set("MORNINGPOST_HTTP_HEADER_TIMEOUT_SECONDS", "3")
        .set("MORNINGPOST_HTTP_IDLE_TIMEOUT_SECONDS", "1");
    let s = Server::start(&mut app, &["--no-worker"]);
    let port = s.port;
    std::thread::scope(|scope| {
        // Silent: connects and sends nothing. Closed at the header timeout (was: never).
        let silent = scope.spawn(|| closed_within(&mut connect(port), Duration::from_secs(8)));
        // Drip-fed: a header line every 250 ms, never the blank line that ends the head.
        // Closed at the header timeout, counted from the start (was: never).
        let drip = scope.spawn(|| {
            let mut c = connect(port);
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(8) {
                if c.write_all(b"X-Drip: 1\r\n").is_err() {
                    return Some(start.elapsed());
                }
                if let Some((after, _)) = closed_within(&mut c, Duration::from_millis(250)) {
                    return Some(start.elapsed() - Duration::from_millis(250) + after);
                }
            }
            None
        });
        // Idle keep-alive: still usable at 0.4 s, closed about 1 s after its last
        // response (was: kept for good).
        let idle = scope.spawn(|| {
            let mut c = connect(port);
            c.write_all(HEALTHZ).unwrap();
            assert_eq!(read_response(&mut c), (200, "ok\n".to_owned()));
            std::thread::sleep(Duration::from_millis(400));
            c.write_all(HEALTHZ).unwrap();
            assert_eq!(
                read_response(&mut c),
                (200, "ok\n".to_owned()),
                "a kept-alive connection serves a second request"
            );
            closed_within(&mut c, Duration::from_secs(6))
        });
        let (silent, _) = silent
            .join()
            .unwrap()
            .expect("the silent socket was closed");
        assert!(
            (Duration::from_millis(1500)..Duration::from_millis(4000)).contains(&silent),
            "silent socket closed after {silent:?}, header timeout 2 s"
        );
        let drip = drip
            .join()
            .unwrap()
            .expect("the drip-fed socket was closed");
        assert!(
            (Duration::from_millis(1500)..Duration::from_millis(4000)).contains(&drip),
            "drip-fed socket closed after {drip:?}, header timeout 2 s"
        );
        let (idle, _) = idle.join().unwrap().expect("the idle socket was closed");
        assert!(
            (Duration::from_millis(700)..Duration::from_millis(1900)).contains(&idle),
            "idle keep-alive closed after {idle:?}, idle timeout 1 s"
        );
    });
}

#[test]
fn a_body_that_does_not_arrive_gets_408_at_the_body_deadline() {
    let mut app = App::new();
    app.set("MORNINGPOST_HTTP_BODY_TIMEOUT_SECONDS", "2")
        .set("MORNINGPOST_HTTP_HEADER_TIMEOUT_SECONDS", "30")
        .set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    let s = Server::start(&mut app, &["--no-worker"]);
    let mut c = half_sent_sign_up(s.port);
    // Was: no answer, the connection held for good.
    let (after, answer) =
        closed_within(&mut c, Duration::from_secs(8)).expect("answered and closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {after:?}: {answer}"
    );
    assert!(
        answer.contains("did not arrive within 2 s"),
        "says what happened: {answer}"
    );
    assert!(
        (Duration::from_millis(1500)..Duration::from_millis(4500)).contains(&after),
        "answered after {after:?}, body deadline 2 s"
    );
    assert_eq!(
        app.statuses(),
        "",
        "nothing was stored from a body that did not arrive"
    );
}

#[test]
fn past_the_cap_idle_connections_make_room_and_busy_ones_get_503() {
    let mut app = App::new();
    app.set("MORNINGPOST_HTTP_MAX_CONNECTIONS", "4")
        .set("MORNINGPOST_HTTP_HEADER_TIMEOUT_SECONDS", "30")
        .set("MORNINGPOST_HTTP_BODY_TIMEOUT_SECONDS", "30")
        .set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    let s = Server::start(&mut app, &["--no-worker"]);
    let port = s.port;
    std::thread::sleep(Duration::from_millis(200)); // Server::start's own probes are gone

    // Four silent sockets fill the four slots; a real client still gets in, and the oldest
    // silent socket is the one closed for it.
    let mut silent: Vec<TcpStream> = (0..4)
        .map(|_| {
            let c = connect(port);
            std::thread::sleep(Duration::from_millis(50));
            c
        })
        .collect();
    let r = get(port, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    assert!(
        closed_within(&mut silent[0], Duration::from_secs(1)).is_some(),
        "the oldest idle connection gave its slot up"
    );
    assert!(
        closed_within(&mut silent[3], Duration::from_millis(300)).is_none(),
        "the newest silent socket is still open"
    );
    drop(silent);

    // Four requests in progress (bodies still coming) take every slot: a newcomer is
    // answered 503 at once (was: served, however many connections were open).
    std::thread::sleep(Duration::from_millis(200));
    let mut busy: Vec<TcpStream> = (0..4).map(|_| half_sent_sign_up(port)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let r = get(port, "/healthz");
    assert_eq!(r.status, 503, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.body.contains("busy"), "{}", r.body);

    // One request finishes: its slot serves the next client.
    let rest = format!("{:<94}", "a%40example.com");
    busy[0].write_all(rest.as_bytes()).unwrap();
    let (_, answer) = closed_within(&mut busy[0], Duration::from_secs(5)).expect("answered");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 "),
        "the finished request was answered"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(port, "/healthz").status, 200);
}

#[test]
fn hundreds_of_silent_and_drip_fed_sockets_under_a_low_file_limit_leave_room_for_clients() {
    let mut app = App::new();
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    // 256 descriptors in all; 300 hostile sockets would take them all (was: every accept
    // failed with "Too many open files", /healthz and /subscribe went unanswered).
    let s = Server::start_limited(&mut app, &["--no-worker"], 256);
    let port = s.port;
    let mut silent: Vec<TcpStream> = (0..200).map(|_| connect(port)).collect();
    let drip: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut c = connect(port);
            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n");
            c
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let attack = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut drip = drip;
            let mut fresh = std::collections::VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                // Drip a header byte into each socket, and keep opening silent ones.
                drip.retain_mut(|c| c.write_all(b"X").is_ok());
                for _ in 0..20 {
                    if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
                        fresh.push_back(c);
                    }
                    if fresh.len() > 300 {
                        fresh.pop_front();
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..5 {
        let started = Instant::now();
        let r = get(port, "/healthz");
        let took = started.elapsed();
        assert_eq!((r.status, r.body.as_str()), (200, "ok\n"), "request {i}");
        assert!(took < Duration::from_secs(1), "request {i} took {took:?}");
        let started = Instant::now();
        let r = request(
            port,
            "POST",
            "/subscribe",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("email=under-attack{i}%40example.com").as_bytes(),
        );
        let took = started.elapsed();
        assert_eq!(r.status, 200, "sign-up {i}: {}", r.body);
        assert!(took < Duration::from_secs(1), "sign-up {i} took {took:?}");
    }
    stop.store(true, Ordering::Relaxed);
    attack.join().unwrap();
    for c in &silent {
        let _ = c.shutdown(Shutdown::Both);
    }
    silent.clear();
    let (status, log) = s.stop_with_log();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("serving at most") && log.contains("LimitNOFILE"),
        "the lowered cap is logged: {log}"
    );
    assert!(
        !log.contains("Too many open files"),
        "accept never ran out of descriptors: {log}"
    );
}

#[test]
fn sigterm_with_half_sent_requests_open_exits_within_the_shutdown_deadline() {
    let mut app = App::new();
    app.set("MORNINGPOST_HTTP_SHUTDOWN_TIMEOUT_SECONDS", "2")
        .set("MORNINGPOST_HTTP_HEADER_TIMEOUT_SECONDS", "60")
        .set("MORNINGPOST_HTTP_BODY_TIMEOUT_SECONDS", "60")
        .set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    let mut s = Server::start(&mut app, &["--no-worker"]);
    let port = s.port;
    // One sign-up that will finish during the shutdown, one body and one head that never will.
    let body = "email=grace%40example.com";
    let mut finishing = connect(port);
    finishing
        .write_all(
            format!(
                "POST /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\nemail=",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let _never_body = half_sent_sign_up(port);
    let mut never_head = connect(port);
    never_head
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let sent = s.terminate();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no new connections once stopping"
    );
    assert!(
        closed_within(&mut never_head, Duration::from_secs(1)).is_some(),
        "a connection without a request is closed at once"
    );
    // A request in progress is still answered.
    finishing
        .write_all(body.get("email=".len()..).unwrap().as_bytes())
        .unwrap();
    let (_, answer) = closed_within(&mut finishing, Duration::from_secs(5)).expect("answered");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("Check your inbox"),
        "{answer}"
    );
    // The body that never comes holds the exit only until the deadline (was: for good).
    let status = s.wait_exit(Duration::from_secs(10));
    let took = sent.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "exited with {status:?} after {took:?}"
    );
    assert!(
        (Duration::from_millis(1800)..Duration::from_millis(4500)).contains(&took),
        "exited {took:?} after SIGTERM, shutdown deadline 2 s"
    );
    assert_eq!(app.status_of("grace@example.com"), "pending");
}

#[test]
fn a_taken_port_is_reported_once_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let mut app = App::new();
    app.set("MORNINGPOST_BIND", &addr.to_string());
    let (ok, _, err) = app.run(&["serve", "--no-worker"]);
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot listen on {addr}; set MORNINGPOST_BIND")),
        "{err}"
    );
    // The OS error is the cause, printed once by main (was: twice, in the message too).
    assert_eq!(err.matches("in use").count(), 1, "{err}");
}
