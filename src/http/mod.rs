//! The HTTP endpoint: the subscribe page, double opt-in, unsubscribe (RFC 8058 one-click),
//! the web archive and a health check. Every page works without JavaScript.

mod archive;
mod body;
mod confirm;
mod pages;
mod router;
mod security;
mod signups;
mod subscribe;
mod unsubscribe;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use uuid::Uuid;

use crate::clock::now_ms;
use crate::config::{Newsletter, Settings, SubscriptionSettings};
use crate::domain::TokenKey;
use crate::render::{RenderContext, render_confirmation};
use crate::store::{MessageKind, NewMessage, Store};

pub use router::router;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    signups: signups::SignupQueue,
    key: TokenKey,
    newsletter: Newsletter,
    subscriptions: SubscriptionSettings,
    /// The stored template of the confirmation mail.
    confirmation_message: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}; set MORNINGPOST_BIND to a free address:port")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl AppState {
    /// Renders the confirmation mail's template and stores it (once per content).
    pub async fn new(settings: &Settings, store: Store, key: TokenKey) -> anyhow::Result<Self> {
        let ctx = RenderContext::from_settings(settings);
        let hours = settings.subscriptions.confirm_valid.as_secs() / 3600;
        let mail = render_confirmation(&ctx, hours)?;
        let template = NewMessage {
            id: Uuid::now_v7(),
            kind: MessageKind::Confirmation,
            slug: None,
            subject: &mail.subject,
            title: &mail.subject,
            issue_date: None,
            html: mail.html.source(),
            text: mail.text.source(),
            web_html: None,
            source_hash: NewMessage::content_hash(
                &mail.subject,
                mail.html.source(),
                mail.text.source(),
            ),
            now: now_ms(),
        };
        let confirmation_message = store.ensure_template(&template).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                signups: signups::SignupQueue::spawn(store.clone()),
                store,
                key,
                newsletter: settings.newsletter.clone(),
                subscriptions: settings.subscriptions.clone(),
                confirmation_message,
            }),
        })
    }
}

/// Serves until `shutdown` turns true, then finishes the requests in progress.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(ServeError::Serve)
}

pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}
