//! The pages, in the newsletter's look (the email stylesheet), with labels on every field and
//! one heading per page. They work without JavaScript; the sign-up form carries one small
//! inline script, [`TIME_ZONE_SCRIPT`], that the Content-Security-Policy allows by its hash
//! (security.rs) and nothing else.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::body::FORM_STARTED_FIELD;
use crate::config::Newsletter;
use crate::domain::routes;
use crate::render::document_head;

const PAGE_CSS: &str = include_str!("../../templates/pages.css");

pub fn page(status: StatusCode, newsletter: &Newsletter, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (document_head(&format!("{title} · {}", newsletter.name), PAGE_CSS, Some(routes::FEED)))
            body {
                main class="container page" {
                    header class="masthead" {
                        p class="masthead-name" { a href=(routes::HOME) { (newsletter.name) } }
                        p class="tagline" { (newsletter.tagline) }
                    }
                    div class="story" { (body) }
                    footer class="footer" {
                        p { a href=(routes::ARCHIVE) { "Past issues" } " · " a href=(routes::HOME) { "Subscribe" } }
                        p { (newsletter.postal_address) }
                    }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// Fills the sign-up form's hidden `time_zone` field with the browser's IANA zone. The server
/// checks it against the tz database (docs/architecture.md decision 26); without JavaScript,
/// or where `Intl` is missing, the field stays empty and the newsletter's `timezone` applies.
/// Changing this text changes its hash in the Content-Security-Policy, computed from it.
pub const TIME_ZONE_SCRIPT: &str = "try{document.getElementById(\"time_zone\").value=Intl.DateTimeFormat().resolvedOptions().timeZone||\"\"}catch(e){}";

/// The sign-up form; `error` and the previous input when it is shown again. `stamp` is its
/// signed start time (`form_stamp`).
pub fn subscribe_form(stamp: &str, email: &str, name: &str, error: Option<&str>) -> Markup {
    html! {
        form method="post" action="/subscribe" class="form" novalidate {
            @if let Some(error) = error {
                p class="error" id="email-error" role="alert" { (error) }
            }
            label for="email" { "Email address" }
            input id="email" name="email" type="email" autocomplete="email" required value=(email)
                aria-describedby=[error.map(|_| "email-error")] aria-invalid=[error.map(|_| "true")];
            label for="name" { "Name " span class="optional" { "(optional)" } }
            input id="name" name="name" type="text" autocomplete="name" maxlength="100" value=(name);
            // The honeypot: hidden from people and screen readers; bots fill it in.
            div class="hp" aria-hidden="true" {
                label for="website" { "Leave this empty" }
                input id="website" name="website" type="text" tabindex="-1" autocomplete="off";
            }
            // The reader's time zone, for mail at their morning: filled by the script below.
            input id="time_zone" name="time_zone" type="hidden" value="";
            // When the form was served, signed: a post back within seconds is a bot's.
            input name=(FORM_STARTED_FIELD) type="hidden" value=(stamp);
            button type="submit" class="button" { "Subscribe" }
            script { (PreEscaped(TIME_ZONE_SCRIPT)) }
        }
    }
}

pub fn not_found(newsletter: &Newsletter, what: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        newsletter,
        "Not found",
        html! {
            h1 class="headline" { "Not found" }
            p { (what) }
            p { a href=(routes::HOME) { "Go to the subscribe page" } }
        },
    )
}

pub fn unavailable(newsletter: &Newsletter) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        newsletter,
        "Try again soon",
        html! {
            h1 class="headline" { "Try again in a moment" }
            p { "We could not complete that just now. Nothing was lost: please try again in a minute." }
        },
    )
}
