//! `GET /unsubscribe/{token}` shows a button and changes nothing; `POST` unsubscribes at
//! once, whatever the body: the RFC 8058 one-click body `List-Unsubscribe=One-Click` (form or
//! multipart), or the page's own form. Idempotent; no redirect, no cookie.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::AppState;
use super::error::HttpError;
use super::pages::{not_found, page, subscribe_form};
use crate::clock::now_ms;
use crate::domain::Token;
use crate::store::Subscriber;

const UNKNOWN: &str =
    "This unsubscribe link is not valid. It may have been cut short: open it from the mail again.";

/// The subscriber the token names; `None` for a token that names nobody.
async fn subscriber(app: &AppState, raw: &str) -> Result<Option<Subscriber>, HttpError> {
    let Ok(token) = Token::parse(raw) else {
        return Ok(None);
    };
    let hash = token.hash();
    app.inner
        .store
        .subscriber_by_unsubscribe_hash(&hash)
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            format!("the unsubscribe lookup of token {} failed", hash.short()),
        ))
}

pub async fn show(
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let Some(s) = subscriber(&app, &raw).await? else {
        return Ok(not_found(n, UNKNOWN));
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

pub async fn unsubscribe(
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let Some(s) = subscriber(&app, &raw).await? else {
        return Ok(not_found(n, UNKNOWN));
    };
    app.inner
        .store
        .unsubscribe(s.id, now_ms())
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            format!("the unsubscribe of {} could not be stored", s.id),
        ))?;
    tracing::info!(subscriber = %s.id, "unsubscribed");
    Ok(page(
        StatusCode::OK,
        n,
        "Unsubscribed",
        html! {
            h1 class="headline" { "You're unsubscribed" }
            p { (s.email) " will get no more mail from " (n.name) "." }
            p { "Changed your mind? Subscribe again:" }
            (subscribe_form(&s.email, "", None))
        },
    ))
}
