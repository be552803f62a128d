//! Arbitrary front matter and Markdown: the parser either refuses the file with
//! `FILE:LINE:COL` or the renderer keeps its promises on it.
//!
//! - no slot character from the input reaches the output: each reader's address and
//!   unsubscribe URL appear exactly where the templates put them, and nowhere else;
//! - no `<script` and no `on…=` event attribute from the input, in the mail or the web page;
//! - every `href` is https, mailto or on this site;
//! - text lines are at most 78 columns, except a line that is one unbreakable link.

mod support;

use morningpost::domain::PublicUrls;
use morningpost::issue::{Block, Inline, Issue, parse_issue};
use morningpost::render::{RenderContext, RenderedIssue, SlotValues, render_issue};
use proptest::prelude::*;
use unicode_width::UnicodeWidthStr;

const BASE: &str = "https://news.example.com";
/// Values no generated input contains, so each occurrence in the output is a filled slot.
const VALUES: SlotValues<'static> = SlotValues {
    unsubscribe_url: "https://news.example.com/unsubscribe/UNSUB-SENTINEL",
    view_url: "https://news.example.com/issues/VIEW-SENTINEL",
    recipient: "reader-sentinel@example.net",
    confirm_url: "",
    why: "you signed up and confirmed your address by email.",
};
const LONG_URL: &str = "https://example.com/a-very/long-path/that-keeps-going/and-going/and-going/on-and-on/index.html";

fn markdownish() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("## ".to_owned()),
        Just("### ".to_owned()),
        Just("#### ".to_owned()),
        Just("# ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just("  - ".to_owned()),
        Just(" — ".to_owned()),
        Just("**".to_owned()),
        Just("*".to_owned()),
        Just("> ".to_owned()),
        Just("```\n".to_owned()),
        Just("    ".to_owned()),
        Just("[a](https://e.com)".to_owned()),
        Just("[b](/p)".to_owned()),
        Just("[c](javascript:x)".to_owned()),
        Just("[d](//evil.example/x)".to_owned()),
        Just("[e](<https://e.com/x onclick=y>)".to_owned()),
        Just("![i](https://e.com/i.png)".to_owned()),
        Just(format!("[long]({LONG_URL})")),
        Just(format!("<{LONG_URL}>")),
        Just(format!("{LONG_URL} ")),
        Just("<mailto:someone-with-a-long-name@example-with-a-long-name.example>".to_owned()),
        Just(
            "a-long-hyphenated-word-that-is-not-a-link-and-runs-on-past-the-end-of-a-line "
                .to_owned()
        ),
        Just("<b>".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("<img src=x onerror=alert(1)>".to_owned()),
        Just("<a href=\"javascript:x\" onclick=\"y\">z</a>".to_owned()),
        Just("&#xFDD0;recipient&#xFDD1;".to_owned()),
        Just("&#64976;unsubscribe_url&#64977;".to_owned()),
        Just("\u{FDD0}view_url\u{FDD1}".to_owned()),
        Just("[x](https://e.com/&#xFDD0;recipient&#xFDD1;)".to_owned()),
        Just("[y](https://e.com \"&#xFDD0;recipient&#xFDD1;\")".to_owned()),
        Just("---".to_owned()),
        "[a-zA-Z0-9 ]{0,12}",
        "[a-z]{70,90}",
        "\\PC{0,6}",
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

/// Mostly valid front matter, so that most cases reach the renderer.
fn front_matter() -> impl Strategy<Value = String> {
    let valid = prop_oneof![
        Just("title = \"T\"\ndate = 2026-11-27\n".to_owned()),
        Just("title = \"A <b>bold</b> title\"\ndate = 2026-11-27\npreheader = \"<script>x</script>\"\n".to_owned()),
        Just("title = \"\\uFDD0recipient\\uFDD1\"\ndate = 2026-11-27\n".to_owned()),
    ];
    prop_oneof![4 => valid, 1 => any_front_matter()]
}

fn any_front_matter() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("title = \"T\"\n".to_owned()),
        Just("title = \"\\uFDD0recipient\\uFDD1\"\n".to_owned()),
        Just("date = 2026-11-27\n".to_owned()),
        Just("subject = \"S\"\n".to_owned()),
        Just("preheader = \"P\"\n".to_owned()),
        Just("preheader = \"<script>x</script>\"\n".to_owned()),
        Just("slug = \"s-1\"\n".to_owned()),
        "[a-z]{1,6} = \\PC{0,8}\n",
        "\\PC{0,20}\n",
    ];
    prop::collection::vec(line, 0..7).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parsed_issues_render_as_promised(fm in front_matter(), body in markdownish(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let ctx = RenderContext::from_settings(&support::settings(&[("MORNINGPOST_BASE_URL", BASE)]));
        let mut src = format!("+++\n{fm}+++\n{body}").into_bytes();
        src.extend(bytes.iter().filter(|b| **b > 0x7f).take(2));
        for input in [src.as_slice(), bytes.as_slice(), body.as_bytes()] {
            match parse_issue("p.md", input) {
                Ok(issue) => {
                    let r = render_issue(&issue, &ctx);
                    prop_assert!(r.is_ok(), "{:?}", r.err());
                    if let Ok(r) = r {
                        keeps_its_promises(&r)?;
                        links_are_whole_in_the_text(&issue, &r)?;
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(text.starts_with("p.md:"), "{}", text);
                }
            }
        }
    }
}

fn keeps_its_promises(r: &RenderedIssue) -> Result<(), TestCaseError> {
    let html = r.html.fill_html(&VALUES);
    let text = r.text.fill_text(&VALUES);
    for (part, out) in [("html", &html), ("text", &text), ("web", &r.web_html)] {
        prop_assert!(
            !out.contains(['\u{FDD0}', '\u{FDD1}']),
            "{part}: a slot character is left"
        );
    }
    // Where the templates put the values: the footer and the top bar of each part.
    for (part, out, recipient, unsubscribe, view) in
        [("html", &html, 1, 1, 2), ("text", &text, 1, 1, 2)]
    {
        prop_assert_eq!(
            out.matches(VALUES.recipient).count(),
            recipient,
            "{}: recipient",
            part
        );
        prop_assert_eq!(
            out.matches(VALUES.unsubscribe_url).count(),
            unsubscribe,
            "{}: unsubscribe URL",
            part
        );
        prop_assert_eq!(
            out.matches(VALUES.view_url).count(),
            view,
            "{}: view URL",
            part
        );
    }
    for (part, out) in [("html", &html), ("web", &r.web_html)] {
        prop_assert!(
            !out.to_ascii_lowercase().contains("<script"),
            "{part}: <script"
        );
        for (name, value) in attributes(out) {
            prop_assert!(
                !name.starts_with("on"),
                "{part}: event attribute {name}={value}"
            );
            if name == "href" {
                let href = value.replace("&amp;", "&");
                prop_assert!(
                    href.starts_with("https://")
                        || href.starts_with("mailto:")
                        || (href.starts_with('/') && !href.starts_with("//")),
                    "{part}: href {href:?}"
                );
            }
        }
    }
    for line in text.lines() {
        prop_assert!(
            line.width() <= 78 || is_one_link(line),
            "text line of {} columns: {line:?}",
            line.width()
        );
    }
    Ok(())
}

/// Every link of the issue appears unbroken in the text part.
fn links_are_whole_in_the_text(issue: &Issue, r: &RenderedIssue) -> Result<(), TestCaseError> {
    let text = r.text.fill_text(&VALUES);
    let mut urls = Vec::new();
    for block in issue
        .lead
        .iter()
        .chain(issue.sections.iter().flat_map(|s| &s.blocks))
    {
        match block {
            Block::Paragraph(i) | Block::Dek(i) => hrefs(i, &mut urls),
            Block::List { items, .. } | Block::Quote(items) => {
                items.iter().for_each(|i| hrefs(i, &mut urls))
            }
            Block::Cards(cards) => {
                for card in cards {
                    urls.extend(
                        card.href
                            .as_ref()
                            .map(|h| h.resolve(&PublicUrls::new(BASE))),
                    );
                    hrefs(&card.description, &mut urls);
                }
            }
            _ => {}
        }
    }
    for url in urls {
        let shown = url.strip_prefix("mailto:").unwrap_or(&url);
        prop_assert!(
            text.contains(shown),
            "{shown} is not whole in the text:\n{text}"
        );
    }
    Ok(())
}

fn hrefs(inlines: &[Inline], out: &mut Vec<String>) {
    for inline in inlines {
        match inline {
            Inline::Link { href, children } => {
                out.push(href.resolve(&PublicUrls::new(BASE)));
                hrefs(children, out);
            }
            Inline::Emphasis(c) | Inline::Strong(c) => hrefs(c, out),
            _ => {}
        }
    }
}

/// A line that is one link, after the indent and the list, quote, card or group markers.
fn is_one_link(line: &str) -> bool {
    let mut words = line.split_whitespace().skip_while(|w| {
        matches!(*w, ">" | "-" | "*" | "##") || w.trim_end_matches('.').parse::<u32>().is_ok()
    });
    matches!(
        (words.next(), words.next()),
        (Some(w), None) if w.contains("://") || w.contains('@')
    )
}

/// (lower-case name, value) of every attribute of every tag. Text from the issue is
/// escaped, so each `<` in the output opens a tag the renderer wrote.
fn attributes(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let mut chars = rest[open + 1..].char_indices().peekable();
        // The tag name, or a comment / doctype: skipped to its end.
        while chars
            .next_if(|(_, c)| !c.is_whitespace() && *c != '>')
            .is_some()
        {}
        let mut end = rest.len() - open - 1;
        loop {
            while chars
                .next_if(|(_, c)| c.is_whitespace() || *c == '/')
                .is_some()
            {}
            let Some(&(start, c)) = chars.peek() else {
                break;
            };
            if c == '>' {
                end = start;
                break;
            }
            let mut name = String::new();
            while let Some((_, c)) =
                chars.next_if(|(_, c)| !c.is_whitespace() && !"=>/".contains(*c))
            {
                name.push(c);
            }
            let mut value = String::new();
            if chars.next_if(|(_, c)| *c == '=').is_some() {
                match chars.next_if(|(_, c)| *c == '"' || *c == '\'') {
                    Some((_, quote)) => {
                        for (_, c) in chars.by_ref() {
                            if c == quote {
                                break;
                            }
                            value.push(c);
                        }
                    }
                    None => {
                        while let Some((_, c)) =
                            chars.next_if(|(_, c)| !c.is_whitespace() && *c != '>')
                        {
                            value.push(c);
                        }
                    }
                }
            }
            if name.is_empty() {
                chars.next();
            } else {
                out.push((name.to_ascii_lowercase(), value));
            }
        }
        rest = &rest[(open + 1 + end).min(rest.len())..];
    }
    out
}

/// The oracles themselves catch what they are for.
#[test]
fn the_oracles_see_what_they_look_for() {
    let attrs = attributes(
        "<!DOCTYPE html><a href=\"https://x\" ONCLICK='y' title=a>t</a><img src=x onerror=alert(1)>",
    );
    assert!(
        attrs.contains(&("href".to_owned(), "https://x".to_owned())),
        "{attrs:?}"
    );
    assert!(
        attrs.contains(&("onclick".to_owned(), "y".to_owned())),
        "{attrs:?}"
    );
    assert!(
        attrs.contains(&("onerror".to_owned(), "alert(1)".to_owned())),
        "{attrs:?}"
    );
    assert!(
        attrs.contains(&("title".to_owned(), "a".to_owned())),
        "{attrs:?}"
    );
    assert!(attributes("&lt;img onerror=x&gt;").is_empty());
    assert!(is_one_link(&format!("> <{LONG_URL}>,")));
    assert!(is_one_link(&format!("  12. {LONG_URL}")));
    assert!(is_one_link(&format!("## {LONG_URL}##")));
    assert!(!is_one_link(&format!("## see {LONG_URL}")));
    assert!(!is_one_link(&format!("see <{LONG_URL}>")));
    assert!(!is_one_link(&"a".repeat(90)));
}

/// Found by the property above: a group heading (`####`) that is a link longer than a line,
/// glued to text (`<…>##`), then a C1 control. Its text line ran to 99 columns with the
/// group's `##` taken for a word of the heading; the marker is now an indent, as a list's.
#[test]
fn a_group_heading_that_is_a_long_link_keeps_its_promises() {
    let ctx = RenderContext::from_settings(&support::settings(&[("MORNINGPOST_BASE_URL", BASE)]));
    let src = format!("+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n#### <{LONG_URL}>## ## \u{80}");
    let issue = parse_issue("p.md", src.as_bytes()).expect("the issue parses");
    let r = render_issue(&issue, &ctx).expect("the issue renders");
    keeps_its_promises(&r).expect("the promises hold");
    let text = r.text.fill_text(&VALUES);
    assert!(
        text.lines()
            .any(|l| l.starts_with("## https://example.com/") && is_one_link(l)),
        "{text}"
    );
}
