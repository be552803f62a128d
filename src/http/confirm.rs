//! `GET /confirm/{token}` shows a button and changes nothing (mail scanners fetch every
//! link); `POST /confirm/{token}` spends the token.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use maud::html;

use super::AppState;
use super::error::HttpError;
use super::pages::{not_found, page, subscribe_form};
use crate::clock::now_ms;
use crate::domain::{Token, routes};
use crate::store::{ConfirmOutcome, ConfirmedBy};

const UNKNOWN: &str = "This confirmation link is not valid. It may have been cut short: open it from the mail again, or sign up again.";

pub async fn show(State(app): State<AppState>, Path(raw): Path<String>) -> Response {
    let n = &app.inner.newsletter;
    if Token::parse(&raw).ok().is_none() {
        return not_found(n, UNKNOWN);
    }
    page(
        StatusCode::OK,
        n,
        "Confirm your subscription",
        html! {
            h1 class="headline" { "Confirm your subscription" }
            p { "One more click and " (n.name) " arrives every morning." }
            form method="post" action="" {
                button type="submit" class="button" { "Confirm subscription" }
            }
        },
    )
}

pub async fn confirm(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let Some(token) = Token::parse(&raw).ok() else {
        return Ok(not_found(n, UNKNOWN));
    };
    let hash = token.hash();
    // The record of the double opt-in: who clicked (docs/architecture.md decision 29).
    let by = ConfirmedBy::new(
        app.inner
            .client_ip
            .of_request(&request)
            .map(|ip| ip.to_string()),
        request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let outcome = app
        .inner
        .store
        .confirm(&hash, &by, now_ms())
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            format!(
                "the confirmation of token {} could not be stored",
                hash.short()
            ),
        ))?;
    let what = match &outcome {
        ConfirmOutcome::Confirmed { .. } => "confirmed",
        ConfirmOutcome::AlreadyConfirmed => "already confirmed",
        ConfirmOutcome::Expired { .. } => "expired",
        ConfirmOutcome::Unknown => "unknown",
    };
    tracing::info!(token = %hash.short(), outcome = what, "confirmation");
    if matches!(outcome, ConfirmOutcome::Confirmed { .. }) {
        crate::metrics::record::confirmation();
    }
    Ok(match outcome {
        ConfirmOutcome::Confirmed { .. } => page(
            StatusCode::OK,
            n,
            "You're subscribed",
            html! {
                h1 class="headline" { "You're subscribed" }
                p { "Welcome to " (n.name) ". The next issue arrives tomorrow morning." }
                p { a href=(routes::ARCHIVE) { "Read past issues" } }
            },
        ),
        ConfirmOutcome::AlreadyConfirmed => page(
            StatusCode::OK,
            n,
            "Already confirmed",
            html! {
                h1 class="headline" { "Already confirmed" }
                p { "This link was used already; nothing more to do." }
            },
        ),
        ConfirmOutcome::Expired { email } => page(
            StatusCode::GONE,
            n,
            "Link expired",
            html! {
                h1 class="headline" { "This link has expired" }
                p { "Confirmation links work for a limited time. Ask for a new one:" }
                (subscribe_form(&app.form_stamp(), &email, "", None))
            },
        ),
        ConfirmOutcome::Unknown => not_found(n, UNKNOWN),
    })
}
