//! The whole life of a subscriber through the real server, a real smtp-sink and the mail
//! read from it: subscribe, confirm, receive, one-click unsubscribe, receive nothing more.

mod support;

use support::mail::{list_unsubscribe_url, raw_header};

use std::time::Duration;

use mail_parser::MessageParser;
use support::app::{App, path_str};
use support::http::{Server, get, post_form, request, urls};
use support::sink::SmtpSink;

fn text_of(bytes: &[u8]) -> String {
    let m = MessageParser::default()
        .parse(bytes)
        .expect("a MIME message");
    m.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}

fn write_issue(app: &App, slug: &str, title: &str) -> String {
    let path = app.path(&format!("{slug}.md"));
    std::fs::write(
        &path,
        format!(
            "+++\ntitle = \"{title}\"\ndate = 2026-11-28\nslug = \"{slug}\"\n+++\n\nThe lead.\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn subscribe_confirm_receive_unsubscribe_and_receive_nothing_more() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let server = Server::start(&mut app, &[]);
    let port = server.port;

    let r = post_form(
        port,
        "/subscribe",
        "email=ada%40example.com&name=Ada+Lovelace",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Check your inbox"));
    assert_eq!(
        sink.wait_for(1, Duration::from_secs(20)),
        1,
        "the confirmation mail arrives"
    );
    let confirmation = sink.messages().remove(0);
    assert!(raw_header(&confirmation, "Subject").starts_with("Confirm your subscription"));
    assert!(
        raw_header(&confirmation, "List-Unsubscribe").is_empty(),
        "transactional mail is not a list mail"
    );
    let confirm_url = urls(&text_of(&confirmation))
        .into_iter()
        .find(|u| u.contains("/confirm/"))
        .expect("a confirm link");
    let confirm_path = confirm_url
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .expect("link to this server");

    let page = get(port, confirm_path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Confirm subscription") && page.body.contains("method=\"post\""));
    assert_eq!(
        app.status_of("ada@example.com"),
        "pending",
        "GET changes nothing"
    );
    let confirmed = post_form(port, confirm_path, "");
    assert_eq!(confirmed.status, 200);
    assert!(
        confirmed.body.contains("You're subscribed"),
        "{}",
        confirmed.body
    );
    assert_eq!(app.status_of("ada@example.com"), "active");
    // The double opt-in is on record: how she came, and who clicked.
    let shown = app.ok(&["subscribers", "show", "ada@example.com"]);
    assert!(
        shown.contains("(by form)")
            && shown.contains("basis         double-opt-in")
            && shown.contains("    by          127.0.0.1 "),
        "{shown}"
    );

    app.ok(&["send", &write_issue(&app, "first", "First issue")]);
    assert_eq!(
        sink.wait_for(2, Duration::from_secs(20)),
        2,
        "the issue arrives"
    );
    let issue = sink
        .messages()
        .into_iter()
        .find(|m| raw_header(m, "Subject") == "First issue")
        .expect("the issue");
    let unsubscribe_url = &list_unsubscribe_url(&issue);
    let unsubscribe_path = unsubscribe_url
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .expect("link to this server");
    assert!(
        text_of(&issue).contains(unsubscribe_url),
        "the same link is in the text part"
    );
    assert!(
        text_of(&issue).contains("because you signed up and confirmed your address by email."),
        "the footer says the basis on record"
    );

    // What Gmail and Apple Mail send for the one-click button (RFC 8058).
    let r = post_form(port, unsubscribe_path, "List-Unsubscribe=One-Click");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("location").is_none() && r.header("set-cookie").is_none(),
        "no redirect, no cookie"
    );
    assert_eq!(app.status_of("ada@example.com"), "unsubscribed");
    let shown = app.ok(&["subscribers", "show", "ada@example.com"]);
    assert!(shown.contains("(by one-click)"), "{shown}");
    assert_eq!(
        post_form(port, unsubscribe_path, "List-Unsubscribe=One-Click").status,
        200,
        "idempotent"
    );

    // A second issue goes out to the list while Ada is off it: once the server's worker has
    // sent it to the one reader still subscribed, Ada must have nothing new.
    app.ok(&["subscribers", "add", "bob@example.com"]);
    let out = app.ok(&["send", &write_issue(&app, "second", "Second issue")]);
    assert!(out.contains("queued 1 deliveries"), "{out}");
    assert_eq!(
        sink.wait_for(3, Duration::from_secs(20)),
        3,
        "the second issue reaches the subscriber who stayed"
    );
    let status = app.ok(&["status", "second"]);
    assert!(status.contains(&format!("sent       {:>9}", 1)), "{status}");
    let to_ada = sink
        .messages()
        .iter()
        .filter(|m| raw_header(m, "To").contains("ada@example.com"))
        .map(|m| raw_header(m, "Subject"))
        .collect::<Vec<_>>();
    assert_eq!(to_ada.len(), 2, "nothing more is sent to Ada: {to_ada:?}");
    assert!(!to_ada.iter().any(|s| s == "Second issue"), "{to_ada:?}");

    // The reader's journey, as the server's /metrics counted it.
    let metrics = get(port, "/metrics").body;
    for line in [
        r#"morningpost_signups_total{result="created"} 1"#,
        "morningpost_confirmations_total 1",
        r#"morningpost_unsubscribes_total{via="one-click"} 1"#,
        // The list was empty when the worker counted its largest domains: `other` until
        // the next count (every ten minutes).
        r#"morningpost_deliveries_total{outcome="sent",issue="confirmation",domain="other""#,
        r#"morningpost_deliveries_total{outcome="sent",issue="first",domain="other""#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    assert!(server.stop().success(), "SIGTERM stops the server cleanly");
}

#[test]
fn a_link_scanner_that_fetches_every_url_changes_nothing() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let server = Server::start(&mut app, &[]);
    let port = server.port;
    // One pending subscriber (a confirmation mail) and one active one (an issue).
    post_form(port, "/subscribe", "email=pending%40example.com");
    app.ok(&["subscribers", "add", "active@example.com"]);
    app.ok(&["send", &write_issue(&app, "scan", "Scanned issue")]);
    assert_eq!(sink.wait_for(2, Duration::from_secs(20)), 2);
    let before = app.statuses();
    let mut fetched = 0;
    for message in sink.messages() {
        let mut links = urls(&text_of(&message));
        links.extend(urls(&raw_header(&message, "List-Unsubscribe")));
        let html = MessageParser::default()
            .parse(&message)
            .and_then(|m| m.body_html(0).map(|h| h.into_owned()))
            .unwrap_or_default();
        links.extend(urls(&html));
        for link in links {
            if let Some(path) = link.strip_prefix(&format!("http://127.0.0.1:{port}")) {
                let r = request(
                    port,
                    "GET",
                    path,
                    &[("User-Agent", "SafeLinks-Scanner/1.0")],
                    b"",
                );
                assert!(r.status < 500, "{path}: {}", r.status);
                fetched += 1;
            }
        }
    }
    assert!(
        fetched >= 6,
        "the scanner followed the confirm, unsubscribe and archive links ({fetched})"
    );
    assert_eq!(app.statuses(), before, "no subscriber changed state");
}

#[test]
fn the_archive_shows_sent_issues_without_recipient_data() {
    let mut app = App::new();
    app.ok(&["subscribers", "add", "ada@example.com"]);
    let server = Server::start(&mut app, &[]);
    let port = server.port;
    assert!(
        get(port, "/issues")
            .body
            .contains("No issue has been sent yet")
    );
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let index = get(port, "/issues");
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains("href=\"/issues/2026-11-27\""),
        "{}",
        index.body
    );
    let issue = get(port, "/issues/2026-11-27");
    assert_eq!(issue.status, 200);
    assert!(issue.body.contains("The Zero-Download Mystery"));
    assert!(
        !issue.body.contains("ada@example.com") && !issue.body.contains("/unsubscribe/"),
        "no recipient data"
    );
    assert!(!issue.body.to_ascii_lowercase().contains("<script"));
    assert_eq!(get(port, "/issues/1999-01-01").status, 404);
    assert_eq!(get(port, "/issues/..%2F..%2Fetc%2Fpasswd").status, 404);
    assert_eq!(get(port, "/nothing-here").status, 404);
    assert_eq!(get(port, "/healthz").body, "ok\n");
}

#[test]
fn unsubscribe_by_mail_reads_a_maildir_and_an_mbox() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let csv = app.write_subscribers(3);
    app.import_readers(&csv);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let mailtos: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| {
            let lu = raw_header(m, "List-Unsubscribe");
            lu.split("<mailto:")
                .nth(1)
                .and_then(|s| s.split('>').next())
                .expect("mailto")
                .to_owned()
        })
        .collect();
    // What a mail client sends for the mailto: link, as the MTA would deliver it.
    let token_of = |mailto: &str| {
        mailto
            .split("subject=unsubscribe%20")
            .nth(1)
            .expect("token")
            .to_owned()
    };
    let maildir = app.path("maildir");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::write(maildir.join("new/1.host"), format!("From: reader0@example.com\r\nTo: unsubscribe@example.com\r\nSubject: unsubscribe {}\r\n\r\n", token_of(&mailtos[0]))).unwrap();
    std::fs::write(
        maildir.join("new/2.host"),
        "From: spam@example.com\r\nSubject: hello\r\n\r\nbuy now\r\n",
    )
    .unwrap();
    let out = app.ok(&["unsubscribe-mail", "--maildir", path_str(&maildir)]);
    assert!(
        out.contains(
            "2 messages read: 1 unsubscribed, 0 already unsubscribed, 1 without a valid token"
        ),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).unwrap().count(),
        0,
        "processed mail leaves new/"
    );
    let mbox = app.path("mbox");
    std::fs::write(&mbox, format!("From reader@example.com Fri Nov 27 06:00:00 2026\nSubject: Re: unsubscribe {}\n\n\nFrom x Fri Nov 27 06:00:00 2026\nSubject: unsubscribe {}\n\n", token_of(&mailtos[1]), token_of(&mailtos[0]))).unwrap();
    let out = app.ok(&["unsubscribe-mail", "--mbox", path_str(&mbox)]);
    assert!(
        out.contains("2 messages read: 1 unsubscribed, 1 already unsubscribed"),
        "{out}"
    );
    let unsubscribed = app.ok(&["subscribers", "list", "--status", "unsubscribed"]);
    assert_eq!(unsubscribed.lines().count(), 2, "{unsubscribed}");
}
