//! `GET /metrics`: after a real send the counters say what the database says, and the page
//! answers only the clients it should.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::app::App;
use support::http::{Server, get, request};
use support::scripted_relay::ScriptedRelay;
use support::sink::free_port;

/// `name{labels} value` lines, summed by one label's value (`*` = all together).
fn sum_by(page: &str, metric: &str, label: &str) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        if name != metric {
            continue;
        }
        let key = if label == "*" {
            "*".to_owned()
        } else {
            labels
                .trim_end_matches('}')
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == label)
                .map(|(_, v)| v.trim_matches('"').to_owned())
                .unwrap_or_default()
        };
        *sums.entry(key).or_insert(0.0) += value.parse::<f64>().unwrap_or(f64::NAN);
    }
    sums
}

fn scrape(port: u16) -> String {
    let r = get(port, "/metrics");
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// Rows by state, and failures (tries that ended in a 4xx) over every row, as the database
/// has them.
fn database_counts(app: &App) -> (BTreeMap<String, i64>, i64) {
    let url = app.database_url();
    (
        support::rows::delivery_states(&url),
        support::rows::total_failures(&url),
    )
}

#[test]
fn after_a_send_the_scraped_counters_equal_the_database_counts() {
    let mut app = App::new();
    let relay = ScriptedRelay::start(&app.path("relay"), None);
    app.set("MORNINGPOST_SMTP_URL", &relay.url(""));
    let mut csv = String::from("email,name\n");
    for i in 0..18 {
        csv.push_str(&format!("reader{i}@example.com,Reader {i}\n"));
    }
    csv.push_str("defer1@example.org,Later\nrefuse1@example.org,Gone\n");
    let file = app.path("readers.csv");
    std::fs::write(&file, csv).unwrap();
    app.import_readers(&file);
    let queued = app.ok(&["send", &app.sample_issue()]);
    let slug = queued
        .split_whitespace()
        .nth(1)
        .map(|s| s.trim_end_matches(':').to_owned())
        .expect("send names the issue");

    let port = free_port();
    let mut worker =
        support::ChildGuard(app.spawn(&["worker", "--metrics-bind", &format!("127.0.0.1:{port}")]));
    let deadline = Instant::now() + Duration::from_secs(60);
    // An outcome is counted, then recorded: compare when nothing is in flight in the
    // database and two scrapes around its reading agree.
    let state = |db: &BTreeMap<String, i64>, s: &str| db.get(s).copied().unwrap_or_default();
    let mut last = None;
    let (page, db, failures) = loop {
        if Instant::now() > deadline {
            panic!(
                "the send did not get far enough: {last:?}\n{}",
                worker.stop_with_stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            continue;
        }
        let before = scrape(port);
        let (db, failures) = database_counts(&app);
        let after = scrape(port);
        let counts = |page: &str| {
            (
                sum_by(page, "morningpost_deliveries_total", "outcome"),
                sum_by(page, "morningpost_smtp_replies_total", "enhanced"),
            )
        };
        let settled = counts(&before) == counts(&after)
            && state(&db, "sending") == 0
            && state(&db, "sent") == 18
            && state(&db, "failed") == 1
            && failures >= 2;
        if settled {
            break (after, db, failures);
        }
        last = Some((db, failures));
    };

    let outcomes = sum_by(&page, "morningpost_deliveries_total", "outcome");
    let counted = |o: &str| outcomes.get(o).copied().unwrap_or_default();
    // The 550 was refused at once; the 451 is tried again and again.
    assert_eq!(
        counted("sent"),
        state(&db, "sent") as f64,
        "{outcomes:?} {db:?}"
    );
    assert_eq!(
        counted("refused"),
        state(&db, "failed") as f64,
        "{outcomes:?} {db:?}"
    );
    assert_eq!(counted("retried"), failures as f64, "{outcomes:?} {db:?}");
    assert_eq!(
        counted("failed") + counted("cancelled") + counted("deferred"),
        0.0
    );
    assert_eq!(state(&db, "queued"), 1, "{db:?}");
    let retried = counted("retried");
    let replies = sum_by(&page, "morningpost_smtp_replies_total", "enhanced");
    assert_eq!(replies.get("5.1.1"), Some(&1.0), "{replies:?}");
    assert_eq!(replies.get("2.0.0"), Some(&18.0), "{replies:?}");
    assert_eq!(replies.get("4.3.0"), Some(&retried), "{replies:?}");

    // The list's largest domain is named; the rest is `other`.
    let domains = sum_by(&page, "morningpost_deliveries_total", "domain");
    assert_eq!(domains.get("example.com"), Some(&18.0), "{domains:?}");
    let issues = sum_by(&page, "morningpost_deliveries_total", "issue");
    assert_eq!(issues.keys().collect::<Vec<_>>(), [&slug], "{issues:?}");
    let relays = sum_by(&page, "morningpost_deliveries_total", "relay");
    assert_eq!(
        relays.keys().collect::<Vec<_>>(),
        [&format!("127.0.0.1:{}", relay.port)],
        "{relays:?}"
    );
    // The deferred reader's row, waiting for its next try: the database's gauges are read
    // in the background at most every 10 s, so the right count shows within that.
    let depth_deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = scrape(port);
        let depth = sum_by(&page, "morningpost_queue_deliveries", "*");
        let age = sum_by(&page, "morningpost_database_reading_age_seconds", "*");
        assert!(age.get("*").is_some_and(|a| *a < 11.0), "{page}");
        if depth.get("*") == Some(&1.0) {
            break;
        }
        assert!(Instant::now() < depth_deadline, "{page}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(page.contains("morningpost_sends_paused 0"), "{page}");
    assert!(
        page.contains("morningpost_smtp_transaction_seconds_bucket"),
        "latency is a histogram: {page}"
    );
    assert!(page.contains("morningpost_database_up 1"), "{page}");
    assert!(page.contains("morningpost_build_info{version="), "{page}");
}

#[test]
fn serve_counts_requests_by_route_and_answers_allowed_clients_only() {
    let mut app = App::new();
    let server = Server::start(&mut app, &["--no-worker"]);
    for _ in 0..2 {
        assert_eq!(get(server.port, "/").status, 200);
    }
    assert_eq!(get(server.port, "/confirm/not-a-token").status, 404);
    assert_eq!(get(server.port, "/no/such/page").status, 404);
    let page = scrape(server.port);
    assert!(
        page.contains(r#"morningpost_http_requests_total{route="/",status="200"} 2"#),
        "{page}"
    );
    // Routes by their pattern, never by the path a client typed.
    assert!(
        page.contains(
            r#"morningpost_http_requests_total{route="/confirm/{token}",status="404"} 1"#
        ),
        "{page}"
    );
    assert!(
        !page.contains("not-a-token") && !page.contains("/no/such"),
        "{page}"
    );
    let r = get(server.port, "/metrics");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{r:?}"
    );
    // Relayed by a proxy we were not told to trust: someone unknown.
    let proxied = request(
        server.port,
        "GET",
        "/metrics",
        &[("X-Forwarded-For", "203.0.113.9")],
        b"",
    );
    assert_eq!(proxied.status, 404, "{proxied:?}");
    drop(server);

    // Only the networks of metrics_allowed_from.
    app.set("MORNINGPOST_METRICS_ALLOWED_FROM", "10.0.0.0/8");
    let server = Server::start(&mut app, &["--no-worker"]);
    assert_eq!(get(server.port, "/metrics").status, 404);
}
