//! Routes, the body deadline and limit, the per-client rate limit on sign-ups, and security
//! headers.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};

use super::read_body::{MAX_BODY, MAX_WEBHOOK_BODY, read_body};
use super::{
    AppState, archive, confirm, feed, limiter, metrics, security, subscribe, unsubscribe, webhooks,
};
use crate::domain::routes;

pub fn router(state: AppState) -> Router {
    let body_deadline = state.inner.body_timeout;
    let signup = Router::new()
        .route(routes::SUBSCRIBE, post(subscribe::submit))
        .route_layer(from_fn_with_state(state.clone(), limiter::limit));
    Router::new()
        .route(routes::HOME, get(subscribe::form))
        .route(routes::CONFIRM, get(confirm::show).post(confirm::confirm))
        .route(
            routes::UNSUBSCRIBE,
            get(unsubscribe::show).post(unsubscribe::unsubscribe),
        )
        .route(routes::ARCHIVE, get(archive::index))
        .route(routes::FEED, get(feed::feed))
        .route(routes::ISSUE, get(archive::issue))
        .route(routes::HEALTH, get(archive::healthz))
        .route(
            routes::SES_WEBHOOK,
            post(webhooks::ses).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)),
        )
        .merge(signup)
        .route_service(routes::METRICS, state.inner.metrics.clone().router())
        .fallback(archive::fallback)
        .layer(from_fn(metrics::count))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(from_fn_with_state(body_deadline, read_body))
        .layer(from_fn(security::headers))
        .with_state(state)
}
