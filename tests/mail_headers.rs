//! Headers read back by an independent parser (mail-parser): long and non-ASCII subjects
//! round-trip, no header line passes 78 characters, and a line holding an encoded word stays
//! within 76 (RFC 2047 §2). An issue's subject is bounded when the issue is read.

use mail_parser::MessageParser;
use morningpost::issue::{Problem, parse_issue};
use morningpost::mail::encode::mailbox;
use morningpost::mail::{MessageHeaders, assemble};
use proptest::prelude::*;

fn message(subject: &str, from: &str) -> Vec<u8> {
    let headers = MessageHeaders {
        from,
        to: "<ada@example.com>",
        subject,
        date: time::macros::datetime!(2026-11-27 06:00:00 UTC),
        message_id: "<2026-11-27.1@example.com>",
        list: None,
    };
    assemble(&headers, "text", "<p>html</p>").expect("a date in range")
}

/// The header block's lines, without their CRLF.
fn head_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8(bytes.to_vec()).expect("messages are ASCII");
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    head.split("\r\n").map(str::to_owned).collect()
}

fn assert_lines_within_limits(bytes: &[u8]) {
    for line in head_lines(bytes) {
        assert!(line.len() <= 78, "{} characters: {line}", line.len());
        if line.contains("=?") {
            assert!(line.len() <= 76, "{} characters: {line}", line.len());
        }
    }
}

fn parsed_subject(bytes: &[u8]) -> String {
    MessageParser::default()
        .parse(bytes)
        .and_then(|m| m.subject().map(str::to_owned))
        .expect("a Subject")
}

/// On today's code: one 1,210-octet Subject line for the first, an 81-character first line
/// for the second.
#[test]
fn long_and_non_ascii_subjects_round_trip_within_the_line_limits() {
    for subject in [
        "x".repeat(1200),
        format!("{} end", ["word"; 240].join(" ")),
        ["Grüße aus München und überall"; 20].join(" "),
        "Die Woche: ¿Qué pasó? Ünïcödé everywhere".to_owned(),
        ["😀 emoji 🚀 at four bytes each"; 10].join(" "),
        format!("A URL https://example.com/{} in a subject", "a".repeat(150)),
        "Looks encoded: =?utf-8?B?SGk=?= but is not".to_owned(),
    ] {
        let bytes = message(&subject, "<morning@example.com>");
        assert_lines_within_limits(&bytes);
        assert_eq!(parsed_subject(&bytes), subject);
    }
}

#[test]
fn a_long_non_ascii_sender_name_stays_within_76_characters_a_line() {
    let name = "Die Morgenpost für Künstliche Intelligenz und Maschinelles Lernen ".repeat(3);
    let from = mailbox(Some(name.trim()), "morning@example.com");
    let bytes = message("Hello", &from);
    assert_lines_within_limits(&bytes);
    let parsed = MessageParser::default().parse(&bytes).expect("parses");
    let sender = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(sender.name(), Some(name.trim()));
    assert_eq!(sender.address(), Some("morning@example.com"));
}

fn subject_text() -> impl Strategy<Value = String> {
    // Words of any printable characters (what the front matter lets through), one space
    // between them.
    prop::collection::vec("[^\\s\\p{Cc}]{1,90}", 1..30).prop_map(|words| words.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_subject_round_trips_within_the_line_limits(subject in subject_text()) {
        let bytes = message(&subject, "<morning@example.com>");
        assert_lines_within_limits(&bytes);
        prop_assert_eq!(parsed_subject(&bytes), subject);
    }
}

/// The subject (or the title standing in for it) is bounded at render time, at its
/// FILE:LINE:COL; each bad input gets `SubjectTooLong` naming its key.
#[test]
fn an_overlong_subject_is_refused_where_it_is_written() {
    let long = "x".repeat(201);
    for (source, key, line, col) in [
        (
            format!("+++\ntitle = \"T\"\nsubject = \"{long}\"\ndate = 2026-11-27\n+++\nBody.\n"),
            "subject",
            3,
            11,
        ),
        (
            format!("+++\ndate = 2026-11-27\ntitle = \"{long}\"\n+++\nBody.\n"),
            "title",
            3,
            9,
        ),
    ] {
        let e = parse_issue("issue.md", source.as_bytes()).expect_err("too long");
        assert!(
            matches!(e.problem(), Some(Problem::SubjectTooLong { key: k, chars: 201, max: 200 }) if *k == key),
            "{e}"
        );
        assert_eq!(e.location(), Some((line, col)), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("issue.md:{line}:{col}: `{key}` is 201 characters")),
            "{text}"
        );
        assert!(text.contains("shorten it"), "{text}");
    }
    // A long title with a short subject is fine: only the subject goes into the header.
    let ok =
        format!("+++\ntitle = \"{long}\"\nsubject = \"Short\"\ndate = 2026-11-27\n+++\nBody.\n");
    assert_eq!(
        parse_issue("issue.md", ok.as_bytes())
            .expect("parses")
            .subject,
        "Short"
    );
    // 200 non-ASCII characters are within the bound (characters, not bytes).
    let at_bound = format!(
        "+++\ntitle = \"{}\"\ndate = 2026-11-27\n+++\nBody.\n",
        "ü".repeat(200)
    );
    assert!(parse_issue("issue.md", at_bound.as_bytes()).is_ok());
}
