//! Several relays (issue 12): sends spread by weight, a relay killed mid-send hands its share
//! to the others, every relay down makes the send wait and say so, and a relay that pushes
//! back (Amazon SES's 454 at its maximum send rate) is slowed, that relay only, without a
//! reader's delivery counting a failure.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::ChildGuard;
use support::app::App;
use support::scripted_relay::ScriptedRelay;
use support::sink::SmtpSink;

/// How many times each recipient arrived, over every sink.
fn arrivals(sinks: &[&SmtpSink]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for sink in sinks {
        for (_, to, _) in sink.envelopes() {
            *seen.entry(to).or_insert(0) += 1;
        }
    }
    seen
}

fn readers(app: &App, n: usize) {
    let csv = app.write_subscribers(n);
    app.import_readers(&csv);
}

fn states(app: &App) -> BTreeMap<String, i64> {
    support::rows::delivery_states(&app.database_url())
}

fn total_failures(app: &App) -> i64 {
    support::rows::total_failures(&app.database_url())
}

#[test]
fn sends_spread_over_the_relays_by_weight() {
    let mut app = App::new();
    let heavy = SmtpSink::start(&app.path("heavy"), &[]);
    let light = SmtpSink::start(&app.path("light"), &[]);
    app.set(
        "MORNINGPOST_SMTP_URL",
        &format!("{}&weight=3 {}", heavy.url(), light.url()),
    )
    .set("MORNINGPOST_CONCURRENCY", "4")
    // Paced far below what either sink can take: the three sessions on the heavy relay
    // share one smtp-sink process, and on a loaded machine that process, not the spread,
    // set the ratio (1.2:1 unpaced; 1.8:1 at 300/s during a full `scripts/test`). At
    // 100/s each session has 40 ms per message, so every slot waits for the pace.
    .set("MORNINGPOST_RATE_PER_SECOND", "100");
    readers(&app, 600);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let seen = arrivals(&[&heavy, &light]);
    assert_eq!(seen.len(), 600);
    assert!(seen.values().all(|n| *n == 1), "nothing twice");
    // Three sessions on the heavy relay, one on the light one.
    let (h, l) = (heavy.count() as f64, light.count() as f64);
    assert!((2.0..=4.5).contains(&(h / l)), "heavy {h}, light {l}");
}

#[test]
fn a_relay_killed_mid_send_hands_its_share_to_the_other_and_nothing_is_lost() {
    let mut app = App::new();
    let mut doomed = SmtpSink::start(&app.path("doomed"), &[]);
    let other = SmtpSink::start(&app.path("other"), &[]);
    app.set(
        "MORNINGPOST_SMTP_URL",
        &format!("{} {}", doomed.url(), other.url()),
    )
    .set("MORNINGPOST_CONCURRENCY", "4");
    readers(&app, 1500);
    let issue = app.sample_issue();
    let mut send = ChildGuard(app.spawn(&["send", &issue, "--wait"]));
    assert!(
        doomed.wait_for(150, Duration::from_secs(60)) >= 150,
        "the first relay got its share"
    );
    doomed.kill();
    let (status, stderr) = send.wait_for_exit(Duration::from_secs(120));
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("the SMTP relay cannot be used")
            && stderr.contains(&doomed.port.to_string()),
        "the operator is told which relay failed: {stderr}"
    );
    let seen = arrivals(&[&doomed, &other]);
    assert_eq!(seen.len(), 1500, "nothing lost");
    // A message whose final dot the killed sink took but never answered is sent again:
    // at most one per session it had open.
    let twice: usize = seen.values().map(|n| n - 1).sum();
    assert!(twice <= 4, "{twice} sent twice");
    let s = states(&app);
    assert_eq!(s.get("sent"), Some(&1500), "{s:?}");
    assert_eq!(s.get("failed"), None, "{s:?}");
}

#[test]
fn with_every_relay_down_the_send_waits_says_so_and_resumes_when_one_is_back() {
    let mut app = App::new();
    let first = SmtpSink::start(&app.path("first"), &[]);
    let second = SmtpSink::start(&app.path("second"), &[]);
    let (first_port, second_port) = (first.port, second.port);
    app.set(
        "MORNINGPOST_SMTP_URL",
        &format!("{} {}", first.url(), second.url()),
    );
    readers(&app, 50);
    first.stop();
    second.stop();
    let issue = app.sample_issue();
    let mut send = ChildGuard(app.spawn(&["send", &issue, "--wait"]));
    std::thread::sleep(Duration::from_secs(3));
    assert!(send.0.try_wait().unwrap().is_none(), "the send waits");
    let back = SmtpSink::start_on(second_port, &app.path("second-again"), &[]);
    let (status, stderr) = send.wait_for_exit(Duration::from_secs(90));
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("every relay is failing: the send waits"),
        "{stderr}"
    );
    assert_eq!(back.wait_for(50, Duration::from_secs(5)), 50);
    assert!(!stderr.contains(&format!(":{first_port}: sent")));
    let s = states(&app);
    assert_eq!(s.get("sent"), Some(&50), "{s:?}");
}

#[test]
fn a_throttling_relay_is_slowed_below_its_limit_and_no_reader_is_failed() {
    let mut app = App::new();
    let relay = ScriptedRelay::start(&app.path("ses"), Some(40));
    app.set("MORNINGPOST_SMTP_URL", &relay.url(""))
        .set("MORNINGPOST_CONCURRENCY", "4");
    readers(&app, 400);
    let started = Instant::now();
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let took = started.elapsed().as_secs_f64();
    let log = relay.log();
    assert_eq!(log.accepted.len(), 400, "nothing lost");
    let unique: std::collections::BTreeSet<&String> =
        log.accepted.iter().map(|(_, to)| to).collect();
    assert_eq!(unique.len(), 400, "nothing twice");
    assert!(!log.throttled.is_empty(), "the relay did push back");
    // Settled: over the second half of the send, few transactions are refused.
    let (first, last) = (log.accepted[0].0, log.accepted[399].0);
    let middle = first + (last - first) / 2.0;
    let late_sent = log.accepted.iter().filter(|(t, _)| *t >= middle).count() as f64;
    let late_refused = log.throttled.iter().filter(|t| **t >= middle).count() as f64;
    assert!(
        late_refused <= 0.25 * late_sent,
        "{late_refused} refused against {late_sent} sent in the second half ({} in all)",
        log.throttled.len()
    );
    // And it did not crawl: at least half the relay's limit on average.
    assert!(400.0 / took >= 20.0, "{:.1} msg/s", 400.0 / took);
    let s = states(&app);
    assert_eq!(s.get("sent"), Some(&400), "{s:?}");
    assert_eq!(total_failures(&app), 0, "throttling is no reader's failure");
}

#[test]
fn when_one_relay_throttles_the_other_keeps_its_speed() {
    let mut app = App::new();
    let slow = ScriptedRelay::start(&app.path("ses"), Some(20));
    let fast = SmtpSink::start(&app.path("fast"), &[]);
    app.set(
        "MORNINGPOST_SMTP_URL",
        &format!("{} {}", slow.url(""), fast.url()),
    )
    .set("MORNINGPOST_CONCURRENCY", "4");
    readers(&app, 1000);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let log = slow.log();
    let (slow_n, fast_n) = (log.accepted.len(), fast.count());
    assert_eq!(slow_n + fast_n, 1000, "nothing lost");
    assert_eq!(
        arrivals(&[&fast]).len() + log.accepted.len(),
        1000,
        "nothing twice"
    );
    assert!(
        fast_n >= 4 * slow_n,
        "the unthrottled relay carries the send: {fast_n} against {slow_n}"
    );
    assert_eq!(total_failures(&app), 0);
}
