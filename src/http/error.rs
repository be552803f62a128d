//! The one failure of every handler: something the request needs (the database, the sign-up
//! queue) failed. It is logged once, with its causes, and answered 503 in the shape the client
//! reads (a page, JSON or a line of text); the cause never reaches the client.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::pages;
use crate::config::Newsletter;
use crate::report::Chain;

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The shape of the answer the client reads.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A page in the newsletter's look.
    Page(Arc<Newsletter>),
    Json,
    /// One line of text (for probes such as `/healthz`).
    Text(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{what}")]
    Unavailable {
        /// What could not be done, for the log, e.g. "the archive lookup failed".
        what: String,
        #[source]
        source: Cause,
        answer: Answer,
    },
}

impl HttpError {
    /// For `map_err`: `store.archive().await.map_err(HttpError::unavailable(answer, "…"))?`.
    pub fn unavailable<E: Into<Cause>>(
        answer: Answer,
        what: impl Into<String>,
    ) -> impl FnOnce(E) -> Self {
        let what = what.into();
        move |source| Self::Unavailable {
            what,
            source: source.into(),
            answer,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let Self::Unavailable {
            what,
            source,
            answer,
        } = self;
        // A database that cannot take writes (a full disk, a read-only filesystem): what the
        // operator can do, beside the cause.
        match crate::store::StoreError::advice_in(source.as_ref()) {
            Some(advice) => {
                tracing::error!(error = %Chain(source.as_ref()), "{what}; what to do: {advice}")
            }
            None => tracing::error!(error = %Chain(source.as_ref()), "{what}"),
        }
        let mut response = match answer {
            Answer::Page(newsletter) => pages::unavailable(&newsletter),
            Answer::Json => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "error": "try again in a minute" })),
            )
                .into_response(),
            Answer::Text(line) => (StatusCode::SERVICE_UNAVAILABLE, line).into_response(),
        };
        // What each answer tells the reader ("try again in a minute"), for clients and
        // proxies that retry by themselves.
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
        response
    }
}

/// The wait `Retry-After` asks for on a 503: what the database usually needs to come back
/// from a restart or a freed disk.
const RETRY_AFTER_SECONDS: &str = "60";

/// An error and its causes on one line (the log has no room for a chain).
#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the pool timed out")]
    struct Outer(#[source] std::io::Error);

    #[tokio::test]
    async fn every_shape_is_a_503_that_hides_the_cause() {
        let cause = || Outer(std::io::Error::other("secret detail"));
        for (answer, says) in [
            (Answer::Json, "{\"error\":\"try again in a minute\"}"),
            (
                Answer::Text("database unavailable\n"),
                "database unavailable\n",
            ),
        ] {
            let response =
                HttpError::unavailable(answer, "the lookup failed")(cause()).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                response.headers().get("retry-after").map(|v| v.as_bytes()),
                Some(&b"60"[..]),
                "a client that retries by itself is told when"
            );
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&body), says);
        }
        assert_eq!(
            Chain(&cause()).to_string(),
            "the pool timed out: secret detail",
            "the log gets every cause"
        );
    }
}
