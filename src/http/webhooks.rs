//! `POST /webhooks/ses`: Amazon SNS notifications of SES events (`feedback::ses`). 200 when
//! applied (a JSON summary; a replay says `duplicates`), also for a subscription confirmation
//! (its URL is logged for the operator to open); 400 for a body that is no SNS message or
//! SES event; 401 when the signature does not verify or its certificate is not at hand; 403
//! for a topic not in `ses_topic_arns`; 404 when `ses_webhook` is off; 503 when the database
//! fails (SNS retries).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::{Answer, HttpError};
use crate::feedback::ses::{Handled, SesError};

pub async fn ses(State(app): State<AppState>, body: Bytes) -> Result<Response, HttpError> {
    let Some(webhook) = &app.inner.ses else {
        return Ok(refuse(
            StatusCode::NOT_FOUND,
            "the SES webhook is off; set ses_webhook = true to use it",
        ));
    };
    match webhook.handle(&body).await {
        Ok(Handled::Recorded(s)) => {
            tracing::info!(
                hard = s.hard,
                soft = s.soft,
                refused = s.refused,
                complaints = s.complaints,
                duplicates = s.duplicates,
                unmatched = s.unmatched,
                forged = s.forged,
                "an SES event was recorded"
            );
            Ok(Json(json!({
                "recorded": {
                    "hard": s.hard,
                    "soft": s.soft,
                    "refused": s.refused,
                    "complaints": s.complaints,
                },
                "suppressed": s.suppressed,
                "duplicates": s.duplicates,
                "unmatched": s.unmatched,
                "ignored": s.ignored.map(|k| k.as_str()),
                "forged": s.forged,
                "paused": s.paused,
            }))
            .into_response())
        }
        Ok(Handled::SubscriptionConfirmation { .. }) => Ok(Json(json!({
            "subscription": "not confirmed yet: open the SubscribeURL in the server log once"
        }))
        .into_response()),
        Ok(Handled::UnsubscribeConfirmation) => {
            Ok(Json(json!({ "unsubscribed": true })).into_response())
        }
        Err(SesError::Store(e)) => Err(HttpError::unavailable(
            Answer::Json,
            "an SES event could not be recorded",
        )(e)),
        Err(e @ SesError::Malformed(_)) => {
            tracing::info!(error = %e, "an SES webhook post was refused");
            Ok(refuse(StatusCode::BAD_REQUEST, &e.to_string()))
        }
        Err(e @ SesError::Topic(_)) => {
            tracing::warn!(error = %e, "an SES webhook post was refused");
            Ok(refuse(StatusCode::FORBIDDEN, &e.to_string()))
        }
        Err(
            e @ (SesError::SignatureVersion(_)
            | SesError::CertificateUrl { .. }
            | SesError::Certificate(_)
            | SesError::BadSignature(_)),
        ) => {
            // The log says which certificate file to put where; the client learns only that
            // the message was not believed.
            tracing::warn!(error = %e, "an SES webhook post was not believed");
            Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "the SNS signature could not be verified",
            ))
        }
    }
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}
