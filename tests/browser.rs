//! The reader's side in a real browser (Debian's headless Chromium, driven by Playwright from
//! npm): the pages filled in and submitted like a reader would, axe-core's WCAG 2.1 AA rules
//! on every page, and the issue's HTML email measured at phone, mail-pane and desktop widths,
//! light and dark, with and without its `<style>` block. Screenshots are kept under
//! `target/browser-screenshots/`.

mod support;

use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::{Value, json};
use support::app::App;
use support::browser::{axe_violations, drive, screenshot, text};
use support::http::{Server, urls};
use support::mail::{list_unsubscribe_url, raw_header};
use support::sink::SmtpSink;

fn assert_accessible(facts: &Value, page: &str) {
    let violations = axe_violations(facts);
    assert!(
        violations.is_empty(),
        "axe finds WCAG 2.1 AA violations on {page}:\n{}",
        violations.join("\n")
    );
}

fn assert_fits(facts: &Value, what: &str) {
    assert!(
        facts["overflow"].as_f64() == Some(0.0) && facts["wide"] == json!([]),
        "{what} is wider than the viewport by {} px: {}",
        facts["overflow"],
        facts["wide"]
    );
}

/// A visit of `url` at `width`, checked by axe, with a screenshot named `name`.
fn visit(url: &str, width: u32, name: &str) -> Value {
    json!({ "url": url, "width": width, "height": 800, "axe": true, "screenshot": screenshot(name) })
}

#[test]
fn a_reader_subscribes_confirms_reads_and_leaves_in_a_real_browser() {
    let mut app = App::new();
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let server = Server::start(&mut app, &[]);
    let base = format!("http://127.0.0.1:{}", server.port);

    // The sign-up form, on a phone in Tokyo.
    let mut signup = visit(&format!("{base}/"), 375, "page-subscribe-375");
    signup["timezone"] = json!("Asia/Tokyo");
    // As fast as a person: the form refuses one posted back within two seconds.
    signup["actions"] = json!([
        { "fill": "#email", "value": "ada@example.com" },
        { "fill": "#name", "value": "Ada Lovelace" },
        { "wait": 2500 },
        { "click": "button[type=submit]" },
    ]);
    let report = drive(&[signup]).remove(0);
    let (form, answer) = (&report["before"], &report["after"]);
    assert_eq!(form["status"], 200);
    assert_eq!(
        form["fields"]["time_zone"], "Asia/Tokyo",
        "the page's script fills in the browser's time zone"
    );
    assert_accessible(form, "the subscribe page");
    assert_fits(form, "the subscribe page");
    assert_eq!(answer["status"], 200);
    assert!(
        text(answer).contains("Check your inbox"),
        "{}",
        text(answer)
    );
    assert_accessible(answer, "the answer to a sign-up");

    // The confirmation mail: its link, and the mail itself at a phone's width.
    assert_eq!(
        sink.wait_for(1, Duration::from_secs(20)),
        1,
        "the confirmation mail arrives"
    );
    let mail = sink.messages().remove(0);
    let parsed = MessageParser::default()
        .parse(&mail)
        .expect("a MIME message");
    let confirm_url = urls(&parsed.body_text(0).expect("a text part"))
        .into_iter()
        .find(|u| u.contains("/confirm/"))
        .expect("a confirm link");
    let confirmation_html = app.path("confirmation.html");
    std::fs::write(
        &confirmation_html,
        parsed.body_html(0).expect("an HTML part").as_bytes(),
    )
    .expect("write the confirmation mail");
    let mut confirm = visit(&confirm_url, 375, "page-confirm-375");
    confirm["actions"] = json!([{ "click": "button[type=submit]" }]);
    let mail_url = format!("file://{}", confirmation_html.display());
    let mut reports = drive(&[
        visit(&mail_url, 375, "mail-confirmation-375-light"),
        json!({ "url": mail_url, "width": 375, "height": 800, "scheme": "dark", "axe": true,
                "screenshot": screenshot("mail-confirmation-375-dark") }),
        confirm,
    ]);
    for (i, scheme) in ["light", "dark"].iter().enumerate() {
        let facts = &reports[i]["before"];
        assert_accessible(facts, &format!("the confirmation mail ({scheme})"));
        assert_fits(facts, "the confirmation mail");
        assert!(
            facts["smallestText"].as_f64() >= Some(14.0),
            "{}",
            facts["textSizes"]
        );
    }
    let confirm = reports.remove(2);
    assert!(text(&confirm["before"]).contains("Confirm your subscription"));
    assert_accessible(&confirm["before"], "the confirm page");
    assert!(
        text(&confirm["after"]).contains("You're subscribed"),
        "{}",
        text(&confirm["after"])
    );
    assert_accessible(&confirm["after"], "the page after confirming");
    assert_eq!(app.status_of("ada@example.com"), "active");
    let shown = app.ok(&["subscribers", "show", "ada@example.com"]);
    assert!(
        shown.contains("Asia/Tokyo"),
        "the zone the form sent is kept: {shown}"
    );

    // An issue, then the archive, the issue's page and the way out.
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    assert_eq!(
        sink.wait_for(2, Duration::from_secs(20)),
        2,
        "the issue arrives"
    );
    let issue_mail = sink
        .messages()
        .into_iter()
        .find(|m| raw_header(m, "Subject").starts_with("The Zero-Download"))
        .expect("the issue");
    let unsubscribe_url = list_unsubscribe_url(&issue_mail);
    let mut unsubscribe = visit(&unsubscribe_url, 375, "page-unsubscribe-375");
    unsubscribe["actions"] = json!([{ "click": "button[type=submit]" }]);
    let dark = |path: &str, name: &str| {
        let mut v = visit(&format!("{base}{path}"), 375, name);
        v["scheme"] = json!("dark");
        v
    };
    let reports = drive(&[
        visit(&format!("{base}/issues"), 375, "page-archive-375"),
        visit(&format!("{base}/issues/2026-11-27"), 375, "page-issue-375"),
        visit(
            &format!("{base}/issues/2026-11-27"),
            1024,
            "page-issue-1024",
        ),
        visit(&format!("{base}/no-such-page"), 375, "page-not-found-375"),
        unsubscribe,
        dark("/", "page-subscribe-375-dark"),
        dark("/issues", "page-archive-375-dark"),
        dark("/issues/2026-11-27", "page-issue-375-dark"),
    ]);
    let archive = &reports[0]["before"];
    assert!(
        text(archive).contains("The Zero-Download Mystery"),
        "{}",
        text(archive)
    );
    assert_eq!(
        archive["feeds"],
        json!([format!("{base}/issues/feed.xml")]),
        "the archive names its feed"
    );
    for (report, page) in reports.iter().zip([
        "the archive",
        "the issue page",
        "the issue page",
        "the not-found page",
    ]) {
        assert_accessible(&report["before"], page);
        assert_fits(&report["before"], page);
    }
    assert_eq!(
        reports[1]["before"]["feeds"],
        json!([format!("{base}/issues/feed.xml")])
    );
    assert_eq!(reports[3]["before"]["status"], 404);
    let unsubscribe = &reports[4];
    assert!(text(&unsubscribe["before"]).contains("ada@example.com"));
    assert_accessible(&unsubscribe["before"], "the unsubscribe page");
    assert!(
        text(&unsubscribe["after"]).contains("You're unsubscribed"),
        "{}",
        text(&unsubscribe["after"])
    );
    assert_accessible(&unsubscribe["after"], "the page after unsubscribing");
    assert_eq!(app.status_of("ada@example.com"), "unsubscribed");
}

/// Every kind of block the issue format has, so each one's light and dark style is measured.
const EVERY_BLOCK: &str = r#"+++
title = "Every block, measured"
date = 2026-11-28
preheader = "A fixture for the browser tests."
+++

*A dek in italics under the headline.*

A paragraph with **strong**, *emphasis*, `inline code` and [a link](https://example.com/).

## A Section With Everything

**Deep Dive**

### A headline with a kicker

*A section dek.*

#### A group heading

1. An ordered item
2. Another, with a [link](https://example.org/path)

- A plain bullet without a card's shape
- Another plain bullet

> A quotation that runs long enough to wrap onto a second line on a phone's narrow screen.

```
fn main() { println!("a code block that is long enough to need wrapping on a phone screen"); }
```

---

- [A card with a link](https://github.com/example/project) — and its description
- **A card without a link** — and its description
"#;

/// Before: at 375 px without its `<style>` block the mail was 225 px wider than the screen;
/// in dark mode section titles were 2.36:1 and the double rules 1.01:1; the footer's text was
/// 12 px and its Unsubscribe link a 67×14 px target.
#[test]
fn the_issue_email_holds_up_at_every_width_light_and_dark_with_and_without_its_style() {
    let app = App::new();
    let every_block = app.path("every-block.md");
    std::fs::write(&every_block, EVERY_BLOCK).expect("write the fixture");
    let mut visits = Vec::new();
    let mut names = Vec::new();
    for (issue, label, widths) in [
        (app.sample_issue(), "issue", &[375, 600, 1024][..]),
        (every_block.display().to_string(), "every-block", &[375][..]),
    ] {
        let out = app.path(label);
        app.ok(&["render", &issue, "--out", out.to_str().expect("UTF-8 path")]);
        let url = format!("file://{}", out.join("issue.html").display());
        for &width in widths {
            for scheme in ["light", "dark"] {
                for strip in [false, true] {
                    let name = format!(
                        "mail-{label}-{width}-{scheme}{}",
                        if strip { "-without-style" } else { "" }
                    );
                    visits.push(json!({ "url": url, "width": width, "height": 800,
                        "scheme": scheme, "stripStyle": strip, "axe": true,
                        "fullPage": label == "every-block", "screenshot": screenshot(&name) }));
                    names.push((name, width, scheme, strip));
                }
            }
        }
    }
    let reports = drive(&visits);
    for (report, (name, width, scheme, strip)) in reports.iter().zip(&names) {
        let facts = &report["before"];
        assert_accessible(facts, name);
        assert_fits(facts, name);
        assert!(
            facts["smallestBodyText"].as_f64() >= Some(16.0),
            "{name}: body text of {} px",
            facts["smallestBodyText"]
        );
        assert!(
            facts["smallestText"].as_f64() >= Some(14.0),
            "{name}: text smaller than 14 px: {}",
            facts["textSizes"]
        );
        let unsubscribe = facts["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["text"] == "Unsubscribe")
            .unwrap_or_else(|| panic!("{name}: no visible Unsubscribe link"));
        assert!(
            unsubscribe["left"].as_f64() >= Some(0.0)
                && unsubscribe["right"].as_f64() <= Some(f64::from(*width)),
            "{name}: the Unsubscribe link is off screen: {unsubscribe}"
        );
        for target in facts["targets"].as_array().expect("tap targets") {
            assert!(
                target["width"].as_f64() >= Some(44.0) && target["height"].as_f64() >= Some(44.0),
                "{name}: a tap target under 44×44 px: {target}"
            );
        }
        for rule in facts["rules"].as_array().expect("rules") {
            assert!(
                rule["ratio"].as_f64() >= Some(3.0),
                "{name}: a rule or accent below 3:1: {rule}"
            );
        }
        if *scheme == "dark" && !strip {
            assert_ne!(
                facts["colors"]["kicker"], "rgb(255, 255, 255)",
                "{name}: the kicker keeps its accent colour"
            );
        }
    }
}
