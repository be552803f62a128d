//! The `<head>` every document of the newsletter shares: the email, the confirmation mail,
//! the web archive and the subscription pages.

use std::sync::OnceLock;

use maud::{Markup, PreEscaped, html};

/// The newsletter's look, for mail and pages alike: inlined into the email, then dropped.
const STYLESHEET: &str = include_str!("../../templates/email.css");
/// Phones, dark mode and auto-link resets: kept as a `<style>` block (`data-css-inline="keep"`).
/// css-inline also inlines a kept block, which changes nothing here: every rule in it sits in
/// an at-rule or matches only markup a mail client adds (see the file's header).
const CLIENT_RULES: &str = include_str!("../../templates/email-clients.css");
/// The media query of the client rules' dark mode (the live preview applies those rules
/// unconditionally for its dark frames).
pub const DARK_MODE_MEDIA: &str = "@media (prefers-color-scheme: dark)";
/// Read only by Outlook for Windows, inside a conditional comment.
const OUTLOOK_RULES: &str = include_str!("../../templates/outlook.css");

/// Charset, phone viewport, both colour schemes (mail clients that honour them then skip
/// their forced dark-mode inversion), no automatic links or reformatting, Outlook's DPI and
/// fonts, the title, the Atom feed where there is one, and the stylesheets plus `extra_css`.
pub fn document_head(title: &str, extra_css: &str, feed: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="x-apple-disable-message-reformatting";
            meta name="format-detection" content="telephone=no, date=no, address=no, email=no, url=no";
            meta name="color-scheme" content="light dark";
            meta name="supported-color-schemes" content="light dark";
            title { (title) }
            @if let Some(feed) = feed {
                link rel="alternate" type="application/atom+xml" title="Past issues (Atom feed)" href=(feed);
            }
            (PreEscaped(outlook_head()))
            style { (PreEscaped(shipped(&STYLESHEET_SHIPPED, STYLESHEET))) (PreEscaped(extra_css)) }
            style data-css-inline="keep" { (PreEscaped(shipped(&CLIENT_RULES_SHIPPED, CLIENT_RULES))) }
        }
    }
}

/// Outlook's conditional comment: 96 DPI (or it scales images and widths at 120 DPI) and
/// its own font rules.
fn outlook_head() -> String {
    format!(
        "<!--[if mso]><noscript><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml></noscript><style>{}</style><![endif]-->",
        shipped(&OUTLOOK_RULES_SHIPPED, OUTLOOK_RULES)
    )
}

static STYLESHEET_SHIPPED: OnceLock<String> = OnceLock::new();
static CLIENT_RULES_SHIPPED: OnceLock<String> = OnceLock::new();
static OUTLOOK_RULES_SHIPPED: OnceLock<String> = OnceLock::new();

/// A stylesheet as it goes out: its comments are for us, not for every reader's copy.
fn shipped<'a>(cell: &'a OnceLock<String>, css: &str) -> &'a str {
    cell.get_or_init(|| without_comments(css))
}

/// The CSS without its `/* … */` comments and blank lines. Our own stylesheets only: no
/// comment markers inside strings.
fn without_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some((before, after)) = rest.split_once("/*") {
        out.push_str(before);
        rest = after.split_once("*/").map_or("", |(_, tail)| tail);
    }
    out.push_str(rest);
    out.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Opens Outlook's fixed-width "ghost table" around the fluid container: Word's renderer
/// ignores `max-width`, so only there the mail is held at `width` px.
pub fn ghost_table_open(width: u32) -> PreEscaped<String> {
    PreEscaped(format!(
        "<!--[if mso]><table role=\"presentation\" align=\"center\" width=\"{width}\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr><td><![endif]-->"
    ))
}

/// Closes [`ghost_table_open`].
pub fn ghost_table_close() -> PreEscaped<&'static str> {
    PreEscaped("<!--[if mso]></td></tr></table><![endif]-->")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_rules_have_a_dark_mode_the_preview_can_find() {
        assert!(shipped(&CLIENT_RULES_SHIPPED, CLIENT_RULES).contains(DARK_MODE_MEDIA));
    }

    #[test]
    fn comments_and_blank_lines_are_not_shipped() {
        assert_eq!(
            without_comments("/* a\n b */\np { x: 1; } /* c */\n\n/* d */ q { y: 2; }\n/* open"),
            "p { x: 1; }\n q { y: 2; }"
        );
    }
}
