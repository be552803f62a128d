//! The `<head>` every document of the newsletter shares: the email, the confirmation mail,
//! the web archive and the subscription pages.

use maud::{Markup, PreEscaped, html};

/// The newsletter's look, for mail and pages alike.
const STYLESHEET: &str = include_str!("../../templates/email.css");

/// Charset, phone viewport, both colour schemes (mail clients that honour them then skip
/// their forced dark-mode inversion), the title and the stylesheet, plus `extra_css`.
pub fn document_head(title: &str, extra_css: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            meta name="supported-color-schemes" content="light dark";
            title { (title) }
            style { (PreEscaped(STYLESHEET)) (PreEscaped(extra_css)) }
        }
    }
}
