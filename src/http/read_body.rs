//! Every request body is read here, whole, before any handler runs: at most `MAX_BODY` bytes
//! (413 past it) within the body deadline (408 past it). A client that sends its headers and
//! then drips its body, or stops, holds a connection no longer than that.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Bodies are small forms; anything larger is refused with 413.
pub const MAX_BODY: usize = 16 * 1024;

/// A provider's event (an SNS notification holds a whole SES event with the mail's headers).
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// The largest body a path accepts.
pub fn body_limit(path: &str) -> usize {
    if path == crate::domain::routes::SES_WEBHOOK {
        MAX_WEBHOOK_BODY
    } else {
        MAX_BODY
    }
}

pub async fn read_body(State(deadline): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limit = body_limit(parts.uri.path());
    let declared_too_long = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    if declared_too_long {
        return too_long(limit);
    }
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => {
            let request = Request::from_parts(parts, Body::from(collected.to_bytes()));
            next.run(request).await
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => too_long(limit),
        Ok(Err(_)) => closing(
            StatusCode::BAD_REQUEST,
            "The request body could not be read: send it again.\n".to_owned(),
        ),
        Err(_) => closing(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "The request body did not arrive within {} s: send it again, all at once.\n",
                deadline.as_secs()
            ),
        ),
    }
}

fn too_long(limit: usize) -> Response {
    closing(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The request body is larger than {} KiB: send only the form's fields.\n",
            limit / 1024
        ),
    )
}

/// The rest of the body is not read: the connection cannot be reused.
fn closing(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
