//! A flood of sign-ups must not stop the morning issue, and must not become our spam
//! (docs/architecture.md decision 36). Measured on main before this: with a steady stream of
//! sign-ups the issue did not move at all (every claim took confirmations first), and every
//! sign-up got its mail however many came.

mod support;

use std::time::{Duration, Instant};

use support::ChildGuard;
use support::app::App;
use support::http::Server;
use support::mail::raw_header;
use support::sink::SmtpSink;

fn sign_up(port: u16, email: &str) {
    let r = support::http::subscribe_json(port, email);
    assert_eq!(r.status, 200, "{}", r.body);
}

/// (class, sent_at) of every delivery sent, in the order they were sent: `c` for
/// confirmation mail, `i` for issue mail.
fn sent_in_order(app: &App) -> Vec<(String, i64)> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(support::rows::text_and_number(
        &app.database_url(),
        "SELECT CASE WHEN priority > 0 THEN 'c' ELSE 'i' END, sent_at FROM deliveries
         WHERE sent_at IS NOT NULL ORDER BY sent_at, id",
    ))
}

/// The issue goes out while confirmations wait, on two workers (`serve`'s and one more),
/// each paced at 50 messages a second: from the issue's enqueue until one class ran out,
/// the issue went out at no less than 30% of the workers' unloaded rate. The design gives
/// each class half of every claim while both are due; what was claimed before the issue
/// came (a second's worth per worker) goes first. With the claim of before (strict
/// priority) the issue moved only as the flood's last sign-ups trickled in.
#[test]
fn a_sign_up_flood_shares_the_workers_with_the_issue_instead_of_starving_it() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.set("MORNINGPOST_CONCURRENCY", "4");
    // Paced at 50 messages a second per worker, so sign-ups come faster than they are
    // mailed, as in a bot run: confirmations are always due.
    app.set("MORNINGPOST_RATE_PER_SECOND", "50");
    app.set("MORNINGPOST_CONFIRMATION_MAIL_PER_HOUR", "1000000");
    // Many clients, as a bot run spread over addresses: no per-client limit applies.
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    app.import_readers(&app.write_subscribers(400));
    let server = Server::start(&mut app, &[]);
    let _second_worker = ChildGuard(app.spawn(&["worker"]));
    let port = server.port;
    // The flood first (four clients), then the issue on top of it.
    let flood: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..200 {
                    sign_up(port, &format!("bot{t}-{i}@flood.example"));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    app.ok(&["send", &app.sample_issue()]);
    for client in flood {
        client.join().expect("a flooding client");
    }
    assert_eq!(
        sink.wait_for(1200, Duration::from_secs(120)),
        1200,
        "every confirmation and every issue copy arrives"
    );
    let sent = sent_in_order(&app);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let queued_at = rt.block_on(support::rows::text_and_number(
        &app.database_url(),
        "SELECT 'issue', min(queued_at) FROM deliveries WHERE priority = 0",
    ))[0]
        .1;
    let last_confirmation = sent
        .iter()
        .rposition(|(class, _)| class == "c")
        .expect("confirmations were sent");
    let last_issue = sent
        .iter()
        .rposition(|(class, _)| class == "i")
        .expect("the issue was sent");
    // From the moment the issue's rows were queued until one class ran out, both were due.
    let window: Vec<&(String, i64)> = sent[..=last_confirmation.min(last_issue)]
        .iter()
        .filter(|(_, at)| *at >= queued_at)
        .collect();
    let (start, end) = (queued_at, window.last().map_or(queued_at, |(_, at)| *at));
    let issue_sent = window.iter().filter(|(class, _)| class == "i").count();
    // Unloaded, the two paced workers send 100 messages a second.
    let issue_rate = issue_sent as f64 / ((end - start).max(1) as f64 / 1000.0);
    assert!(
        window.len() >= 400 && issue_rate >= 0.3 * 100.0,
        "while confirmations waited, the issue went out at {issue_rate:.0} messages/s \
         ({issue_sent} of {} sent in {} ms)",
        window.len(),
        end - start
    );
}

/// A trickle of confirmations still goes first: one sign-up made while an issue is being
/// sent gets its mail within seconds.
#[test]
fn a_confirmation_goes_out_within_seconds_while_an_issue_is_sending() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.set("MORNINGPOST_CONCURRENCY", "4");
    // Paced, so the issue is still going out when the reader signs up.
    app.set("MORNINGPOST_RATE_PER_SECOND", "300");
    app.import_readers(&app.write_subscribers(3000));
    let server = Server::start(&mut app, &[]);
    app.ok(&["send", &app.sample_issue()]);
    assert!(
        sink.wait_for(100, Duration::from_secs(30)) >= 100,
        "the issue is going out"
    );
    let asked = Instant::now();
    sign_up(server.port, "ada@example.com");
    let deadline = asked + Duration::from_secs(10);
    loop {
        let confirmed = sink
            .messages()
            .iter()
            .any(|m| raw_header(m, "Subject").starts_with("Confirm your subscription"));
        if confirmed {
            break;
        }
        assert!(Instant::now() < deadline, "no confirmation within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let waited = asked.elapsed();
    let issue_sent = sink.count() - 1;
    assert!(
        waited < Duration::from_secs(3) && issue_sent < 3000,
        "the confirmation took {waited:?}, with {issue_sent} of the issue's 3000 copies sent"
    );
}

/// Past `confirmation_mail_per_hour`, sign-ups are answered as always but their mail waits,
/// oldest first; `status` and `signups backlog` say so and since when; `signups purge`
/// drops the backlog.
#[test]
fn the_confirmation_budget_holds_mail_back_oldest_first_and_says_so() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.set("MORNINGPOST_CONFIRMATION_MAIL_PER_HOUR", "5");
    let server = Server::start(&mut app, &[]);
    for i in 0..8 {
        sign_up(server.port, &format!("reader{i}@example.com"));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sink.wait_for(5, Duration::from_secs(20)), 5);
    // The worker looks at the budget every 5 s: by then it has noted it exhausted.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let status = app.ok(&["status"]);
        if status.contains("exhausted since") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "status never said the budget was exhausted:\n{status}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(sink.count(), 5, "nothing past the budget");
    let mailed: Vec<String> = sink.envelopes().into_iter().map(|(_, to, _)| to).collect();
    for i in 0..5 {
        assert!(
            mailed.iter().any(|to| to.contains(&format!("reader{i}@"))),
            "oldest first: reader{i} is mailed ({mailed:?})"
        );
    }
    assert!(
        status.contains("confirmation mail waiting: 3 (8 sign-ups pending")
            && status.contains("budget of 5/hour exhausted since"),
        "{status}"
    );
    let backlog = app.ok(&["signups", "backlog"]);
    assert!(
        backlog.contains("budget of 5/hour exhausted since"),
        "{backlog}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&app.ok(&["status", "--json"])).expect("JSON");
    assert_eq!(json["signups"]["confirmations_waiting"], 3);
    assert!(
        json["signups"]["budget_exhausted_since"].is_string(),
        "{json}"
    );

    let purged = app.ok(&["signups", "purge", "--pending-older-than", "0s"]);
    assert!(
        purged.contains("dropped 3 waiting confirmation mails; deleted 8 sign-ups never confirmed"),
        "{purged}"
    );
    assert!(
        app.ok(&["signups", "backlog"])
            .contains("no confirmation mail waiting (0 sign-ups pending)")
    );
    let (ok, _, err) = app.run(&["signups", "purge", "--pending-older-than", "2 weeks"]);
    assert!(!ok && err.contains("the unit is s, m, h or d"), "{err}");
}

/// Signs up `n` addresses `{prefix}{i}@example.com` from four clients at once.
fn sign_up_many(port: u16, prefix: &str, n: usize) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let prefix = prefix.to_owned();
            std::thread::spawn(move || {
                for i in (t..n).step_by(4) {
                    sign_up(port, &format!("{prefix}{i}@example.com"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("sign-up client");
    }
}

/// `status --json`'s sign-up part once it says `field` is `want`, or a panic after 15 s
/// (the inbox's mover looks every 250 ms, the worker at the budget every 5 s).
fn signups_once(app: &App, field: &str, want: i64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let json: serde_json::Value =
            serde_json::from_str(&app.ok(&["status", "--json"])).expect("JSON");
        if json["signups"][field] == want {
            return json["signups"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "signups.{field} never came to {want}: {}",
            json["signups"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A server whose queue holds 500 confirmation mails past a budget of 2 (both mailed), and
/// whose inbox's mover has seen it full: from now on sign-ups are held.
fn queue_full_of_confirmations() -> (App, SmtpSink, Server) {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.set("MORNINGPOST_CONFIRMATION_MAIL_PER_HOUR", "2");
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    let server = Server::start(&mut app, &[]);
    sign_up_many(server.port, "early", 502);
    assert_eq!(sink.wait_for(2, Duration::from_secs(20)), 2);
    signups_once(&app, "confirmations_waiting", 500);
    std::thread::sleep(Duration::from_millis(600));
    (app, sink, server)
}

/// 500 sign-ups past the budget wait in the queue as confirmation mail; later ones are
/// answered the same but held in the inbox as received, not stored as subscribers
/// (docs/architecture.md decision 40). `subscribers show` and `erase` see them; once the
/// queue drains (here: restarted with a budget that lets it), the held ones are stored and
/// mailed oldest first, each once, and the erased one never.
#[test]
fn sign_ups_past_the_queued_mail_are_held_in_the_inbox_and_stored_as_it_drains() {
    let (mut app, sink, server) = queue_full_of_confirmations();
    sign_up_many(server.port, "late", 30);
    let signups = signups_once(&app, "held_in_inbox", 30);
    assert_eq!(signups["confirmations_waiting"], 500, "{signups}");
    assert!(signups["oldest_held_since"].is_string(), "{signups}");
    let backlog = app.ok(&["signups", "backlog"]);
    assert!(
        backlog.contains("sign-ups held in the inbox: 30"),
        "{backlog}"
    );

    let shown = app.ok(&["subscribers", "show", "late0@example.com"]);
    assert!(
        shown.contains("no subscriber has the address late0@example.com yet")
            && shown.contains("held sign-ups"),
        "{shown}"
    );
    let erased = app.ok(&["subscribers", "erase", "late1@example.com"]);
    assert!(
        erased.contains("1 sign-ups held in the inbox, never stored"),
        "{erased}"
    );
    signups_once(&app, "held_in_inbox", 29);
    assert_eq!(sink.count(), 2, "nothing past the budget");

    server.stop();
    app.set("MORNINGPOST_CONFIRMATION_MAIL_PER_HOUR", "1000000");
    let _server = Server::start(&mut app, &[]);
    assert_eq!(sink.wait_for(531, Duration::from_secs(60)), 531);
    signups_once(&app, "held_in_inbox", 0);
    std::thread::sleep(Duration::from_millis(500));
    let mailed: Vec<String> = sink.envelopes().into_iter().map(|(_, to, _)| to).collect();
    assert_eq!(mailed.len(), 531, "each once");
    let distinct: std::collections::HashSet<&String> = mailed.iter().collect();
    assert_eq!(distinct.len(), 531, "nobody twice");
    assert!(
        !mailed.iter().any(|to| to.contains("late1@")),
        "the erased sign-up is never mailed"
    );
    // Held sign-ups are claimed after the 500 queued before them (they are released as
    // those are claimed, and come due later); sends in flight together may finish in any
    // order, hence the slack of one claim's worth.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sent: Vec<(String, i64)> = rt.block_on(support::rows::text_and_number(
        &app.database_url(),
        "SELECT s.email, d.sent_at FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
         WHERE d.priority > 0 AND d.sent_at IS NOT NULL ORDER BY d.sent_at, d.id",
    ));
    let first_late = sent.iter().position(|(to, _)| to.starts_with("late"));
    assert!(
        first_late.is_some_and(|i| i >= 502 - 16),
        "held sign-ups after the queued ones: the first at {first_late:?}"
    );
}

/// `signups purge` drops held sign-ups as well as the waiting mail.
#[test]
fn signups_purge_drops_held_sign_ups_too() {
    let (app, sink, server) = queue_full_of_confirmations();
    sign_up_many(server.port, "late", 10);
    signups_once(&app, "held_in_inbox", 10);
    let purged = app.ok(&["signups", "purge", "--pending-older-than", "0s"]);
    assert!(
        purged.contains(
            "dropped 500 waiting confirmation mails; deleted 502 sign-ups never confirmed"
        ) && purged.contains("dropped 10 sign-ups held in the inbox, never stored"),
        "{purged}"
    );
    signups_once(&app, "held_in_inbox", 0);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(sink.count(), 2, "nothing purged is mailed");
}
