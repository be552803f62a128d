//! `GET /unsubscribe/{token}` shows a button and changes nothing; `POST` unsubscribes at
//! once, whatever the body: the RFC 8058 one-click body `List-Unsubscribe=One-Click` (form or
//! multipart), or the page's own form. Idempotent; no redirect, no cookie. The link of a
//! test copy (`send --test`) names nobody: both answer that nothing changed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::AppState;
use super::error::HttpError;
use super::pages::{not_found, page, subscribe_form};
use crate::clock::now_ms;
use crate::config::Newsletter;
use crate::domain::Token;
use crate::store::{LeftVia, Subscriber};

const UNKNOWN: &str =
    "This unsubscribe link is not valid. It may have been cut short: open it from the mail again.";

/// Whose link it is.
enum Link {
    Subscriber(Subscriber),
    /// The link of a test copy: it names nobody and changes nothing.
    TestCopy,
    Unknown,
}

async fn link(app: &AppState, raw: &str) -> Result<Link, HttpError> {
    let Ok(token) = Token::parse(raw) else {
        return Ok(Link::Unknown);
    };
    if app.inner.key.is_test_copy(&token) {
        return Ok(Link::TestCopy);
    }
    let hash = token.hash();
    let found = app
        .inner
        .store
        .subscriber_by_unsubscribe_hash(&hash)
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            format!("the unsubscribe lookup of token {} failed", hash.short()),
        ))?;
    Ok(found.map_or(Link::Unknown, Link::Subscriber))
}

/// The answer to a test copy's link, whether opened or one-click posted.
fn test_copy_page(n: &Newsletter) -> Response {
    page(
        StatusCode::OK,
        n,
        "Test copy",
        html! {
            h1 class="headline" { "This was a test copy" }
            p { "This link came in a test copy of an issue of " (n.name) ", so it unsubscribes nobody: nothing changed." }
            p { "Every reader's copy carries a link of its own." }
        },
    )
}

pub async fn show(
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let s = match link(&app, &raw).await? {
        Link::Subscriber(s) => s,
        Link::TestCopy => return Ok(test_copy_page(n)),
        Link::Unknown => return Ok(not_found(n, UNKNOWN)),
    };
    Ok(page(
        StatusCode::OK,
        n,
        "Unsubscribe",
        html! {
            h1 class="headline" { "Unsubscribe" }
            p { "Stop sending " (n.name) " to " strong { (s.email) } "?" }
            form method="post" action="" {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" class="button" { "Unsubscribe" }
            }
        },
    ))
}

const ONE_CLICK: &[u8] = b"List-Unsubscribe=One-Click";

pub async fn unsubscribe(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let s = match link(&app, &raw).await? {
        Link::Subscriber(s) => s,
        Link::TestCopy => {
            tracing::info!("a test copy's unsubscribe link was used; nothing changed");
            return Ok(test_copy_page(n));
        }
        Link::Unknown => return Ok(not_found(n, UNKNOWN)),
    };
    // RFC 8058: a mail client's button posts `List-Unsubscribe=One-Click`; the page's own
    // button posts nothing.
    let via = if body
        .windows(ONE_CLICK.len())
        .any(|w| w.eq_ignore_ascii_case(ONE_CLICK))
    {
        LeftVia::OneClick
    } else {
        LeftVia::Link
    };
    let left = app
        .inner
        .store
        .unsubscribe(s.id, via, now_ms())
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            format!("the unsubscribe of {} could not be stored", s.id),
        ))?;
    // Counted once per reader who left, not per click (the page is idempotent).
    if left {
        tracing::info!(subscriber = %s.id, via = via.as_str(), "unsubscribed");
        crate::metrics::record::unsubscribe(via.as_str());
    }
    Ok(page(
        StatusCode::OK,
        n,
        "Unsubscribed",
        html! {
            h1 class="headline" { "You're unsubscribed" }
            p { (s.email) " will get no more mail from " (n.name) "." }
            p { "Changed your mind? Subscribe again:" }
            (subscribe_form(&app.form_stamp(), &s.email, "", None))
        },
    ))
}
