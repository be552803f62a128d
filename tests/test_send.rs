//! `send ISSUE --test ADDR…`: the issue goes now to those addresses only, through the
//! configured relay (a real smtp-sink), written like every reader's copy but with `[Test]`
//! before the subject and unsubscribe links that change nobody. Nothing is stored, queued or
//! published, and the database is not even opened. Both backends.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use morningpost::domain::TokenKey;
use morningpost::store::Store;
use support::app::{App, SECRET_KEY, path_str};
use support::http::{get, post_form, request};
use support::in_process::InProcessServer;
use support::mail::raw_header;
use support::sink::SmtpSink;

const SLUG: &str = "2026-11-27";

fn test_token() -> String {
    TokenKey::from_hex(SECRET_KEY)
        .expect("the test key")
        .test_copy_token()
        .expose()
        .to_owned()
}

/// Waits for `n` whole messages, then a moment more: a copy too many would show up.
fn received(sink: &SmtpSink, n: usize) -> Vec<Vec<u8>> {
    sink.wait_for(n, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    sink.messages()
}

/// The issue's stored message and the number of deliveries of all mail, read through the
/// library's store.
fn stored(app: &App) -> (bool, i64) {
    let url = app.database_url();
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async move {
            let store = Store::connect_with(&url, &Default::default())
                .await
                .expect("open the test database");
            let issue = store.message_by_slug(SLUG).await.expect("read the issue");
            let counts = store.queue_counts(None).await.expect("count deliveries");
            (issue.is_some(), counts.total())
        })
}

#[test]
fn test_copies_reach_only_the_given_addresses_and_record_nothing() {
    let mut app = App::new();
    let server = InProcessServer::start(&mut app, false);
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let csv = app.write_subscribers(3);
    app.import_readers(&csv);
    let before = app.statuses();

    let out = app.ok(&[
        "send",
        &app.sample_issue(),
        "--test",
        "tester@example.org",
        "Editor@Example.NET",
    ]);
    assert!(
        out.contains("sent      tester@example.org  250")
            && out.contains("sent      Editor@example.net  250"),
        "one line per address with the relay's reply:\n{out}"
    );

    // Exactly two messages, to exactly those addresses, as readers get them but marked.
    let messages = received(&sink, 2);
    assert_eq!(
        messages.len(),
        2,
        "one copy per address, none to subscribers"
    );
    let token = test_token();
    let mut to = BTreeSet::new();
    for m in &messages {
        to.insert(raw_header(m, "To"));
        let subject = raw_header(m, "Subject");
        assert!(subject.starts_with("[Test] "), "{subject}");
        let id = raw_header(m, "Message-ID");
        assert!(
            id.starts_with(&format!("<test.{SLUG}.")) && id.ends_with("@example.com>"),
            "a Message-ID no reader's copy has: {id}"
        );
        let list = raw_header(m, "List-Unsubscribe");
        assert_eq!(
            list,
            format!(
                "<http://127.0.0.1:{}/unsubscribe/{token}>, \
                 <mailto:unsubscribe@example.com?subject=unsubscribe%20{token}>",
                server.port
            )
        );
        assert_eq!(
            raw_header(m, "List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        assert!(!raw_header(m, "List-Id").is_empty());
    }
    assert_eq!(
        to,
        BTreeSet::from([
            "<Editor@example.net>".to_owned(),
            "<tester@example.org>".to_owned()
        ])
    );

    // Nothing recorded, nothing published.
    assert_eq!(stored(&app), (false, 0), "no message row, no delivery");
    let (ok, _, err) = app.run(&["status", SLUG]);
    assert!(!ok && err.contains("no stored issue"), "{err}");
    assert_eq!(get(server.port, &format!("/issues/{SLUG}")).status, 404);
    assert_eq!(app.statuses(), before, "no subscriber added or changed");

    // The links work and change nobody: the page, the one-click POST (form and multipart),
    // and the mailto: half.
    let path = format!("/unsubscribe/{token}");
    let page = get(server.port, &path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("test copy"), "{}", page.body);
    assert!(!page.body.contains("method=\"post\""), "no button to press");
    let r = post_form(server.port, &path, "List-Unsubscribe=One-Click");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("test copy") && r.body.contains("nothing changed"),
        "{}",
        r.body
    );
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
    let r = request(
        server.port,
        "POST",
        &path,
        &[("Content-Type", "multipart/form-data; boundary=XyZ")],
        multipart.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mbox = app.path("unsubscribe.mbox");
    std::fs::write(
        &mbox,
        format!(
            "From tester@example.org Fri Nov 27 07:00:00 2026\nFrom: tester@example.org\n\
             Subject: unsubscribe {token}\n\nunsubscribe\n"
        ),
    )
    .unwrap();
    let out = app.ok(&["unsubscribe-mail", "--mbox", path_str(&mbox)]);
    assert!(
        out.contains("1 messages read: 0 unsubscribed") && out.contains("1 from test copies"),
        "{out}"
    );
    assert_eq!(app.statuses(), before, "the links changed nobody");
    assert_eq!(stored(&app), (false, 0));
}

#[test]
fn a_bad_address_is_named_and_nothing_is_sent() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let (ok, out, err) = app.run(&[
        "send",
        &app.sample_issue(),
        "--test",
        "tester@example.org",
        "not-an-address",
    ]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("\"not-an-address\"") && err.contains("nothing was sent"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.count(), 0, "not even the good address got one");
}

#[test]
fn copies_the_relay_refuses_are_named_and_the_exit_status_says_so() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &["-f", "rcpt"]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let out = app
        .command(&[
            "send",
            &app.sample_issue(),
            "--test",
            "tester@example.org",
            "editor@example.net",
        ])
        .output()
        .expect("run morningpost");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("NOT SENT  tester@example.org  5")
            && stdout.contains("NOT SENT  editor@example.net  5"),
        "each address with the relay's reply:\n{stdout}"
    );
    assert!(
        stderr
            .contains("2 of 2 test copies were not sent (tester@example.org, editor@example.net)"),
        "{stderr}"
    );
}

/// The database is not opened: a test send works before `init`, with an outbox.
#[test]
fn a_test_send_needs_no_database() {
    let mut app = App::new();
    app.set(
        "MORNINGPOST_DATABASE_URL",
        "postgres://nobody@127.0.0.1:1/no_such_database",
    );
    let out = app.ok(&["send", &app.sample_issue(), "--test", "tester@example.org"]);
    assert!(out.contains("through outbox folder"), "{out}");
    let files: Vec<_> = std::fs::read_dir(app.path("outbox"))
        .expect("the outbox")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("test.{SLUG}.")), "{name}");
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(raw_header(&bytes, "Subject").starts_with("[Test] "));
}
