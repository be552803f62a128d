//! How each failure of a real SMTP server is classified: smtp-sink answers any command with a
//! 4xx (`-r`), a 5xx (`-f`) or a hang-up (`-q`), and the sender reports what that means for the
//! delivery: retry (temporary), fail (permanent) or retry and tell the operator (relay).

mod support;

use std::time::Duration;

use morningpost::mail::transport::SendFailure;
use support::sink::{SmtpSink, free_port};

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Temporary,
    Permanent { no_such_user: bool },
    Relay,
    Throttled,
}

fn kind(f: &SendFailure) -> Kind {
    match f {
        SendFailure::Temporary { .. } => Kind::Temporary,
        SendFailure::Permanent { no_such_user, .. } => Kind::Permanent {
            no_such_user: *no_such_user,
        },
        SendFailure::Relay { .. } => Kind::Relay,
        SendFailure::Throttled { .. } => Kind::Throttled,
    }
}

/// Sends one small message to `url`; the failure, or the reply to the final dot.
fn send(url: &str) -> Result<String, SendFailure> {
    let settings = support::settings(&[
        ("MORNINGPOST_SMTP_URL", url),
        ("MORNINGPOST_SMTP_TIMEOUT_SECONDS", "2"),
        ("MORNINGPOST_LEASE_SECONDS", "12"),
    ]);
    support::send_one::send_one(&settings)
}

#[test]
fn every_kind_of_server_answer_is_classified_from_the_reply_and_the_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    // (smtp-sink flags, what the delivery gets, what is recorded as its reply)
    let cases: &[(&[&str], Kind, &str)] = &[
        // 4xx to a recipient or the message: try again later, in the server's own words.
        (
            &["-r", "rcpt", "-b", "451 4.7.1 Greylisted, try again later"],
            Kind::Temporary,
            "451 4.7.1 Greylisted, try again later",
        ),
        (
            &["-r", "data", "-b", "452 4.3.1 Insufficient system storage"],
            Kind::Temporary,
            "452 4.3.1 Insufficient system storage",
        ),
        // 4xx before any recipient, or 421 anywhere: the relay pushes us back, whatever the
        // message (issue 9: these must never count against a reader).
        (
            &["-r", "mail"],
            Kind::Relay,
            "450 4.3.0 Error: command failed (in reply to MAIL FROM)",
        ),
        (
            &["-r", "ehlo"],
            Kind::Relay,
            "450 4.3.0 Error: command failed (in reply to the greeting or EHLO)",
        ),
        (
            &["-r", "connect", "-b", "421 4.3.2 Service shutting down"],
            Kind::Relay,
            "421 4.3.2 Service shutting down (in reply to the greeting or EHLO)",
        ),
        // A relay that asks us to slow down (issue 12): neither the reader's fault nor a
        // broken relay. Amazon SES's words at its maximum send rate, a 4.7.x 421 or 451 (but
        // not greylisting, above: that is about one recipient).
        (
            &[
                "-r",
                "mail",
                "-b",
                "454 Throttling failure: Maximum sending rate exceeded.",
            ],
            Kind::Throttled,
            "454 Throttling failure: Maximum sending rate exceeded. (in reply to MAIL FROM)",
        ),
        (
            &[
                "-r",
                "rcpt",
                "-b",
                "421 4.7.0 Too many connections, closing",
            ],
            Kind::Throttled,
            "421 4.7.0 Too many connections, closing (in reply to RCPT TO)",
        ),
        (
            &[
                "-r",
                ".",
                "-b",
                "451 4.7.500 Server busy. Please try again later.",
            ],
            Kind::Throttled,
            "451 4.7.500 Server busy. Please try again later. (in reply to the end of the message)",
        ),
        // 5xx to the recipient or the message: this delivery fails; 5.1.x bounces the reader.
        (
            &["-f", "rcpt", "-B", "550 5.1.1 No such user"],
            Kind::Permanent { no_such_user: true },
            "550 5.1.1 No such user",
        ),
        (
            &["-f", "rcpt", "-B", "550 5.7.1 Message refused by policy"],
            Kind::Permanent {
                no_such_user: false,
            },
            "550 5.7.1 Message refused by policy",
        ),
        (
            &["-f", "rcpt", "-B", "550 Mailbox 5.1.1 is not a code here"],
            Kind::Permanent {
                no_such_user: false,
            },
            "550 Mailbox 5.1.1 is not a code here",
        ),
        (
            &["-f", "data"],
            Kind::Permanent {
                no_such_user: false,
            },
            "500 5.3.0 Error: command failed",
        ),
        (
            &["-f", ".", "-B", "554 5.6.0 Content rejected"],
            Kind::Permanent {
                no_such_user: false,
            },
            "554 5.6.0 Content rejected",
        ),
        // A refusal at RCPT that names our sender or relaying: about us, not the reader.
        (
            &[
                "-f",
                "rcpt",
                "-B",
                "554 5.7.1 <a@example.net>: Relay access denied",
            ],
            Kind::Relay,
            "554 5.7.1 <a@example.net>: Relay access denied (in reply to RCPT TO)",
        ),
        (
            &[
                "-f",
                "rcpt",
                "-B",
                "553 5.1.8 <morning@example.com>: Sender address rejected: Domain not found",
            ],
            Kind::Relay,
            "553 5.1.8 <morning@example.com>: Sender address rejected: Domain not found (in reply to RCPT TO)",
        ),
        // 5xx before any recipient: the relay refuses us, whatever the message (on today's
        // code these failed the delivery for good).
        (
            &["-f", "mail", "-B", "553 5.7.1 Sender address rejected"],
            Kind::Relay,
            "553 5.7.1 Sender address rejected (in reply to MAIL FROM)",
        ),
        (
            &["-f", "ehlo"],
            Kind::Relay,
            "500 5.3.0 Error: command failed (in reply to the greeting or EHLO)",
        ),
        (
            &["-f", "connect", "-B", "554 5.7.1 Go away"],
            Kind::Relay,
            "554 5.7.1 Go away (in reply to the greeting or EHLO)",
        ),
        // No reply at all while setting up the session: a relay problem (on today's code,
        // "temporary" for three days).
        (
            &["-q", "ehlo"],
            Kind::Relay,
            "cannot open an SMTP session with 127.0.0.1:",
        ),
        // A hang-up in the middle of a message: the session is lost, try again.
        (&["-q", "."], Kind::Temporary, "the session with 127.0.0.1:"),
        (&["-q", "rcpt"], Kind::Temporary, "broke at RCPT TO"),
    ];
    for (i, (flags, expected, reply)) in cases.iter().enumerate() {
        let sink = SmtpSink::start(&dir.path().join(i.to_string()), flags);
        let failure = send(&sink.url()).expect_err(&format!("{flags:?} fails"));
        assert_eq!(&kind(&failure), expected, "{flags:?}: {failure:?}");
        assert!(
            failure.reply().starts_with(reply) || failure.reply().contains(reply),
            "{flags:?}: expected {reply:?}, recorded {:?}",
            failure.reply()
        );
        assert!(
            !failure.reply().contains("error (") && !failure.reply().contains("permanent error"),
            "lettre's wording is not the server's: {}",
            failure.reply()
        );
    }
}

#[test]
fn a_healthy_server_takes_the_message_and_its_reply_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = SmtpSink::start(dir.path(), &[]);
    let reply = send(&sink.url()).expect("sent");
    assert!(reply.starts_with("250 "), "{reply}");
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)), 1);
}

#[test]
fn nothing_listening_or_no_starttls_is_a_relay_problem_with_its_cause() {
    let port = free_port();
    let failure = send(&format!("smtp://127.0.0.1:{port}?tls=none")).unwrap_err();
    assert_eq!(kind(&failure), Kind::Relay, "{failure:?}");
    let reply = failure.reply();
    assert!(
        reply.starts_with(&format!("cannot connect to 127.0.0.1:{port}: "))
            && reply.contains("refused"),
        "{reply}"
    );
    assert!(
        std::error::Error::source(&failure).is_some(),
        "the io error is kept as the source"
    );
    assert!(
        !failure.to_string().contains("refused"),
        "Display leaves the cause to the chain"
    );

    // smtp-sink offers no STARTTLS; the URL requires it.
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = SmtpSink::start(dir.path(), &[]);
    let failure = send(&format!("smtp://127.0.0.1:{}?tls=starttls", sink.port)).unwrap_err();
    assert_eq!(kind(&failure), Kind::Relay, "{failure:?}");
    assert!(
        failure.reply().contains("STARTTLS is not supported"),
        "{}",
        failure.reply()
    );
}
