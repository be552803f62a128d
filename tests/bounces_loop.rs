//! The whole loop on both backends, with a real smtp-sink: an issue goes out with a return
//! path per delivery; reports come back through `bounces ingest` (maildir, mbox, stdin) and
//! change each reader as their class says — once, and never for a forged return path.

mod support;

use std::io::Write;
use std::process::Stdio;

use support::app::{App, path_str};
use support::mail::raw_header;
use support::sink::SmtpSink;

const SLUG: &str = "2026-11-27";
const BOUNCES: &str = "bounces@news.example.com";

/// (return path, recipient, Message-ID) of each mail the sink received.
fn sent(sink: &SmtpSink) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = sink
        .envelopes()
        .into_iter()
        .map(|(from, to, bytes)| (from, to, raw_header(&bytes, "Message-ID")))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// An RFC 3464 report about `recipient`, mailed to `to`, returning `message_id`'s headers.
fn dsn(to: &str, recipient: &str, status: &str, diagnostic: &str, message_id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
         To: {to}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn.{recipient}.{status}@mx.example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         Your message could not be delivered.\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.net\r\n\
         \r\n\
         Final-Recipient: rfc822; {recipient}\r\n\
         Action: failed\r\n\
         Status: {status}\r\n\
         Diagnostic-Code: smtp; {diagnostic}\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n\
         From: The AI Morning Post <morning@example.com>\r\n\
         To: {recipient}\r\n\
         Message-ID: {message_id}\r\n\
         Subject: The issue\r\n\
         \r\n\
         --b1--\r\n"
    )
}

/// An ARF (RFC 5965) complaint about `recipient`'s copy.
fn arf(to: &str, recipient: &str, message_id: &str) -> String {
    format!(
        "From: feedback@fbl.example.net\r\n\
         To: {to}\r\n\
         Subject: Abuse report\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"b2\"\r\n\
         \r\n\
         --b2\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         This is an email abuse report.\r\n\
         \r\n\
         --b2\r\n\
         Content-Type: message/feedback-report\r\n\
         \r\n\
         Feedback-Type: abuse\r\n\
         User-Agent: ExampleFBL/1.0\r\n\
         Version: 1\r\n\
         Original-Rcpt-To: {recipient}\r\n\
         \r\n\
         --b2\r\n\
         Content-Type: message/rfc822\r\n\
         \r\n\
         From: The AI Morning Post <morning@example.com>\r\n\
         To: {recipient}\r\n\
         Message-ID: {message_id}\r\n\
         Subject: The issue\r\n\
         \r\n\
         Hello\r\n\
         \r\n\
         --b2--\r\n"
    )
}

fn ingest_stdin(app: &App, report: &str) -> String {
    let mut child = app
        .command(&["bounces", "ingest", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(report.as_bytes())
        .expect("write the report");
    let out = child.wait_with_output().expect("ingest");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn reports_that_come_back_change_each_reader_as_their_class_says_once() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url())
        .set("MORNINGPOST_BOUNCE_ADDRESS", BOUNCES);
    let csv = app.write_subscribers(5);
    app.import_readers(&csv);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let mails = sent(&sink);
    assert_eq!(mails.len(), 5);
    for (from, _, _) in &mails {
        assert!(
            from.starts_with("bounces+d") && from.ends_with("@news.example.com"),
            "each mail has its own return path: {from}"
        );
    }
    let return_paths: std::collections::HashSet<_> = mails.iter().map(|m| &m.0).collect();
    assert_eq!(return_paths.len(), 5);
    let (path0, to0, id0) = &mails[0];
    let (_, to1, id1) = &mails[1];
    let (path2, to2, id2) = &mails[2];
    let (path3, to3, id3) = &mails[3];

    // A maildir: reader 0's hard bounce to its return path, an out-of-office, and a report
    // for reader 3 whose return path was forged (another delivery's number, a wrong MAC).
    let maildir = app.path("bounces");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::write(
        maildir.join("new/1.eml"),
        dsn(
            path0,
            to0,
            "5.1.1",
            "550 5.1.1 <x>: Recipient address rejected: User unknown",
            id0,
        ),
    )
    .unwrap();
    std::fs::write(
        maildir.join("new/2.eml"),
        format!(
            "From: {to2}\r\nTo: {path2}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n"
        ),
    )
    .unwrap();
    let forged = path3.replace("-", "-0");
    std::fs::write(
        maildir.join("new/3.eml"),
        dsn(&forged, to3, "5.1.1", "550 5.1.1 User unknown", id3),
    )
    .unwrap();
    let out = app.ok(&["bounces", "ingest", "--maildir", path_str(&maildir)]);
    assert!(out.starts_with("3 reports read: 1 hard,"), "{out}");
    assert!(out.contains("1 readers suppressed"), "{out}");
    assert!(
        out.contains("1 not bounces or complaints (ignored)"),
        "{out}"
    );
    assert!(
        out.contains("1 with a forged return path (nothing changed)"),
        "{out}"
    );
    assert_eq!(std::fs::read_dir(maildir.join("cur")).unwrap().count(), 3);

    // An mbox: reader 1's complaint, to the bare bounce address (matched by Message-ID).
    let mbox = app.path("complaints.mbox");
    std::fs::write(
        &mbox,
        format!(
            "From feedback@fbl.example.net Fri Nov 27 06:00:00 2026\n{}",
            arf(BOUNCES, to1, id1)
        ),
    )
    .unwrap();
    let out = app.ok(&["bounces", "ingest", "--mbox", path_str(&mbox)]);
    assert!(out.contains("1 complaints recorded"), "{out}");
    // Again: recorded before, nothing changes.
    let out = app.ok(&["bounces", "ingest", "--mbox", path_str(&mbox)]);
    assert!(
        out.contains("0 complaints recorded") && out.contains("1 recorded before"),
        "{out}"
    );

    // Stdin: reader 2's mail refused as spam: counted, reader stays.
    let out = ingest_stdin(
        &app,
        &dsn(
            path2,
            to2,
            "5.7.1",
            "550 5.7.1 Message rejected as spam",
            id2,
        ),
    );
    assert!(out.contains("1 refused"), "{out}");

    let statuses = app.statuses();
    let status = |email: &str| {
        statuses
            .lines()
            .find(|l| l.starts_with(&format!("{email}\t")))
            .and_then(|l| l.split('\t').nth(2))
            .unwrap_or("absent")
            .to_owned()
    };
    assert_eq!(status(to0), "bounced", "{statuses}");
    assert_eq!(status(to1), "complained", "{statuses}");
    assert_eq!(status(to2), "active", "{statuses}");
    assert_eq!(
        status(to3),
        "active",
        "a forged report changes nothing: {statuses}"
    );

    let report = app.ok(&["status", SLUG]);
    assert!(
        report.contains("bounced            1  hard (20.00%), 0 soft"),
        "{report}"
    );
    assert!(report.contains("refused            1"), "{report}");
    assert!(
        report.contains("refused most by: example.com 1"),
        "{report}"
    );
    assert!(
        report.contains("complaints         1  (20.00%)"),
        "{report}"
    );

    // A complainer is never revived by an import; only a new double opt-in brings them back.
    let again = app.path("again.csv");
    std::fs::write(&again, format!("email\n{to1}\n")).unwrap();
    app.import_readers(&again);
    assert_eq!(app.status_of(to1), "complained");
}

#[test]
fn without_a_bounce_address_the_from_address_is_the_return_path_and_status_says_so() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.ok(&["subscribers", "add", "ada@example.com"]);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let mails = sent(&sink);
    assert_eq!(mails[0].0, "morning@example.com");
    let status = app.ok(&["status"]);
    assert!(
        status.contains("late bounces and complaints are not being collected"),
        "{status}"
    );
}

#[test]
fn a_hard_bounce_during_the_conversation_counts_with_the_late_ones() {
    let mut app = App::new();
    let sink = SmtpSink::start(
        &app.path("sink"),
        &["-f", "rcpt", "-B", "550 5.1.1 No such user"],
    );
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    app.ok(&["subscribers", "add", "ada@example.com"]);
    app.ok(&["subscribers", "add", "bob@example.com"]);
    let (ok, out, _) = app.run(&["send", &app.sample_issue(), "--wait"]);
    assert!(!ok, "failures are a non-zero exit: {out}");
    let report = app.ok(&["status", SLUG]);
    assert!(
        report.contains("bounced            2  hard (100.00%), 0 soft"),
        "{report}"
    );
    assert_eq!(app.status_of("ada@example.com"), "bounced");
}
