//! Routes, body limits, the per-client rate limit on sign-ups, and security headers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};

use super::{AppState, archive, confirm, security, subscribe, unsubscribe};

/// Bodies are small forms; anything larger is refused with 413 before it is read.
pub const MAX_BODY: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    let subscriptions = state.inner.subscriptions.clone();
    let signup = Router::new().route("/subscribe", post(subscribe::submit));
    let signup = match subscriptions.rate_per_minute {
        None => signup,
        Some(per_minute) if subscriptions.trust_forwarded_for => {
            limit(signup, per_minute, SmartIpKeyExtractor)
        }
        Some(per_minute) => limit(signup, per_minute, PeerIpKeyExtractor),
    };
    Router::new()
        .route("/", get(subscribe::form))
        .route(
            "/confirm/{token}",
            get(confirm::show).post(confirm::confirm),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::show).post(unsubscribe::unsubscribe),
        )
        .route("/issues", get(archive::index))
        .route("/issues/{slug}", get(archive::issue))
        .route("/healthz", get(archive::healthz))
        .merge(signup)
        .fallback(archive::fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}

/// `per_minute` sign-ups per client, in a burst of up to that many; 429 with Retry-After past it.
fn limit<K>(routes: Router<AppState>, per_minute: u32, key: K) -> Router<AppState>
where
    K: KeyExtractor + Send + Sync + 'static,
    K::Key: Send + Sync,
{
    let period =
        Duration::from_millis(60_000 / u64::from(per_minute.max(1))).max(Duration::from_millis(1));
    let config = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(per_minute.max(1))
        .key_extractor(key)
        .finish();
    match config {
        Some(config) => routes.layer(GovernorLayer::new(Arc::new(config))),
        None => routes,
    }
}
