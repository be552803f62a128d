//! `GET /unsubscribe/{token}` shows a button and changes nothing; `POST` unsubscribes at
//! once, whatever the body: the RFC 8058 one-click body `List-Unsubscribe=One-Click` (form or
//! multipart), or the page's own form. Idempotent; no redirect, no cookie.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::AppState;
use super::pages::{not_found, page, subscribe_form, unavailable};
use crate::clock::now_ms;
use crate::domain::Token;
use crate::store::Subscriber;

const UNKNOWN: &str =
    "This unsubscribe link is not valid. It may have been cut short: open it from the mail again.";

async fn subscriber(app: &AppState, raw: &str) -> Result<Subscriber, Response> {
    let n = &app.inner.newsletter;
    let token = Token::parse(raw)
        .ok()
        .ok_or_else(|| not_found(n, UNKNOWN))?;
    match app
        .inner
        .store
        .subscriber_by_unsubscribe_hash(&token.hash())
        .await
    {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(not_found(n, UNKNOWN)),
        Err(e) => {
            tracing::error!(error = %e, token = %token.hash().short(), "unsubscribe lookup failed");
            Err(unavailable(n))
        }
    }
}

pub async fn show(State(app): State<AppState>, Path(raw): Path<String>) -> Response {
    let s = match subscriber(&app, &raw).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let n = &app.inner.newsletter;
    page(
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
    )
}

pub async fn unsubscribe(State(app): State<AppState>, Path(raw): Path<String>) -> Response {
    let s = match subscriber(&app, &raw).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let n = &app.inner.newsletter;
    if let Err(e) = app.inner.store.unsubscribe(s.id, now_ms()).await {
        tracing::error!(error = %e, "unsubscribe could not be stored");
        return unavailable(n);
    }
    tracing::info!(subscriber = %s.id, "unsubscribed");
    page(
        StatusCode::OK,
        n,
        "Unsubscribed",
        html! {
            h1 class="headline" { "You're unsubscribed" }
            p { (s.email) " will get no more mail from " (n.name) "." }
            p { "Changed your mind? Subscribe again:" }
            (subscribe_form(&s.email, "", None))
        },
    )
}
