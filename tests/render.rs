//! The renderer end to end on the sample issue: golden files, the .eml read back by a real
//! MIME parser, and the rules an HTML email must keep.

mod support;

use mail_parser::{MessageParser, MimeHeaders};
use morningpost::issue::parse_issue;
use morningpost::mail::{IssueMessage, Recipient, message_id};
use morningpost::render::{RenderContext, RenderedIssue, SlotValues, render_issue};
use support::{assert_golden, sample_issue_bytes, settings};

const BASE: &str = "https://news.example.com";

fn rendered() -> (morningpost::config::Settings, RenderedIssue) {
    let settings = settings(&[
        ("MORNINGPOST_BASE_URL", BASE),
        (
            "MORNINGPOST_FROM",
            "The AI Morning Post <morning@example.com>",
        ),
    ]);
    let issue =
        parse_issue("2026-11-27.md", &sample_issue_bytes()).expect("the sample issue parses");
    let r =
        render_issue(&issue, &RenderContext::from_settings(&settings)).expect("the sample renders");
    (settings, r)
}

const VALUES: SlotValues<'static> = SlotValues {
    unsubscribe_url: "https://news.example.com/unsubscribe/TOKEN123",
    view_url: "https://news.example.com/issues/2026-11-27",
    recipient: "ada@example.com",
    confirm_url: "",
    why: "you signed up and confirmed your address by email.",
};

#[test]
fn sample_html_and_text_match_their_golden_files() {
    let (_, r) = rendered();
    assert_golden("2026-11-27.html", &r.html.fill_html(&VALUES));
    assert_golden("2026-11-27.txt", &r.text.fill_text(&VALUES));
    assert_golden("2026-11-27.web.html", &r.web_html);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// Visible text of an HTML document: tags dropped, the few entities maud writes decoded.
fn visible_text(html: &str) -> String {
    let body = &html[html.find("<body").expect("has a body")..];
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"");
    normalize(&out)
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_part_of_the_seed_is_in_the_email() {
    let (_, r) = rendered();
    let html = visible_text(&r.html.fill_html(&VALUES));
    let seed = std::fs::read_to_string(support::repo_path("tests/golden/seed.txt"))
        .expect("the seed text ships with the tests");
    // The seed glues some lines together (a label and the first entry); split them back.
    let glued = [
        (
            "Models & Datasets of the WeekGodwinlyamba",
            "Models & Datasets of the Week\nGodwinlyamba",
        ),
        (
            "AI/ML Repositories of the Week🤗",
            "AI/ML Repositories of the Week\n🤗",
        ),
        (
            "Join Telegram ChannelScan to join on mobile",
            "Join Telegram Channel",
        ),
    ];
    let mut seed = seed;
    for (from, to) in glued {
        seed = seed.replace(from, to);
    }
    // The web page's call to subscribe is not for readers who already did: the email's footer
    // invites them to forward it instead, so these lines are left out on purpose.
    let not_for_subscribers = [
        "Subscribe to AI Morning Post",
        "Get daily AI insights, trending tools, and expert analysis delivered to your inbox every morning. Stay ahead of the curve.",
    ];
    for line in seed.lines().map(normalize).filter(|l| !l.is_empty()) {
        if not_for_subscribers.contains(&line.as_str()) {
            assert!(
                !html.contains(&line),
                "the email asks subscribers to subscribe: {line:?}"
            );
            continue;
        }
        assert!(html.contains(&line), "missing from the email: {line:?}");
    }
    assert!(
        html.contains(
            "Know someone who would enjoy it? Forward this email: they can subscribe here"
        ),
        "the footer asks to pass it on: {html}"
    );
}

#[test]
fn the_eml_parses_back_with_every_header_and_both_parts() {
    let (settings, r) = rendered();
    let message = IssueMessage::new(
        std::sync::Arc::new(r),
        &settings.from,
        &settings.newsletter,
        &settings.urls(),
    );
    let id = message_id("2026-11-27", uuid::Uuid::nil(), "example.com");
    let recipient = Recipient {
        email: "ada@example.com",
        name: Some("Ada Lovelace"),
        unsubscribe_token: "TOKEN123",
        message_id: &id,
        why: "you signed up and confirmed your address by email.",
    };
    let bytes = message
        .build(&recipient, time::OffsetDateTime::now_utc())
        .expect("today's date can be written");
    assert!(
        bytes
            .split(|b| *b == b'\n')
            .all(|l| l.len() <= 998 && l.ends_with(b"\r") || l.is_empty()),
        "CRLF lines ≤ 998"
    );

    let parsed = MessageParser::default()
        .parse(&bytes)
        .expect("mail-parser reads it");
    assert_eq!(
        parsed.subject(),
        Some("The Zero-Download Mystery: HuggingFace's New Experimental Underground")
    );
    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("morning@example.com"));
    assert_eq!(from.name(), Some("The AI Morning Post"));
    let to = parsed.to().and_then(|a| a.first()).expect("To");
    assert_eq!(
        (to.name(), to.address()),
        (Some("Ada Lovelace"), Some("ada@example.com"))
    );
    assert_eq!(
        parsed.message_id(),
        Some("2026-11-27.00000000000000000000000000000000@example.com")
    );
    assert!(parsed.date().is_some());
    let raw = String::from_utf8_lossy(&bytes);
    assert!(
        raw.contains("List-Id: \"The AI Morning Post\" <morning.example.com>\r\n"),
        "{raw:.800}"
    );
    assert!(raw.contains(
        "List-Unsubscribe: <https://news.example.com/unsubscribe/TOKEN123>,\r\n <mailto:unsubscribe@example.com?subject=unsubscribe%20TOKEN123>\r\n"
    ));
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));

    let ct = parsed.content_type().expect("Content-Type");
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(parsed.text_body.len(), 1);
    assert_eq!(parsed.html_body.len(), 1);
    let parts: Vec<_> = parsed.parts.iter().skip(1).collect();
    assert_eq!(parts.len(), 2, "exactly two alternatives");
    for (part, subtype) in parts.iter().zip(["plain", "html"]) {
        let ct = part.content_type().expect("part Content-Type");
        assert_eq!(
            (ct.ctype(), ct.subtype()),
            ("text", Some(subtype)),
            "text/plain first, text/html last"
        );
        assert_eq!(ct.attribute("charset"), Some("utf-8"));
    }
    let text = parsed.body_text(0).expect("text body");
    let html = parsed.body_html(0).expect("html body");
    assert!(text.contains("Tools of the Week".to_uppercase().as_str()));
    assert!(
        html.contains("🤗 Transformers"),
        "UTF-8 survives the round trip"
    );

    let text_links = links_in_text(&text);
    let html_links = links_in_html(&html);
    assert_eq!(text_links, html_links, "both parts carry the same links");
    assert!(html_links.contains("https://news.example.com/unsubscribe/TOKEN123"));
    assert!(html_links.contains("https://news.example.com/issues/2026-11-27"));
    assert!(html_links.contains("https://news.example.com/"));
}

fn links_in_html(html: &str) -> std::collections::BTreeSet<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|s| s.replace("&amp;", "&"))
        .collect()
}

fn links_in_text(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .filter(|w| w.starts_with("https://") || w.starts_with("mailto:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_html_is_safe_self_contained_and_inlined() {
    let (_, r) = rendered();
    let html = r.html.fill_html(&VALUES);
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "no script");
    assert!(!lower.contains("<link"), "no link tags");
    assert!(!lower.contains("url("), "no CSS that fetches");
    assert!(
        !lower.contains("src=\"http") && !lower.contains("<iframe") && !lower.contains("@import")
    );
    for img in lower.split("<img").skip(1) {
        let tag = img.split('>').next().unwrap_or_default();
        assert!(tag.contains("alt="), "every img has alt: <img{tag}>");
    }
    for href in links_in_html(&html) {
        assert!(
            href.starts_with("https://") || href.starts_with("mailto:"),
            "link {href:?} is not absolute https or mailto"
        );
    }
    assert!(html.contains("<html lang=\"en\" xmlns:v="));
    assert!(html.contains("role=\"presentation\""));
    assert!(
        html.contains("class=\"preheader\" style=\"display: none"),
        "preheader hidden inline"
    );
    assert!(
        html.contains("class=\"masthead\" style=\""),
        "rules inlined into style attributes"
    );
    // Fluid: at most 600 px but as narrow as the screen, with or without the <style> block;
    // held at 600 px only in Outlook for Windows, by a table inside its conditional comment.
    assert!(
        html.contains("class=\"container\" width=\"100%\"") && html.contains("max-width: 600px"),
        "fluid container"
    );
    assert!(
        html.contains("<!--[if mso]><table role=\"presentation\" align=\"center\" width=\"600\""),
        "Outlook's ghost table"
    );
    // One <style> block outside Outlook's comment: the client rules, kept; the base rules
    // were inlined and dropped.
    let outside_comments: String = html
        .split("<!--")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once("-->").map_or("", |(_, after)| after)
            }
        })
        .collect();
    let styles: Vec<&str> = outside_comments
        .split("<style")
        .skip(1)
        .map(|s| s.split("</style>").next().unwrap_or_default())
        .collect();
    assert_eq!(styles.len(), 1, "one kept <style> block");
    assert!(
        styles[0].starts_with(" data-css-inline=\"keep\">"),
        "{:.80}",
        styles[0]
    );
    assert!(
        styles[0].contains("prefers-color-scheme: dark")
            && !styles[0].contains("-webkit-text-size-adjust"),
        "the client rules only"
    );
    // No spam-filter triggers from template habits: no 1 px text, no text coloured like its
    // background (SpamAssassin's HTML_FONT_TINY_* and HTML_FONT_LOW_CONTRAST).
    assert!(!html.contains("font-size: 1px") && !html.contains("font-size:1px"));
    let preheader = html
        .split("class=\"preheader\" style=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default();
    assert!(!preheader.contains("color"), "preheader style: {preheader}");
}

#[test]
fn the_text_twin_keeps_lines_within_78_columns() {
    let (_, r) = rendered();
    let text = r.text.fill_text(&VALUES);
    for line in text.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 78,
            "line over 78 columns: {line:?}"
        );
    }
    assert!(text.contains("Qwen3.6-27B-MLX\n  Apple Silicon-optimized"));
    assert!(text.contains("Unsubscribe:\nhttps://news.example.com/unsubscribe/TOKEN123\n"));
}

#[test]
fn slot_values_are_escaped_in_html_but_not_in_text() {
    let (_, r) = rendered();
    let hostile = SlotValues {
        recipient: "<script>alert(1)</script>@example.com",
        ..VALUES
    };
    let html = r.html.fill_html(&hostile);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;@example.com"));
    assert!(
        r.text
            .fill_text(&hostile)
            .contains("<script>alert(1)</script>@example.com")
    );
}

#[test]
fn the_web_version_has_no_recipient_data_or_slots() {
    let (_, r) = rendered();
    assert!(!r.web_html.contains('\u{FDD0}'));
    assert!(
        !r.web_html.contains("nsubscribe"),
        "no unsubscribe link on the public page"
    );
    assert!(
        r.web_html.contains("href=\"https://news.example.com/\""),
        "offers to subscribe"
    );
}

#[test]
fn raw_html_in_the_markdown_is_shown_as_text() {
    let src = "+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n\nHello <script>alert('x')</script> <img src=x onerror=alert(1)>\n\n<div onclick=\"evil()\">block</div>\n";
    let issue = parse_issue("x.md", src.as_bytes()).unwrap();
    let r = render_issue(
        &issue,
        &RenderContext::from_settings(&settings(&[("MORNINGPOST_BASE_URL", BASE)])),
    )
    .unwrap();
    for html in [r.html.fill_html(&VALUES), r.web_html.clone()] {
        assert!(
            !html.contains("<script>") && !html.contains("<img") && !html.contains("<div onclick"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
        assert!(
            html.contains("&lt;div onclick=&quot;evil()&quot;&gt;block&lt;/div&gt;")
                || html.contains("&lt;div onclick=\"evil()\"&gt;block&lt;/div&gt;")
        );
    }
}

#[test]
fn a_huge_issue_renders_with_a_gmail_clipping_warning() {
    let para = "A long paragraph of words that keeps going. ".repeat(40);
    let body: String = (0..80)
        .map(|i| format!("## Section {i}\n\n{para}\n\n"))
        .collect();
    let src = format!("+++\ntitle = \"Big\"\ndate = 2026-11-27\n+++\n\nLead.\n\n{body}");
    let issue = parse_issue("big.md", src.as_bytes()).unwrap();
    let r = render_issue(&issue, &RenderContext::from_settings(&settings(&[]))).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("Gmail clips")),
        "{:?}",
        r.warnings
    );
}

/// Before: `…/that-keeps-` / `going/…`: textwrap split URLs after their hyphens.
#[test]
fn long_urls_stay_whole_in_paragraphs_and_lists_of_the_text_twin() {
    let url =
        "https://example.com/reports/2026/a-very-long-path/that-keeps-going/and-going/index.html";
    let src = format!(
        "+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n\n\
         A paragraph that says quite a lot before it links [the whole report]({url}) and goes on after it.\n\n\
         - An item with a long link: <{url}>, and more words after the link to wrap.\n\
         - [{url}]({url})\n\n\
         1. A numbered item that links [the report]({url}) in the middle of its words.\n\n\
         > A quote with <{url}> in it.\n"
    );
    let issue = parse_issue("long.md", src.as_bytes()).unwrap();
    let r = render_issue(
        &issue,
        &RenderContext::from_settings(&settings(&[("MORNINGPOST_BASE_URL", BASE)])),
    )
    .unwrap();
    let text = r.text.fill_text(&VALUES);
    assert_eq!(text.matches(&format!("<{url}>")).count(), 5, "{text}");
    for line in text.lines() {
        let width = unicode_width::UnicodeWidthStr::width(line);
        let words: Vec<&str> = line
            .split_whitespace()
            .filter(|w| !matches!(*w, "-" | ">" | "1."))
            .collect();
        assert!(
            width <= 78 || (words.len() == 1 && words[0].contains(url)),
            "line of {width} columns: {line:?}"
        );
    }
}
