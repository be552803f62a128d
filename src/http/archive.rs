//! The web archive ("view in browser"), rendered from the stored issue with no recipient
//! data, and the health check.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::AppState;
use super::pages::{not_found, page, unavailable};
use crate::domain::IssueSlug;

pub async fn index(State(app): State<AppState>) -> Response {
    let n = &app.inner.newsletter;
    let issues = match app.inner.store.archive().await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "archive lookup failed");
            return unavailable(n);
        }
    };
    page(
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
                        li { a href=(format!("/issues/{}", i.slug)) { (i.title) } " · " (i.issue_date) }
                    }
                }
            }
        },
    )
}

pub async fn issue(State(app): State<AppState>, Path(raw): Path<String>) -> Response {
    let n = &app.inner.newsletter;
    let Ok(slug) = IssueSlug::parse(&raw) else {
        return not_found(n, "There is no issue at this address.");
    };
    match app.inner.store.message_by_slug(slug.as_str()).await {
        Ok(Some(m)) if m.enqueued_at.is_some() => match m.web_html {
            Some(html) => Html(html).into_response(),
            None => not_found(n, "There is no web version of this issue."),
        },
        Ok(_) => not_found(n, "There is no issue at this address."),
        Err(e) => {
            tracing::error!(error = %e, "issue lookup failed");
            unavailable(n)
        }
    }
}

pub async fn healthz(State(app): State<AppState>) -> Response {
    match app.inner.store.health().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub async fn fallback(State(app): State<AppState>) -> Response {
    not_found(&app.inner.newsletter, "There is nothing at this address.")
}
