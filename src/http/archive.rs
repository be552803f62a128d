//! The web archive ("view in browser"), rendered from the stored issue with no recipient
//! data, and the health check.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::AppState;
use super::error::{Answer, HttpError};
use super::pages::{not_found, page};
use crate::clock::now_ms;
use crate::domain::{IssueSlug, issue_path};

pub async fn index(State(app): State<AppState>) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let issues = app
        .inner
        .store
        .archive(now_ms())
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            "the archive lookup failed",
        ))?;
    Ok(page(
        StatusCode::OK,
        n,
        "Past issues",
        html! {
            h1 class="headline" { "Past issues" }
            @if issues.is_empty() {
                p { "No issue has been sent yet." }
            } @else {
                ul class="archive" {
                    @for i in &issues {
                        li { a href=(issue_path(&i.slug)) { (i.title) } " · " (i.issue_date) }
                    }
                }
            }
        },
    ))
}

pub async fn issue(
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, HttpError> {
    let n = &app.inner.newsletter;
    let Ok(slug) = IssueSlug::parse(&raw) else {
        return Ok(not_found(n, "There is no issue at this address."));
    };
    let message = app
        .inner
        .store
        .message_by_slug(slug.as_str())
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            "the issue lookup failed",
        ))?;
    Ok(match message {
        Some(m) if m.send.is_public(now_ms()) => match m.web_html {
            Some(html) => Html(html).into_response(),
            None => not_found(n, "There is no web version of this issue."),
        },
        _ => not_found(n, "There is no issue at this address."),
    })
}

pub async fn healthz(State(app): State<AppState>) -> Result<Response, HttpError> {
    app.inner
        .store
        .health(now_ms())
        .await
        .map_err(HttpError::unavailable(
            Answer::Text("database unavailable\n"),
            "the health check failed",
        ))?;
    Ok((StatusCode::OK, "ok\n").into_response())
}

pub async fn fallback(State(app): State<AppState>) -> Response {
    not_found(&app.inner.newsletter, "There is nothing at this address.")
}
