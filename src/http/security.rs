//! Headers on every response: a Content-Security-Policy whose only script is the sign-up
//! form's time-zone filler, allowed by its SHA-256 hash (styles are inline: the pages share
//! the email's stylesheet), no sniffing, no framing, a referrer for this site only (token URLs
//! must not leak to other sites; `no-referrer` would make browsers send `Origin: null` with
//! our own form, which the cross-site check refuses), and no caching of token pages.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::pages::TIME_ZONE_SCRIPT;
use crate::domain::carries_token;

/// Everything but `script-src`, which [`csp`] adds.
macro_rules! csp_rest {
    () => {
        "style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    };
}

/// The policy, made once from the script's text: a changed script cannot outlive its hash.
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let policy = csp(TIME_ZONE_SCRIPT);
    // A hash in base64 is always a valid header value; were it not, no script would run and
    // the form would still work.
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static(concat!("default-src 'none'; ", csp_rest!())))
});

/// The policy allowing exactly `script` (the text inside its `<script>` element) to run.
fn csp(script: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; {}",
        csp_rest!()
    )
}

pub async fn headers(request: Request, next: Next) -> Response {
    let token_page = carries_token(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_script_by_its_sha256_and_allows_nothing_else() {
        // SHA-256 of the empty string, as CSP writes it (base64, with padding).
        assert!(
            csp("").contains("script-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='; ")
        );
        let served = CSP.to_str().unwrap_or_default();
        assert_eq!(served, csp(TIME_ZONE_SCRIPT));
        assert!(served.starts_with("default-src 'none'; script-src 'sha256-"));
        assert_eq!(served.matches("'unsafe-inline'").count(), 1, "styles only");
    }
}
