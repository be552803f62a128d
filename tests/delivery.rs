//! Sending through a real SMTP server (Postfix's smtp-sink): the happy path with DKIM, no
//! duplicates, and every fault smtp-sink can inject.

mod support;

use support::dkim::{dkim_key, dkim_verifies};
use support::mail::{list_unsubscribe_url, raw_header};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mail_parser::MessageParser;
use support::app::App;
use support::sink::SmtpSink;

#[test]
fn every_subscriber_gets_one_signed_message_with_their_own_unsubscribe_link() {
    for kind in ["ed25519", "rsa-pkcs8", "rsa-pkcs1"] {
        let mut app = App::new();
        let sink = SmtpSink::start(&app.path("sink"), &[]);
        let (key, txt) = dkim_key(&app, kind);
        app.set("MORNINGPOST_SMTP_URL", &sink.url())
            .set("MORNINGPOST_DKIM_KEY_FILE", &key)
            .set("MORNINGPOST_DKIM_SELECTOR", "mp2026");
        let n = 12;
        let csv = app.write_subscribers(n);
        app.import_readers(&csv);
        let out = app.ok(&["send", &app.sample_issue(), "--wait"]);
        assert!(out.contains(&format!("{n} sent, 0 failed")), "{out}");

        let messages = sink.messages();
        assert_eq!(messages.len(), n, "one message per subscriber");
        let mut recipients = BTreeSet::new();
        let mut unsubscribe_urls = BTreeSet::new();
        for bytes in &messages {
            let msg = MessageParser::default().parse(bytes).expect("parses");
            let to = msg
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .expect("To")
                .to_owned();
            for header in [
                "From",
                "To",
                "Subject",
                "Date",
                "Message-ID",
                "MIME-Version",
                "List-Id",
                "List-Unsubscribe",
                "List-Unsubscribe-Post",
                "DKIM-Signature",
            ] {
                assert!(
                    !raw_header(bytes, header).is_empty(),
                    "{kind}: {header} missing for {to}"
                );
            }
            assert_eq!(
                raw_header(bytes, "List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click"
            );
            let list_unsub = raw_header(bytes, "List-Unsubscribe");
            let url = list_unsubscribe_url(bytes);
            assert!(
                url.starts_with("https://news.example.com/unsubscribe/"),
                "{url}"
            );
            assert!(
                list_unsub.contains("<mailto:unsubscribe@example.com?subject=unsubscribe%20"),
                "{list_unsub}"
            );
            let text = msg.body_text(0).expect("text part");
            let html = msg.body_html(0).expect("html part");
            assert!(
                text.contains(&url),
                "{to}: text part carries its own unsubscribe URL"
            );
            assert!(
                html.contains(&format!("href=\"{url}\"")),
                "{to}: html part carries its own unsubscribe URL"
            );
            assert!(
                text.contains(&to) && html.contains(&to),
                "the footer names the recipient"
            );
            let id = msg.message_id().expect("Message-ID");
            assert!(
                id.starts_with("2026-11-27.") && id.ends_with("@example.com"),
                "{id}"
            );
            let signature = raw_header(bytes, "DKIM-Signature");
            assert!(
                signature.contains("d=example.com") && signature.contains("s=mp2026"),
                "{signature}"
            );
            for h in [
                "from",
                "to",
                "subject",
                "date",
                "message-id",
                "list-unsubscribe",
                "list-unsubscribe-post",
            ] {
                let hs = signature.to_ascii_lowercase().replace(' ', "");
                let h_tag = hs
                    .split("h=")
                    .nth(1)
                    .and_then(|s| s.split(';').next())
                    .unwrap_or_default()
                    .to_owned();
                assert!(
                    h_tag.split(':').any(|x| x == h),
                    "{kind}: h= lacks {h}: {h_tag}"
                );
            }
            assert!(
                dkim_verifies(&app, bytes, &txt),
                "{kind}: DKIM signature of the message to {to} verifies"
            );
            recipients.insert(to);
            unsubscribe_urls.insert(url);
        }
        assert_eq!(
            recipients,
            (0..n).map(|i| format!("reader{i}@example.com")).collect(),
            "each to their own address"
        );
        assert_eq!(
            unsubscribe_urls.len(),
            n,
            "every subscriber has their own unsubscribe URL"
        );
    }
}

#[test]
fn a_tampered_message_fails_dkim_verification() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    let (key, txt) = dkim_key(&app, "ed25519");
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_DKIM_KEY_FILE", &key)
        .set("MORNINGPOST_DKIM_SELECTOR", "s1");
    app.ok(&["subscribers", "add", "ada@example.com"]);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let original = sink.messages().pop().expect("one message");
    assert!(dkim_verifies(&app, &original, &txt));
    let tampered = String::from_utf8_lossy(&original)
        .replace("Subject: The Zero", "Subject: A Zero")
        .into_bytes();
    assert!(
        !dkim_verifies(&app, &tampered, &txt),
        "the verifier really checks"
    );
}

#[test]
fn sending_the_same_issue_twice_sends_nothing_twice_and_skips_those_who_left() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let csv = app.write_subscribers(5);
    app.import_readers(&csv);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt
        .block_on(morningpost::store::Store::connect(&app.database_url()))
        .unwrap();
    let subscribers = rt.block_on(store.subscribers(None)).unwrap();
    rt.block_on(store.unsubscribe(subscribers[0].id, morningpost::store::LeftVia::Link, 1))
        .unwrap();
    // A bounced subscriber: the state a 5.1.1 leaves behind.
    let bounced = &subscribers[1];
    drop(store);
    app.sql(&format!(
        "UPDATE subscribers SET status = 'bounced' WHERE email = '{}'",
        bounced.email
    ));

    let issue = app.sample_issue();
    let first = app.ok(&["send", &issue, "--wait"]);
    assert!(first.contains("queued 3 deliveries"), "{first}");
    let second = app.ok(&["send", &issue, "--wait"]);
    assert!(
        second.contains("already queued for every active subscriber"),
        "{second}"
    );
    let to: BTreeSet<String> = sink
        .messages()
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(m)
                .and_then(|p| {
                    p.to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address().map(str::to_owned))
                })
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(sink.count(), 3, "sent once each");
    assert!(
        !to.contains(&subscribers[0].email) && !to.contains(&bounced.email),
        "{to:?}"
    );
    let dry = app.ok(&["send", &issue, "--dry-run"]);
    assert!(
        dry.contains("dry run: nothing changed") && dry.contains("would queue 0 new deliveries"),
        "{dry}"
    );
}

fn status(app: &App) -> String {
    app.ok(&["status", "2026-11-27"])
}

fn count_in(status: &str, label: &str) -> i64 {
    status
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(-1)
}

/// Queues the sample issue for `n` subscribers without sending it.
fn queue_issue(app: &App, n: usize) {
    let csv = app.write_subscribers(n);
    app.import_readers(&csv);
    app.ok(&["send", &app.sample_issue()]);
}

#[test]
fn a_4xx_on_rcpt_is_retried_and_delivered_once_the_fault_is_gone() {
    let mut app = App::new();
    let dump = app.path("sink");
    let faulty = SmtpSink::start(
        &dump,
        &["-r", "rcpt", "-b", "451 4.7.1 Greylisted, try again later"],
    );
    let port = faulty.port;
    app.set("MORNINGPOST_SMTP_URL", &faulty.url());
    queue_issue(&app, 4);
    let mut worker = app.spawn(&["worker", "--until-done"]);
    let mut seen_retry = String::new();
    for _ in 0..100 {
        let s = status(&app);
        if s.contains("451 4.7.1 Greylisted") {
            seen_retry = s;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        seen_retry.contains("451 4.7.1 Greylisted"),
        "the reply is kept: {seen_retry}"
    );
    assert_eq!(count_in(&seen_retry, "sent"), 0);
    assert_eq!(faulty.count(), 0);
    faulty.stop();
    let healthy = SmtpSink::start_on(port, &dump, &[]);
    let exit = worker.wait().expect("worker exits when done");
    assert!(exit.success());
    assert_eq!(
        healthy.count(),
        4,
        "delivered once the fault is gone, once each"
    );
    let s = status(&app);
    assert_eq!(
        (count_in(&s, "sent"), count_in(&s, "failed")),
        (4, 0),
        "{s}"
    );
}

#[test]
fn a_5xx_on_rcpt_fails_at_once_and_is_never_retried() {
    let mut app = App::new();
    let sink = SmtpSink::start(
        &app.path("sink"),
        &["-f", "rcpt", "-B", "550 5.7.1 Message refused by policy"],
    );
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    queue_issue(&app, 3);
    let out = app.ok(&["worker", "--until-done"]);
    assert!(out.contains("0 sent, 0 to retry, 3 failed"), "{out}");
    let s = status(&app);
    assert_eq!(count_in(&s, "failed"), 3, "{s}");
    assert!(
        s.contains("550") && s.contains("5.7.1 Message refused by policy"),
        "the reply is kept: {s}"
    );
    let list = app.ok(&["subscribers", "list", "--status", "active"]);
    assert_eq!(
        list.lines().count(),
        3,
        "a policy rejection does not mark anyone bounced: {list}"
    );
    // Nothing is due any more: a second worker has nothing to do.
    let again = app.ok(&["worker", "--until-done"]);
    assert!(again.contains("0 sent, 0 to retry, 0 failed"), "{again}");
}

#[test]
fn a_550_5_1_1_marks_the_subscriber_bounced() {
    let mut app = App::new();
    let sink = SmtpSink::start(
        &app.path("sink"),
        &["-f", "rcpt", "-B", "550 5.1.1 No such user"],
    );
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    queue_issue(&app, 2);
    app.ok(&["worker", "--until-done"]);
    let bounced = app.ok(&["subscribers", "list", "--status", "bounced"]);
    assert_eq!(bounced.lines().count(), 2, "{bounced}");
    assert!(
        app.ok(&["subscribers", "list", "--status", "active"])
            .is_empty()
    );
}

/// A server that takes the whole message and hangs up before its reply: the sender cannot
/// know the message arrived, so it sends it again (at least once). The copies that arrive are
/// exactly one per attempt that reached the final dot: every failed attempt here did, plus
/// the one that succeeded, so each reader gets `failures + 1` copies, and at least two.
#[test]
fn a_hang_up_after_data_is_retried() {
    let mut app = App::new();
    // Retries no sooner than 2 s (4 s with "equal jitter"), so no attempt falls in the moment
    // the faulty server is swapped for a healthy one: every failure is a hang-up after a
    // whole message.
    app.set("MORNINGPOST_RETRY_FIRST_SECONDS", "4")
        .set("MORNINGPOST_RETRY_CAP_SECONDS", "4");
    let dump = app.path("sink");
    let faulty = SmtpSink::start(&dump, &["-q", "."]);
    let port = faulty.port;
    app.set("MORNINGPOST_SMTP_URL", &faulty.url());
    queue_issue(&app, 3);
    let mut worker = app.spawn(&["worker", "--until-done"]);
    let mut s = String::new();
    for _ in 0..100 {
        s = status(&app);
        if count_in(&s, "queued") == 3 && s.contains("(of which retrying: 3)") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.contains("(of which retrying: 3)"), "{s}");
    assert!(
        s.contains("broke at the end of the message"),
        "the hang-up is recorded: {s}"
    );
    faulty.stop();
    // The same folder: the copies the faulty server took count too.
    let healthy = SmtpSink::start_on(port, &dump, &[]);
    assert!(worker.wait().unwrap().success());
    let s = status(&app);
    assert_eq!(count_in(&s, "sent"), 3, "{s}");

    let mut copies: BTreeMap<String, i64> = BTreeMap::new();
    for bytes in healthy.messages() {
        let to = MessageParser::default()
            .parse(&bytes)
            .and_then(|m| {
                m.to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address().map(str::to_owned))
            })
            .expect("a whole message with its To");
        *copies.entry(to).or_default() += 1;
    }
    let failures = support::rows::failures_by_email(&app.database_url());
    assert_eq!(failures.len(), 3, "{failures:?}");
    let expected: BTreeMap<String, i64> =
        failures.iter().map(|(e, f)| (e.clone(), f + 1)).collect();
    assert_eq!(copies, expected, "one copy per attempt (failures + 1 each)");
    assert!(
        copies.values().all(|n| *n >= 2),
        "the duplicate is visible: {copies:?}"
    );
}

#[test]
fn no_server_listening_is_retried_until_one_is() {
    let mut app = App::new();
    let port = support::sink::free_port();
    app.set(
        "MORNINGPOST_SMTP_URL",
        &format!("smtp://127.0.0.1:{port}?tls=none"),
    );
    queue_issue(&app, 2);
    let mut worker = app.spawn(&["worker", "--until-done"]);
    let mut s = String::new();
    for _ in 0..100 {
        s = status(&app);
        if s.contains("(of which retrying: 2)") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        s.contains("(of which retrying: 2)") && s.contains("cannot connect"),
        "{s}"
    );
    let sink = SmtpSink::start_on(port, &app.path("sink"), &[]);
    assert!(worker.wait().unwrap().success());
    assert_eq!(sink.count(), 2);
}

#[test]
fn a_dry_run_changes_nothing_and_creates_nothing() {
    let app = App::new();
    app.ok(&["subscribers", "add", "ada@example.com"]);
    let out = app.ok(&["send", &app.sample_issue(), "--dry-run"]);
    assert!(
        out.contains(
            "would queue 1 new deliveries (1 active subscribers, 0 of them already have this issue)"
        ),
        "{out}"
    );
    assert!(out.contains("through  outbox folder"), "{out}");
    assert!(!app.path("outbox").exists(), "no outbox folder created");
    let status = app.ok(&["status"]);
    assert!(
        status.contains("queued             0"),
        "nothing queued: {status}"
    );
    let (ok, _, err) = app.run(&["status", "2026-11-27"]);
    assert!(
        !ok && err.contains("no stored issue has the slug \"2026-11-27\""),
        "nothing stored: {err}"
    );
}
