//! The HTTP endpoint: the subscribe page, double opt-in, unsubscribe (RFC 8058 one-click),
//! the web archive, a health check and the SES webhook (`POST /webhooks/ses`). Every page
//! works without JavaScript; the sign-up form's one script only fills in the reader's time
//! zone.

mod archive;
mod body;
mod client_ip;
mod confirm;
mod error;
mod feed;
pub mod form_stamp;
mod limiter;
mod metrics;
mod open_files;
mod pages;
mod read_body;
mod router;
mod same_site;
mod security;
mod server;
mod slots;
mod subscribe;
mod unsubscribe;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Newsletter, Settings};
use crate::domain::{PublicUrls, TokenKey};
use crate::feedback::ses::SesWebhook;
use crate::store::Store;
use crate::subscribers::confirmations::{Signups, store_template};

use limiter::{Limiter, MAX_CLIENTS};
pub use metrics::MetricsEndpoint;
pub use router::router;
pub use server::{Limits, serve};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    signups: crate::subscribers::intake::Intake,
    key: TokenKey,
    newsletter: Arc<Newsletter>,
    /// The public addresses, for the feed's absolute links.
    urls: PublicUrls,
    /// What every sign-up request is made with (the key, the rules, the stored template).
    signups_rules: Signups,
    /// The sign-up rate limit; `None` = no limit.
    limiter: Option<Arc<Limiter>>,
    client_ip: client_ip::ClientIp,
    same_site: same_site::SameSite,
    form_stamp: form_stamp::FormStamp,
    body_timeout: Duration,
    /// `POST /webhooks/ses`; `None` when `ses_webhook` is off (the route answers 404).
    ses: Option<Arc<SesWebhook>>,
    metrics: MetricsEndpoint,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}; set MORNINGPOST_BIND to a free address:port")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl AppState {
    /// Renders the confirmation mail's template and stores it (once per content).
    pub async fn new(settings: &Settings, store: Store, key: TokenKey) -> anyhow::Result<Self> {
        let confirmation_message = store_template(settings, &store).await?;
        let subscriptions = &settings.subscriptions;
        let limiter = subscriptions.rate_per_minute.map(|per_minute| {
            let limiter = Arc::new(Limiter::new(per_minute, MAX_CLIENTS));
            Limiter::spawn_pruning(&limiter);
            limiter
        });
        let ses = settings.ses.enabled.then(|| {
            tracing::info!(
                certificates = %settings.ses.certificate_dir.display(),
                "the SES webhook answers at {}",
                crate::domain::routes::SES_WEBHOOK
            );
            Arc::new(SesWebhook::from_settings(
                settings,
                store.clone(),
                key.clone(),
            ))
        });
        Ok(Self {
            inner: Arc::new(Inner {
                ses,
                metrics: MetricsEndpoint::new(settings, store.clone()),
                signups: crate::subscribers::intake::Intake::spawn(store.clone()),
                store,
                key: key.clone(),
                newsletter: Arc::new(settings.newsletter.clone()),
                urls: settings.urls(),
                form_stamp: form_stamp::FormStamp::new(key.clone()),
                signups_rules: Signups {
                    key,
                    rules: subscriptions.clone(),
                    template: confirmation_message,
                },
                limiter,
                client_ip: client_ip::ClientIp::new(
                    subscriptions.trust_forwarded_for,
                    &subscriptions.trusted_proxies,
                ),
                same_site: same_site::SameSite::new(
                    &settings.base_url,
                    &subscriptions.allowed_origins,
                ),
                body_timeout: settings.http.body_timeout,
            }),
        })
    }

    /// A fresh stamp for a sign-up form served now.
    fn form_stamp(&self) -> String {
        self.inner.form_stamp.issue(crate::clock::now_ms())
    }

    /// The failure answer of pages.
    fn page(&self) -> error::Answer {
        error::Answer::Page(Arc::clone(&self.inner.newsletter))
    }
}

pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}
