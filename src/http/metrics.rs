//! `GET /metrics` (docs/metrics.md) on `serve`'s port and on `worker --metrics-bind`, for the
//! clients of `metrics_allowed_from` only (others are told there is nothing here); and the
//! count of every response by route and status.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ipnet::IpNet;

use super::client_ip::ClientIp;
use crate::config::Settings;
use crate::domain::routes;
use crate::metrics::{Scraper, record};
use crate::store::Store;

#[derive(Clone)]
pub struct MetricsEndpoint {
    inner: Arc<Inner>,
}

struct Inner {
    scraper: Scraper,
    client_ip: ClientIp,
    allowed_from: Vec<IpNet>,
}

impl MetricsEndpoint {
    /// Installs the process's recorder, so that counting starts now.
    pub fn new(settings: &Settings, store: Store) -> Self {
        let subscriptions = &settings.subscriptions;
        Self {
            inner: Arc::new(Inner {
                scraper: Scraper::new(store),
                client_ip: ClientIp::new(
                    subscriptions.trust_forwarded_for,
                    &subscriptions.trusted_proxies,
                ),
                allowed_from: settings.http.metrics_allowed_from.clone(),
            }),
        }
    }

    /// The one route, as a service to mount at [`routes::METRICS`].
    pub fn router(self) -> Router {
        Router::new()
            .route(routes::METRICS, get(scrape))
            .with_state(self)
    }

    /// A request from an allowed client. A request that carries `X-Forwarded-For` which
    /// `trust_forwarded_for` does not let us read came through a proxy from someone unknown:
    /// refused, so that a proxy on the same host does not open the page to the world.
    fn allows<B>(&self, request: &Request<B>) -> bool {
        let Some(client) = self.inner.client_ip.of_request(request) else {
            return false;
        };
        let forwarded = request.headers().contains_key("x-forwarded-for");
        if forwarded && !self.inner.client_ip.reads_forwarded_for(request) {
            return false;
        }
        self.inner
            .allowed_from
            .iter()
            .any(|net| net.contains(&client))
    }
}

async fn scrape(State(endpoint): State<MetricsEndpoint>, request: Request) -> Response {
    if !endpoint.allows(&request) {
        return (StatusCode::NOT_FOUND, "There is nothing at this address.\n").into_response();
    }
    let text = endpoint.inner.scraper.render().await;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    response
}

/// Counts each response by its route's pattern (never the raw path: a token or a probe's
/// path would make a series each) and its status.
pub async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |m| route_label(m.as_str()));
    let response = next.run(request).await;
    record::http_request(route, response.status().as_u16());
    response
}

/// The route constant a matched pattern is, so the label is `'static` and bounded.
fn route_label(pattern: &str) -> &'static str {
    routes::ALL
        .iter()
        .find(|r| **r == pattern)
        .copied()
        .unwrap_or("other")
}
