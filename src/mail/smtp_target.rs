//! The SMTP relay the settings name: `smtp://[user:pass@]host[:port][?tls=starttls|none]` or
//! `smtps://…`, and the certificate authorities its TLS certificate may come from.

use std::path::Path;
use std::time::Duration;

use lettre::transport::smtp::client::{Certificate, TlsParameters};
use rustls_pki_types::pem::SectionKind;

use super::pem::PemProblem;
use super::transport::TransportError;
use crate::config::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `?tls=starttls`: STARTTLS required.
    StartTls,
    /// `smtp://` default: STARTTLS when the server offers it.
    Opportunistic,
    /// `?tls=none`: never.
    None,
}

/// Why the CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaProblem {
    #[error("it cannot be read")]
    Read(#[source] std::io::Error),
    #[error("it is not well-formed PEM")]
    Pem(#[source] PemProblem),
    #[error("it holds no `-----BEGIN CERTIFICATE-----` block")]
    NoCertificate,
    #[error("a certificate in it cannot be used as a root")]
    Unusable(#[source] lettre::transport::smtp::Error),
}

/// How much of a send one relay takes: `?max_connections=N&rate_per_second=R&weight=W` on
/// its URL (docs/architecture.md, several relays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayLimits {
    /// Sessions open with it at once; `None`: as many as the worker has slots.
    pub max_connections: Option<usize>,
    /// Messages per second at most; `None`: as fast as it takes them (until it pushes back).
    pub rate_per_second: Option<u32>,
    /// Its share of the worker's sessions against the other relays' weights.
    pub weight: u32,
}

impl Default for RelayLimits {
    fn default() -> Self {
        Self {
            max_connections: None,
            rate_per_second: None,
            weight: 1,
        }
    }
}

#[derive(Clone)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// `host:port`, written once for the replies and logs of every message.
    peer: String,
    pub(super) credentials: Option<(String, Secret)>,
    /// Connecting, the greeting, EHLO, STARTTLS and AUTH (each command, and all of them).
    pub timeout: Duration,
    /// MAIL, RCPT, DATA and the body together.
    pub transaction_timeout: Duration,
    /// Built once: the host's name to check the certificate against and the trusted roots.
    pub(super) tls: TlsParameters,
    pub limits: RelayLimits,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmtpTarget({}:{} {:?}{})",
            self.host,
            self.port,
            self.security,
            if self.credentials.is_some() {
                " with auth"
            } else {
                ""
            }
        )
    }
}

impl SmtpTarget {
    /// The timeouts come from `DeliverySettings` (`connect_timeout`, `transaction_timeout`),
    /// which also sizes the lease around them.
    pub fn parse(
        url: &Secret,
        timeout: Duration,
        transaction_timeout: Duration,
    ) -> Result<Self, TransportError> {
        let bad = |m: &str| TransportError::BadUrl(m.to_owned());
        let u = url::Url::parse(url.expose())
            .map_err(|e| TransportError::BadUrl(format!("not a URL ({e})")))?;
        let (mut security, default_port) = match u.scheme() {
            "smtp" => (Security::Opportunistic, 25),
            "smtps" => (Security::Implicit, 465),
            other => return Err(TransportError::BadUrl(format!("unknown scheme {other:?}"))),
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut limits = RelayLimits::default();
        let whole = |k: &str, v: &str, min: u64| {
            v.parse::<u64>()
                .ok()
                .filter(|n| (min..=1_000_000).contains(n))
                .ok_or_else(|| {
                    TransportError::BadUrl(format!(
                        "{k}={v:?} is not a whole number from {min} to 1000000"
                    ))
                })
        };
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v.as_ref(), security) {
                ("max_connections", n, _) => {
                    limits.max_connections = Some(whole("max_connections", n, 1)? as usize)
                }
                ("rate_per_second", n, _) => {
                    let n = whole("rate_per_second", n, 0)?;
                    limits.rate_per_second = (n > 0).then_some(n as u32);
                }
                ("weight", n, _) => limits.weight = whole("weight", n, 1)? as u32,
                ("tls", "starttls", Security::Opportunistic) => security = Security::StartTls,
                ("tls", "none", Security::Opportunistic) => security = Security::None,
                ("tls", _, Security::Implicit) => {
                    return Err(bad("smtps:// is always TLS; drop ?tls="));
                }
                ("tls", other, _) => {
                    return Err(TransportError::BadUrl(format!(
                        "tls={other:?} is not starttls or none"
                    )));
                }
                (other, _, _) => {
                    return Err(TransportError::BadUrl(format!(
                        "unknown parameter {other:?}"
                    )));
                }
            }
        }
        let credentials = if u.username().is_empty() {
            None
        } else {
            let user = userinfo(u.username())
                .ok_or_else(|| bad("the user name is not UTF-8 once its %XX are decoded"))?;
            let pass = userinfo(u.password().unwrap_or_default())
                .ok_or_else(|| bad("the password is not UTF-8 once its %XX are decoded"))?;
            Some((user, Secret::new(pass)))
        };
        let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if credentials.is_some() && security == Security::None && !local {
            return Err(bad(
                "a password would travel in clear text: use smtps:// or ?tls=starttls",
            ));
        }
        let tls = tls_parameters(&host, Vec::new())?;
        let port = u.port().unwrap_or(default_port);
        Ok(Self {
            peer: format!("{host}:{port}"),
            host,
            port,
            security,
            credentials,
            timeout,
            transaction_timeout,
            tls,
            limits,
        })
    }

    /// Trusts the certificate authorities of a PEM file besides the public ones: for a relay
    /// whose certificate comes from a private CA.
    pub fn trust_ca_file(&mut self, path: &Path) -> Result<(), TransportError> {
        let bad = |problem| TransportError::CaFile {
            path: path.to_owned(),
            problem,
        };
        let pem = std::fs::read(path).map_err(|e| bad(CaProblem::Read(e)))?;
        let sections = super::pem::sections(&pem).map_err(|e| bad(CaProblem::Pem(e)))?;
        let roots = sections
            .into_iter()
            .filter(|(kind, _)| *kind == SectionKind::Certificate)
            .map(|(_, der)| Certificate::from_der(der).map_err(|e| bad(CaProblem::Unusable(e))))
            .collect::<Result<Vec<_>, _>>()?;
        if roots.is_empty() {
            return Err(bad(CaProblem::NoCertificate));
        }
        self.tls = tls_parameters(&self.host, roots).map_err(|e| match e {
            TransportError::Tls { source, .. } => bad(CaProblem::Unusable(source)),
            other => other,
        })?;
        Ok(())
    }

    /// `host:port`: the relay's name in logs, replies and metrics.
    pub fn peer(&self) -> &str {
        &self.peer
    }
}

fn tls_parameters(host: &str, roots: Vec<Certificate>) -> Result<TlsParameters, TransportError> {
    roots
        .into_iter()
        .fold(TlsParameters::builder(host.to_owned()), |b, root| {
            b.add_root_certificate(root)
        })
        .build()
        .map_err(|source| TransportError::Tls {
            host: host.to_owned(),
            source,
        })
}

/// The user name or password of a URL, `%XX` decoded as RFC 3986 says (a `+` stays a `+`).
fn userinfo(encoded: &str) -> Option<String> {
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpTarget, TransportError> {
        SmtpTarget::parse(
            &Secret::new(url),
            Duration::from_secs(5),
            Duration::from_secs(10),
        )
    }

    fn credentials(url: &str) -> (String, String) {
        let t = parse(url).unwrap();
        let (user, pass) = t.credentials.expect("credentials");
        (user, pass.expose().to_owned())
    }

    #[test]
    fn smtp_urls_select_host_port_and_tls() {
        let t = parse("smtp://relay.example.com").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.security),
            ("relay.example.com", 25, Security::Opportunistic)
        );
        let t = parse("smtp://u:p%40ss@relay.example.com:587?tls=starttls").unwrap();
        assert_eq!((t.port, t.security), (587, Security::StartTls));
        assert_eq!(
            credentials("smtp://u:p%40ss@relay.example.com:587?tls=starttls"),
            ("u".to_owned(), "p@ss".to_owned())
        );
        assert_eq!(parse("smtps://relay.example.com").unwrap().port, 465);
        assert_eq!(
            parse("smtp://127.0.0.1:2525?tls=none").unwrap().security,
            Security::None
        );
    }

    #[test]
    fn a_relay_url_carries_its_share_of_the_send() {
        let t = parse("smtp://relay.example.com").unwrap();
        assert_eq!(t.limits, RelayLimits::default());
        let t = parse(
            "smtp://relay.example.com:2525?tls=none&max_connections=4&rate_per_second=14&weight=3",
        )
        .unwrap();
        assert_eq!(
            t.limits,
            RelayLimits {
                max_connections: Some(4),
                rate_per_second: Some(14),
                weight: 3
            }
        );
        assert_eq!(t.security, Security::None);
        assert_eq!(
            parse("smtp://r.example?rate_per_second=0")
                .unwrap()
                .limits
                .rate_per_second,
            None
        );
    }

    /// RFC 3986 percent-decoding, not form decoding: on today's code `+` became a space and
    /// `%26` (`&`) cut the password short.
    #[test]
    fn user_and_password_are_percent_decoded_exactly() {
        for (url, user, pass) in [
            (
                "smtp://a%2Bb%26c%25d%3Ae%40f%2Fg:p%2Bq%26r%25s%3At%40u%2Fv@relay.example.com",
                "a+b&c%d:e@f/g",
                "p+q&r%s:t@u/v",
            ),
            // Unencoded `+` and `&` are legal in userinfo and stay themselves.
            ("smtp://a+b:p+q&r=s@relay.example.com", "a+b", "p+q&r=s"),
            // Non-ASCII, as a URL library writes it and as an operator might type it.
            (
                "smtp://J%C3%BCrgen:p%C3%A4ss%E2%82%AC@relay.example.com",
                "Jürgen",
                "päss€",
            ),
            ("smtp://Jürgen:päss€@relay.example.com", "Jürgen", "päss€"),
            ("smtp://only-user@relay.example.com", "only-user", ""),
        ] {
            assert_eq!(
                credentials(url),
                (user.to_owned(), pass.to_owned()),
                "{url}"
            );
        }
        let e = parse("smtp://u:%FF%FE@relay.example.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("password is not UTF-8"), "{e}");
    }

    #[test]
    fn bad_smtp_urls_are_refused_without_printing_the_password() {
        for (url, why) in [
            ("http://relay.example.com", "unknown scheme"),
            ("smtp://", "no host"),
            (
                "smtp://relay.example.com?tls=maybe",
                "is not starttls or none",
            ),
            ("smtp://relay.example.com?port=2", "unknown parameter"),
            (
                "smtp://relay.example.com?weight=0",
                "weight=\"0\" is not a whole number",
            ),
            (
                "smtp://relay.example.com?max_connections=x",
                "max_connections",
            ),
            (
                "smtp://relay.example.com?rate_per_second=-1",
                "rate_per_second",
            ),
            ("smtp://me:hunter2@relay.example.com?tls=none", "clear text"),
            ("smtps://relay.example.com?tls=none", "always TLS"),
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn a_ca_file_without_a_usable_certificate_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text, reason) in [
            ("missing.pem", None, "cannot be read"),
            ("empty.pem", Some(""), "no `-----BEGIN CERTIFICATE-----`"),
            (
                "key.pem",
                Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
                "no `-----BEGIN CERTIFICATE-----`",
            ),
            (
                "one-line.pem",
                Some("-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----"),
                "not well-formed PEM",
            ),
            (
                "garbage.pem",
                Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                "cannot be used as a root",
            ),
        ] {
            let path = dir.path().join(name);
            if let Some(text) = text {
                std::fs::write(&path, text).unwrap();
            }
            let mut target = parse("smtp://relay.example.com").unwrap();
            let e = target.trust_ca_file(&path).unwrap_err();
            let TransportError::CaFile { problem, .. } = &e else {
                panic!("{name}: {e:?}")
            };
            assert!(problem.to_string().contains(reason), "{name}: {problem}");
            assert!(
                e.to_string().contains(name) && e.to_string().contains("smtp_ca_file"),
                "{e}"
            );
        }
    }
}
