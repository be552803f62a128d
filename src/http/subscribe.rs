//! `GET /`: the subscribe page. `POST /subscribe`: double opt-in's first step.
//!
//! Every sign-up that passes validation gets the same status and the same page, whatever
//! the address's state (docs/architecture.md decision 9): nothing tells a stranger if it is
//! known. The browser's time zone (`time_zone`) is kept when the tz database knows it and
//! dropped otherwise, with the same answer either way (decision 26).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::AppState;
use super::body::{BodyError, Kind, SignupFields, parse_signup};
use super::error::{Answer, HttpError};
use super::form_stamp::Verdict;
use super::pages::{page, subscribe_form};
use super::same_site::CrossSite;
use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName};
use crate::metrics::record;
use crate::store::Source;

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
            (subscribe_form(&app.form_stamp(), "", "", None))
        },
    )
}

pub async fn submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let kind = Kind::of(&headers);
    if kind != Kind::Json
        && let Err(cross_site) = app.inner.same_site.check(&headers)
    {
        tracing::info!(origin = %cross_site.named, "cross-site sign-up refused");
        return Ok(refused(&app, &cross_site));
    }
    let fields = match parse_signup(kind, &body) {
        Ok(f) => f,
        Err(e @ BodyError::UnsupportedType) => {
            record::signup("invalid");
            return Ok((StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string()).into_response());
        }
        Err(e @ BodyError::BadJson(_)) => {
            record::signup("invalid");
            return Ok(json_error(StatusCode::BAD_REQUEST, &e.to_string(), None));
        }
        Err(e @ BodyError::BadField { field, reason }) => {
            let problem = Problem {
                field,
                reason: reason.to_owned(),
                message: format!("{}.", capitalized(&e.to_string())),
            };
            return Ok(invalid(&app, kind, &SignupFields::default(), &problem));
        }
    };
    if !fields.website.trim().is_empty() {
        tracing::info!("sign-up with the honeypot filled: answered, nothing stored");
        record::signup("honeypot");
        return Ok(neutral(&app, kind));
    }
    if kind == Kind::Form {
        let verdict = app
            .inner
            .form_stamp
            .judge(fields.form_started.as_deref(), crate::clock::now_ms());
        let bot = match verdict {
            Verdict::Human => false,
            Verdict::TooFast | Verdict::Forged => true,
            // Our own page always carries a stamp: a post that names this site and has none
            // was not made with our form. A form embedded on an allowed site, or a script
            // that names no origin, cannot carry one.
            Verdict::Missing => app.inner.same_site.names_own_site(&headers),
        };
        if bot {
            tracing::info!(
                verdict = verdict.as_str(),
                "sign-up form posted too fast or without its stamp: answered, nothing stored"
            );
            record::signup(verdict.as_str());
            return Ok(neutral(&app, kind));
        }
    }
    let email = match SubscriberEmail::parse(&fields.email) {
        Ok(e) => e,
        Err(e) => {
            let problem = Problem {
                field: Some("email"),
                message: format!("That address cannot receive mail: {e}."),
                reason: format!("cannot receive mail: {e}"),
            };
            return Ok(invalid(&app, kind, &fields, &problem));
        }
    };
    let name = match SubscriberName::parse_optional(&fields.name) {
        Ok(n) => n,
        Err(e) => {
            let problem = Problem {
                field: Some("name"),
                message: format!("That name cannot be used: {e}."),
                reason: format!("cannot be used: {e}"),
            };
            return Ok(invalid(&app, kind, &fields, &problem));
        }
    };
    let time_zone = browser_zone(fields.time_zone.as_deref());
    let inner = &app.inner;
    let source = if kind == Kind::Json {
        Source::Api
    } else {
        Source::Form
    };
    let request = inner.signups_rules.request(email, name, time_zone, source);
    let answer = if kind == Kind::Json {
        Answer::Json
    } else {
        app.page()
    };
    let outcome = inner
        .signups
        .subscribe(request)
        .await
        .map_err(HttpError::unavailable(
            answer,
            "a sign-up could not be stored",
        ))?;
    tracing::info!(outcome = outcome.as_str(), "sign-up");
    record::signup(outcome.as_str());
    Ok(neutral(&app, kind))
}

/// The zone the page's script reported, if the tz database knows it. Anything else — no
/// JavaScript, an old browser, a forged value — means no zone of its own (the newsletter's
/// `timezone` applies) and never an error: the answer is the same (decision 9).
fn browser_zone(sent: Option<&str>) -> Option<TimeZoneName> {
    let sent = sent.filter(|z| !z.trim().is_empty())?;
    match TimeZoneName::parse(sent) {
        Ok(zone) => Some(zone),
        Err(e) => {
            tracing::debug!(error = %e, "sign-up with an unknown time zone: stored without one");
            None
        }
    }
}

/// The one answer for every accepted sign-up.
fn neutral(app: &AppState, kind: Kind) -> Response {
    if kind == Kind::Json {
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

/// What is wrong with a sign-up, for a person (`message`) and for a program (`field`, `reason`).
struct Problem {
    /// `None` when the body as a whole is at fault.
    field: Option<&'static str>,
    reason: String,
    message: String,
}

/// 422: JSON naming the field and the reason, or the form shown again with the input kept.
fn invalid(app: &AppState, kind: Kind, fields: &SignupFields, problem: &Problem) -> Response {
    record::signup("invalid");
    if kind == Kind::Json {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &problem.message,
            Some(problem),
        );
    }
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &app.inner.newsletter,
        "Subscribe",
        html! {
            h1 class="headline" { "Subscribe to " (app.inner.newsletter.name) }
            (subscribe_form(&app.form_stamp(), &fields.email, &fields.name, Some(&problem.message)))
        },
    )
}

/// 403 for a form posted from another site's page, with our own form to use instead.
fn refused(app: &AppState, cross_site: &CrossSite) -> Response {
    record::signup("cross-site");
    let n = &app.inner.newsletter;
    page(
        StatusCode::FORBIDDEN,
        n,
        "Subscribe here",
        html! {
            h1 class="headline" { "Subscribe here" }
            p {
                "This sign-up was sent from another site (" (cross_site.named) "), so it was not "
                "accepted: only " (n.name) "'s own pages can sign you up. If you meant to "
                "subscribe, use this form:"
            }
            (subscribe_form(&app.form_stamp(), "", "", None))
        },
    )
}

fn json_error(status: StatusCode, message: &str, problem: Option<&Problem>) -> Response {
    let body = match problem {
        Some(p) => serde_json::json!({ "error": message, "field": p.field, "reason": p.reason }),
        None => serde_json::json!({ "error": message }),
    };
    (status, Json(body)).into_response()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
