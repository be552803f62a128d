//! Every address the newsletter gives out — in mail, on its pages, in its feed — is built
//! here, and the HTTP router's paths are the same constants, so a link and the route that
//! answers it cannot drift apart.

use std::fmt;

use super::IssueSlug;

/// The router's paths (axum's `{name}` captures).
pub mod routes {
    pub const HOME: &str = "/";
    pub const SUBSCRIBE: &str = "/subscribe";
    pub const CONFIRM: &str = "/confirm/{token}";
    pub const UNSUBSCRIBE: &str = "/unsubscribe/{token}";
    pub const ARCHIVE: &str = "/issues";
    pub const ISSUE: &str = "/issues/{slug}";
    /// The archive as an Atom feed.
    pub const FEED: &str = "/issues/feed.xml";
    pub const HEALTH: &str = "/healthz";
    /// Amazon SES events, posted by Amazon SNS (`ses_webhook`).
    pub const SES_WEBHOOK: &str = "/webhooks/ses";
    /// Prometheus metrics (`metrics_allowed_from`).
    pub const METRICS: &str = "/metrics";
    /// The pages a link in an issue may name: what a reader's browser can open without a
    /// token. `{slug}` stands for one path segment.
    pub const LINKABLE: &[&str] = &[HOME, ARCHIVE, ISSUE, FEED];
    /// Every route, for labels that must come from a bounded set.
    pub const ALL: &[&str] = &[
        HOME,
        SUBSCRIBE,
        CONFIRM,
        UNSUBSCRIBE,
        ARCHIVE,
        ISSUE,
        FEED,
        HEALTH,
        SES_WEBHOOK,
        METRICS,
    ];
}

/// The public base URL (no trailing slash) and the addresses below it.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrls {
    base: String,
}

impl fmt::Debug for PublicUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicUrls({})", self.base)
    }
}

impl PublicUrls {
    /// `base` is the configured `base_url`, already checked by the configuration.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The subscribe page.
    pub fn home(&self) -> String {
        self.absolute(routes::HOME)
    }

    pub fn confirm(&self, token: &str) -> String {
        format!("{}/confirm/{token}", self.base)
    }

    pub fn unsubscribe(&self, token: &str) -> String {
        format!("{}/unsubscribe/{token}", self.base)
    }

    pub fn archive(&self) -> String {
        self.absolute(routes::ARCHIVE)
    }

    /// The archive's Atom feed.
    pub fn feed(&self) -> String {
        self.absolute(routes::FEED)
    }

    /// An issue's web version: the "view in browser" link.
    pub fn issue(&self, slug: &IssueSlug) -> String {
        self.absolute(&issue_path(slug))
    }

    /// A site-relative path (`/issues`, from an issue's own links) made absolute.
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The path of an issue's page, for links between the site's own pages.
pub fn issue_path(slug: &impl fmt::Display) -> String {
    format!("{}/{slug}", routes::ARCHIVE)
}

/// Whether a site-relative link (`/issues?x#y`) names a page the server answers, one of
/// [`routes::LINKABLE`]; the query and fragment are not part of the route.
pub fn is_linkable_path(link: &str) -> bool {
    let path = link.split(['?', '#']).next().unwrap_or(link);
    routes::LINKABLE
        .iter()
        .any(|route| route_matches(route, path))
}

fn route_matches(route: &str, path: &str) -> bool {
    if route == routes::HOME {
        return path == routes::HOME;
    }
    let mut want = route.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with('{') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// Whether a request path carries a token (confirm and unsubscribe pages): those pages are
/// never cached.
pub fn carries_token(path: &str) -> bool {
    [routes::CONFIRM, routes::UNSUBSCRIBE].iter().any(|route| {
        route
            .strip_suffix("{token}")
            .is_some_and(|prefix| path.starts_with(prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_link_must_name_a_page_the_server_answers() {
        for good in [
            "/",
            "/issues",
            "/issues?page=2",
            "/issues/2026-11-27",
            "/issues/2026-11-27#tools",
            "/issues/feed.xml",
        ] {
            assert!(is_linkable_path(good), "{good}");
        }
        for dead in [
            "/archive",
            "/issues/",
            "/issues/2026-11-27/more",
            "/subscribe",
            "/confirm/abc",
            "/unsubscribe/abc",
            "/healthz",
            "/metrics",
            "/webhooks/ses",
            "//evil.example",
            "/index.html",
        ] {
            assert!(!is_linkable_path(dead), "{dead}");
        }
    }

    #[test]
    fn addresses_are_built_from_the_base_and_the_routes() {
        let urls = PublicUrls::new("https://news.example.com/");
        let slug = IssueSlug::parse("2026-11-27").unwrap();
        assert_eq!(urls.home(), "https://news.example.com/");
        assert_eq!(
            urls.issue(&slug),
            "https://news.example.com/issues/2026-11-27"
        );
        assert_eq!(urls.archive(), "https://news.example.com/issues");
        assert_eq!(urls.confirm("t0k"), "https://news.example.com/confirm/t0k");
        assert_eq!(
            urls.unsubscribe("t0k"),
            "https://news.example.com/unsubscribe/t0k"
        );
        assert_eq!(urls.absolute("/about"), "https://news.example.com/about");
        // The captures of the routes sit where the builders put the values.
        assert_eq!(
            routes::CONFIRM.replace("{token}", "t0k"),
            urls.confirm("t0k").trim_start_matches(urls.base())
        );
        assert_eq!(
            routes::UNSUBSCRIBE.replace("{token}", "t0k"),
            urls.unsubscribe("t0k").trim_start_matches(urls.base())
        );
        assert_eq!(
            routes::ISSUE.replace("{slug}", slug.as_str()),
            issue_path(&slug)
        );
        assert!(carries_token("/confirm/abc") && carries_token("/unsubscribe/abc"));
        assert!(!carries_token("/issues/2026-11-27") && !carries_token("/confirmx"));
    }
}
