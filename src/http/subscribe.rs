//! `GET /`: the subscribe page. `POST /subscribe`: double opt-in's first step.
//!
//! Every sign-up that passes validation gets the same status and the same page, whatever
//! the address's state (DESIGN.md decision 9): nothing tells a stranger if it is known.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use uuid::Uuid;

use super::AppState;
use super::body::{BodyError, SignupFields, parse_signup};
use super::pages::{page, subscribe_form, unavailable};
use crate::clock::now_ms;
use crate::domain::{SubscriberEmail, SubscriberName};
use crate::store::{NewConfirmation, SubscribeRequest};

const NEUTRAL: &str = "Check your inbox: if the address can receive our mail, a link to confirm your subscription is on its way.";

pub async fn form(State(app): State<AppState>) -> Response {
    let n = &app.inner.newsletter;
    page(
        StatusCode::OK,
        n,
        "Subscribe",
        html! {
            h1 class="headline" { "Subscribe to " (n.name) }
            p { "One email every morning: the stories, tools and papers that matter in AI. Free; leave with one click." }
            (subscribe_form("", "", None))
        },
    )
}

pub async fn submit(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = match parse_signup(&headers, &body) {
        Ok(f) => f,
        Err(BodyError::UnsupportedType) => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                BodyError::UnsupportedType.to_string(),
            )
                .into_response();
        }
        Err(e @ BodyError::BadJson(_)) => {
            return json_error(StatusCode::BAD_REQUEST, &e.to_string());
        }
        Err(e @ BodyError::BadField(_)) => {
            return invalid(&app, &SignupFields::default(), &e.to_string());
        }
    };
    if !fields.website.trim().is_empty() {
        tracing::info!("sign-up with the honeypot filled: answered, nothing stored");
        return neutral(&app, fields.json);
    }
    let email = match SubscriberEmail::parse(&fields.email) {
        Ok(e) => e,
        Err(e) => {
            return invalid(
                &app,
                &fields,
                &format!("That address cannot receive mail: {e}."),
            );
        }
    };
    let name = match SubscriberName::parse_optional(&fields.name) {
        Ok(n) => n,
        Err(e) => return invalid(&app, &fields, &format!("That name cannot be used: {e}.")),
    };
    let inner = &app.inner;
    let now = now_ms();
    let new_id = Uuid::now_v7();
    let confirmation_id = Uuid::new_v4();
    let request = SubscribeRequest {
        new_id,
        new_unsubscribe_hash: inner.key.unsubscribe_token(new_id).hash(),
        email,
        name,
        confirmation: NewConfirmation {
            id: confirmation_id,
            hash: inner.key.confirmation_token(confirmation_id).hash(),
            expires_at: now + millis(inner.subscriptions.confirm_valid),
        },
        confirmation_message: inner.confirmation_message,
        resend_after_ms: millis(inner.subscriptions.resend_after),
        allow_bounced: inner.subscriptions.allow_bounced,
        now,
    };
    match inner.signups.subscribe(request).await {
        Ok(outcome) => {
            tracing::info!(?outcome, "sign-up");
            neutral(&app, fields.json)
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-up could not be stored");
            if fields.json {
                json_error(StatusCode::SERVICE_UNAVAILABLE, "try again in a minute")
            } else {
                unavailable(&inner.newsletter)
            }
        }
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The one answer for every accepted sign-up.
fn neutral(app: &AppState, json: bool) -> Response {
    if json {
        return (
            StatusCode::OK,
            Json(serde_json::json!({ "message": NEUTRAL })),
        )
            .into_response();
    }
    page(
        StatusCode::OK,
        &app.inner.newsletter,
        "Check your inbox",
        html! {
            h1 class="headline" { "Check your inbox" }
            p { (NEUTRAL) }
            p { "Nothing there after a few minutes? Look in the spam folder, or sign up again." }
        },
    )
}

/// 422 with the form shown again, the input kept.
fn invalid(app: &AppState, fields: &SignupFields, message: &str) -> Response {
    if fields.json {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, message);
    }
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &app.inner.newsletter,
        "Subscribe",
        html! {
            h1 class="headline" { "Subscribe to " (app.inner.newsletter.name) }
            (subscribe_form(&fields.email, &fields.name, Some(message)))
        },
    )
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
