//! `morningpost preview ISSUE`: the issue served on localhost as the reader gets it — desktop
//! and phone widths side by side, light and dark, the text twin and the render warnings —
//! and rendered again whenever the file is saved. An error in the file replaces the render
//! with its location, so a stale good render never passes for the current file.

mod page;
mod sample;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub use sample::{PREVIEW_RECIPIENT, Sample, SampleError};

use crate::config::Settings;

/// What the preview shows now: the sample, or why the file cannot be rendered.
pub enum Rendition {
    Good(Sample),
    Broken(String),
}

/// One rendition and its number; the page reloads when the number changes.
pub struct Current {
    pub version: u64,
    pub rendition: Rendition,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("cannot listen on {addr} for the preview: choose another with --bind ADDR:PORT")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the preview server stopped")]
    Serve(#[source] std::io::Error),
}

/// How long a page's wait for a change is held open before it asks again.
const LONG_POLL: Duration = Duration::from_secs(25);

/// Renders `issue`, serves the preview on `bind` and renders again on every save, until
/// Ctrl-C. `ready` receives the address once it listens.
pub async fn serve(
    settings: Settings,
    issue: PathBuf,
    bind: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), PreviewError> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| PreviewError::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| PreviewError::Bind { addr: bind, source })?;
    let current = watch::spawn(settings, issue);
    ready(addr);
    let app = Router::new()
        .route("/", get(shell))
        .route("/email.html", get(email_html))
        .route("/email.txt", get(email_text))
        .route("/changes", get(changes))
        .with_state(current);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(PreviewError::Serve)
}

type Shared = tokio::sync::watch::Receiver<Arc<Current>>;

async fn shell(State(current): State<Shared>) -> Html<String> {
    let now = current.borrow().clone();
    Html(page::shell(&now).into_string())
}

#[derive(Deserialize)]
struct Scheme {
    #[serde(default)]
    scheme: Option<String>,
}

async fn email_html(State(current): State<Shared>, Query(q): Query<Scheme>) -> Response {
    let now = current.borrow().clone();
    match &now.rendition {
        Rendition::Good(sample) => {
            let html = if q.scheme.as_deref() == Some("dark") {
                page::as_dark(&sample.html)
            } else {
                sample.html.clone()
            };
            Html(html).into_response()
        }
        Rendition::Broken(error) => (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            error.clone(),
        )
            .into_response(),
    }
}

async fn email_text(State(current): State<Shared>) -> Response {
    let now = current.borrow().clone();
    let body = match &now.rendition {
        Rendition::Good(sample) => sample.text.clone(),
        Rendition::Broken(error) => error.clone(),
    };
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

#[derive(Deserialize)]
struct After {
    after: u64,
}

/// Answers with the rendition's number as soon as it differs from `after`, or after
/// [`LONG_POLL`] with the same number (the page then asks again).
async fn changes(State(mut current): State<Shared>, Query(q): Query<After>) -> String {
    let changed = tokio::time::timeout(LONG_POLL, current.wait_for(|c| c.version != q.after))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|c| c.version);
    changed
        .unwrap_or_else(|| current.borrow().version)
        .to_string()
}
