//! `GET /issues/feed.xml`: the archive as an Atom feed (RFC 4287), one entry per public
//! issue, newest first, each pointing at its web version.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::HttpError;
use crate::clock::{now_ms, rfc3339};
use crate::config::Newsletter;
use crate::domain::PublicUrls;
use crate::render::slots::escape_html_into;
use crate::store::ArchiveEntry;

pub async fn feed(State(app): State<AppState>) -> Result<Response, HttpError> {
    let now = now_ms();
    let issues = app
        .inner
        .store
        .archive(now)
        .await
        .map_err(HttpError::unavailable(
            app.page(),
            "the archive lookup failed",
        ))?;
    let body = atom(&app.inner.newsletter, &app.inner.urls, &issues, now);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

/// The feed document. Its `updated` is the newest issue's (or `now` for an empty archive),
/// so it changes only when an issue is published.
fn atom(n: &Newsletter, urls: &PublicUrls, issues: &[ArchiveEntry], now: i64) -> String {
    let updated = issues.iter().map(|i| i.published_at).max().unwrap_or(now);
    let mut x = String::with_capacity(512 + issues.len() * 400);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    element(&mut x, "  ", "title", &n.name);
    element(&mut x, "  ", "subtitle", &n.tagline);
    element(&mut x, "  ", "id", &urls.archive());
    link(&mut x, "  ", "self", "application/atom+xml", &urls.feed());
    link(&mut x, "  ", "alternate", "text/html", &urls.archive());
    element(&mut x, "  ", "updated", &rfc3339(updated));
    x.push_str("  <author>\n");
    element(&mut x, "    ", "name", &n.name);
    x.push_str("  </author>\n");
    element(&mut x, "  ", "generator", "morningpost");
    for issue in issues {
        let url = urls.absolute(&crate::domain::issue_path(&issue.slug));
        x.push_str("  <entry>\n");
        element(&mut x, "    ", "title", &issue.title);
        // The issue's address is its identity: slugs are unique and never reused.
        element(&mut x, "    ", "id", &url);
        link(&mut x, "    ", "alternate", "text/html", &url);
        element(&mut x, "    ", "published", &rfc3339(issue.published_at));
        element(&mut x, "    ", "updated", &rfc3339(issue.published_at));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

fn element(x: &mut String, indent: &str, name: &str, text: &str) {
    x.push_str(indent);
    x.push('<');
    x.push_str(name);
    x.push('>');
    escape_html_into(text, x);
    x.push_str("</");
    x.push_str(name);
    x.push_str(">\n");
}

fn link(x: &mut String, indent: &str, rel: &str, kind: &str, href: &str) {
    x.push_str(indent);
    x.push_str("<link rel=\"");
    x.push_str(rel);
    x.push_str("\" type=\"");
    x.push_str(kind);
    x.push_str("\" href=\"");
    escape_html_into(href, x);
    x.push_str("\"/>\n");
}
