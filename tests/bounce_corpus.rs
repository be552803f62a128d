//! The bounce corpus (tests/bounces/corpus, origins in tests/bounces/SOURCES.md): each mail's
//! `bounces explain --json` lines must equal tests/bounces/expected.jsonl, through the library
//! and through the binary. Then arbitrary and hostile input: no panic, bounded time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use morningpost::bounce;
use proptest::prelude::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bounces/corpus")
}

/// The corpus file names, sorted (the order of expected.jsonl).
fn corpus_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("read corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

fn expected_lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bounces/expected.jsonl");
    std::fs::read_to_string(path)
        .expect("read expected.jsonl")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn compare(actual: &[String], expected: &[String]) {
    let mut problems = Vec::new();
    for (i, pair) in actual.iter().zip(expected).enumerate() {
        if pair.0 != pair.1 {
            problems.push(format!(
                "line {}:\n  got:      {}\n  expected: {}",
                i + 1,
                pair.0,
                pair.1
            ));
        }
    }
    if actual.len() != expected.len() {
        problems.push(format!(
            "{} lines, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "corpus mismatch:\n{}",
        problems.join("\n")
    );
}

#[test]
fn corpus_is_large_and_varied() {
    let files = corpus_files();
    assert!(files.len() >= 60, "only {} corpus mails", files.len());
    let expected = expected_lines().join("\n");
    for class in ["hard", "soft", "refused", "complaint", "ignore"] {
        assert!(
            expected.contains(&format!("\"class\":\"{class}\"")),
            "no {class} in the corpus"
        );
    }
    for kind in ["bounce", "complaint", "auto-reply", "delivered", "unknown"] {
        assert!(
            expected.contains(&format!("\"kind\":\"{kind}\"")),
            "no {kind} in the corpus"
        );
    }
}

#[test]
fn corpus_through_the_library() {
    let mut actual = Vec::new();
    for name in corpus_files() {
        let raw = std::fs::read(corpus_dir().join(&name)).expect("read mail");
        for line in bounce::parse(&raw).explain_lines(&name) {
            actual.push(serde_json::to_string(&line).expect("json"));
        }
    }
    compare(&actual, &expected_lines());
}

#[test]
fn corpus_through_the_binary() {
    let output = Command::new(env!("CARGO_BIN_EXE_morningpost"))
        .current_dir(corpus_dir())
        .args(["bounces", "explain", "--json"])
        .args(corpus_files())
        .env("MORNINGPOST_LOG", "off")
        .output()
        .expect("run morningpost");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    let actual: Vec<String> = stdout.lines().map(str::to_owned).collect();
    compare(&actual, &expected_lines());
}

#[test]
fn unreadable_file_is_named_and_the_rest_explained() {
    let output = Command::new(env!("CARGO_BIN_EXE_morningpost"))
        .current_dir(corpus_dir())
        .args(["bounces", "explain", "no-such-file.eml", "own-ses-hard.eml"])
        .output()
        .expect("run morningpost");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.eml"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("own-ses-hard.eml: bounce hard reader@example.com"),
        "{stdout}"
    );
}

#[test]
fn report_ties_back_to_the_original() {
    let raw = std::fs::read(corpus_dir().join("own-ses-multi.eml")).expect("read");
    let report = bounce::parse(&raw);
    assert_eq!(
        report.original_message_ids,
        vec!["<2026-11-27.4f1c@news.example.org>".to_owned()]
    );
    assert_eq!(
        report.original_recipients,
        vec!["one@example.com".to_owned()]
    );
    assert_eq!(
        report.report_addresses,
        vec!["bounce+reader=example.com@news.example.org".to_owned()]
    );
    assert_eq!(report.recipients[1].action.as_deref(), Some("failed"));
    let quoted = std::fs::read(corpus_dir().join("own-yahoo-no-account.eml")).expect("read");
    assert_eq!(
        bounce::parse(&quoted).original_message_ids,
        vec!["<2026-11-27.77aa@news.example.org>".to_owned()]
    );
}

fn quick(raw: &[u8]) -> bounce::Report {
    let start = Instant::now();
    let report = bounce::parse(raw);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    report
}

#[test]
fn huge_message_is_capped() {
    let mut raw = b"From: MAILER-DAEMON@example.net\r\nSubject: Undelivered Mail\r\n\r\n".to_vec();
    raw.extend(
        std::iter::repeat_n(
            b"x@y 550 5.1.1 user unknown aaaaaaaaaaaaaaaaaaaaaaa\r\n".as_slice(),
            450_000,
        )
        .flatten(),
    );
    assert!(raw.len() > 20 * 1024 * 1024);
    let report = quick(&raw);
    assert_eq!(report.kind, bounce::Kind::Bounce);
}

#[test]
fn invalid_utf8_does_not_panic() {
    let raw = std::fs::read(corpus_dir().join("own-exim-multi.eml")).expect("read");
    let mangled: Vec<u8> = raw
        .iter()
        .enumerate()
        .map(|(i, b)| if i % 37 == 0 { 0xff } else { *b })
        .collect();
    quick(&mangled);
    quick(&[
        0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, b'\n', b'\n', 0xf0, 0x90,
    ]);
}

#[test]
fn nested_rfc822_ten_deep() {
    let mut inner = "From: a@example.com\r\nTo: deep@example.com\r\nMessage-ID: <deep@example.com>\r\n\r\nhello\r\n".to_owned();
    for depth in 0..10 {
        inner = format!(
            "From: MAILER-DAEMON@example.net\r\nSubject: Undelivered Mail {depth}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b{depth}\"\r\n\r\n\
             --b{depth}\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
             --b{depth}\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--b{depth}--\r\n"
        );
    }
    let report = quick(inner.as_bytes());
    assert_eq!(report.kind, bounce::Kind::Bounce);
}

#[test]
fn truncated_and_empty_input() {
    let raw = std::fs::read(corpus_dir().join("own-sendmail-dsn-multi.eml")).expect("read");
    for cut in (0..raw.len()).step_by(97) {
        quick(raw.get(..cut).unwrap_or(&raw));
    }
    assert_eq!(quick(b"").kind, bounce::Kind::Unknown);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let report = bounce::parse(&raw);
        prop_assert!(!report.explain_lines("x").is_empty());
    }

    #[test]
    fn mutated_corpus_mails_never_panic(
        index in 0usize..200,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let files = corpus_files();
        let name = &files[index % files.len()];
        let mut raw = std::fs::read(corpus_dir().join(name)).expect("read");
        for (at, byte) in edits {
            let i = at.index(raw.len().max(1));
            if let Some(b) = raw.get_mut(i) {
                *b = byte;
            }
        }
        let len = cut.index(raw.len() + 1);
        raw.truncate(len.max(raw.len() / 2));
        let report = bounce::parse(&raw);
        for r in &report.recipients {
            prop_assert!(r.diagnostic.as_ref().is_none_or(|d| d.chars().count() <= 500));
        }
    }
}
