//! Cross-site form posts to `POST /subscribe` are refused: a hostile page could otherwise make
//! its visitors' browsers sign up any address they like. Browsers name the posting page's
//! origin in `Origin` (older ones only in `Referer`); a request with neither comes from curl or
//! an old client and is let through. JSON calls are not checked: a browser sends JSON to
//! another site only after a CORS preflight, which this server never grants.
//!
//! Our own pages send `Referrer-Policy: same-origin` (security.rs): under `no-referrer` a
//! browser sends `Origin: null` even for our own form, and `null` must be refused (a hostile
//! page can choose `no-referrer` for itself).

use axum::http::{HeaderMap, header};

/// The origins whose pages may post the sign-up form.
#[derive(Debug, Clone)]
pub struct SameSite {
    /// ASCII serialized origins: `base_url`'s, then `allowed_origins`.
    allowed: Vec<String>,
}

/// A form posted from a page of another site.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the form was posted from {named}, another site than this one")]
pub struct CrossSite {
    /// The origin the browser named (at most 100 characters of it), or a description.
    pub named: String,
}

impl SameSite {
    pub fn new(base_url: &str, allowed_origins: &[String]) -> Self {
        let mut allowed: Vec<String> = url::Url::parse(base_url)
            .map(|u| u.origin().ascii_serialization())
            .into_iter()
            .collect();
        allowed.extend(allowed_origins.iter().cloned());
        Self { allowed }
    }

    /// Whether the request names this site itself (`base_url`'s origin) as where it was
    /// posted from: then it came from our own form page.
    pub fn names_own_site(&self, headers: &HeaderMap) -> bool {
        let Some(own) = self.allowed.first() else {
            return false;
        };
        let named = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER));
        named
            .and_then(|v| v.to_str().ok())
            .and_then(|v| url::Url::parse(v).ok())
            .is_some_and(|u| &u.origin().ascii_serialization() == own)
    }

    /// `Origin` when sent, else `Referer`, else nothing to check.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), CrossSite> {
        let origins = headers.get_all(header::ORIGIN);
        let named = if origins.iter().next().is_some() {
            origins
        } else {
            headers.get_all(header::REFERER)
        };
        for value in named {
            let origin = value
                .to_str()
                .ok()
                .and_then(|v| url::Url::parse(v).ok())
                .map(|u| u.origin().ascii_serialization());
            match origin {
                Some(origin) if self.allowed.contains(&origin) => {}
                // `null` (a sandboxed or `no-referrer` page) and anything unreadable name no
                // allowed site.
                _ => {
                    let shown = String::from_utf8_lossy(value.as_bytes());
                    return Err(CrossSite {
                        named: shown.chars().take(100).collect(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_our_origin_and_the_allowed_ones_may_post() {
        let site = SameSite::new(
            "https://news.example.com/letters",
            &["https://blog.example.org".to_owned()],
        );
        let origin = |v: &str| site.check(&headers(&[(header::ORIGIN, v)]));
        let referer = |v: &str| site.check(&headers(&[(header::REFERER, v)]));
        assert_eq!(origin("https://news.example.com"), Ok(()));
        assert_eq!(
            origin("https://news.example.com:443"),
            Ok(()),
            "default port"
        );
        assert_eq!(
            origin("https://blog.example.org"),
            Ok(()),
            "allowed_origins"
        );
        assert_eq!(referer("https://news.example.com/?x=1"), Ok(()));
        assert_eq!(site.check(&HeaderMap::new()), Ok(()), "curl sends neither");
        for refused in [
            "https://evil.example",
            "http://news.example.com",
            "https://news.example.com:8443",
            "https://news.example.com.evil.example",
            "null",
            "",
        ] {
            assert!(origin(refused).is_err(), "Origin {refused:?}");
        }
        assert_eq!(
            referer("https://evil.example/page?id=1"),
            Err(CrossSite {
                named: "https://evil.example/page?id=1".into()
            })
        );
        // Origin wins over Referer: a forged-looking Referer does not save a foreign Origin.
        assert!(
            site.check(&headers(&[
                (header::ORIGIN, "https://evil.example"),
                (header::REFERER, "https://news.example.com/"),
            ]))
            .is_err()
        );
        // Every Origin sent must be allowed.
        assert!(
            site.check(&headers(&[
                (header::ORIGIN, "https://news.example.com"),
                (header::ORIGIN, "https://evil.example"),
            ]))
            .is_err()
        );
    }
}
