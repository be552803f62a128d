//! Headers on every response: a Content-Security-Policy without inline script (styles are
//! inline: the pages share the email's stylesheet), no sniffing, no framing, a referrer for
//! this site only (token URLs must not leak to other sites; `no-referrer` would make browsers
//! send `Origin: null` with our own form, which the cross-site check refuses), and no caching
//! of token pages.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::domain::carries_token;

pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn headers(request: Request, next: Next) -> Response {
    let token_page = carries_token(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if token_page {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
