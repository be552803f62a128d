//! The sample issue scored by SpamAssassin's local rules (`spamassassin -L -t`, no network
//! tests): nothing in the template may trip a rule. Before, the preheader coloured like the
//! background scored HTML_FONT_LOW_CONTRAST (0.7), and behind a relay without reverse DNS the
//! 1 px spacer cells and that preheader added HTML_FONT_TINY_NORDNS and NORDNS_LOW_CONTRAST
//! (1.0 each).

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::app::App;

/// The rules that hit, with their points.
fn score(message: &[u8]) -> Vec<(String, f64)> {
    let mut child = Command::new("spamassassin")
        .args(["-L", "-t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spamassassin runs (scripts/ensure-tools installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message)
        .expect("write the message");
    let out = child.wait_with_output().expect("spamassassin finishes");
    let report = String::from_utf8_lossy(&out.stdout);
    let details = report
        .split("Content analysis details:")
        .nth(1)
        .expect("a SpamAssassin report");
    details
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let points: f64 = words.next()?.parse().ok()?;
            let rule = words.next()?;
            rule.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                .then(|| (rule.to_owned(), points))
        })
        .collect()
}

#[test]
fn the_template_trips_no_spamassassin_rule_even_behind_a_relay_without_reverse_dns() {
    let app = App::new();
    let out = app.path("render");
    app.ok(&[
        "render",
        &app.sample_issue(),
        "--out",
        out.to_str().expect("UTF-8 path"),
    ]);
    let eml = std::fs::read(out.join("issue.eml")).expect("issue.eml");

    let direct = score(&eml);
    let total: f64 = direct.iter().map(|(_, p)| p).sum();
    assert!(total < 1.0, "scored {total}: {direct:?}");

    // As received from a relay whose address has no reverse DNS (the NORDNS rules need one).
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .expect("a date");
    let mut relayed = format!(
        "Received: from relay.example.net (unknown [192.0.2.10])\r\n\tby mx.example.org (Postfix) with ESMTP id 4A1B2C3D\r\n\tfor <reader@example.com>; {date}\r\n"
    )
    .into_bytes();
    relayed.extend_from_slice(&eml);
    let hits = score(&relayed);
    let template_rules: Vec<&(String, f64)> = hits
        .iter()
        .filter(|(rule, _)| {
            rule.starts_with("HTML_") && rule != "HTML_MESSAGE"
                || rule.contains("CONTRAST")
                || rule.contains("TINY")
        })
        .collect();
    assert!(
        template_rules.is_empty(),
        "rules the template trips: {template_rules:?} (all: {hits:?})"
    );
    assert!(
        hits.iter().any(|(rule, _)| rule == "RDNS_NONE"),
        "the staged relay has no reverse DNS, so the NORDNS rules could fire: {hits:?}"
    );
}
