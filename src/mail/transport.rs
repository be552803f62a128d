//! Where messages go (DESIGN.md decision 11): SMTP, or an outbox folder of `.eml` files.
//!
//! For SMTP each in-flight slot owns one lettre client connection over a socket with
//! TCP_NODELAY (lettre's own pool stalls ~40 ms a message on Nagle + delayed ACK, and sends
//! a NOOP before each reuse). A connection that errs is dropped and made anew.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "SMTP URL: {0}; write it as smtp://[user:pass@]host[:port][?tls=starttls|none] or smtps://…"
    )]
    BadUrl(String),
    #[error("cannot create the outbox folder {}: {source}", path.display())]
    Outbox {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

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

#[derive(Clone)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<(String, Secret)>,
    pub timeout: Duration,
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
    pub fn parse(url: &Secret, timeout: Duration) -> Result<Self, TransportError> {
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
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v.as_ref(), security) {
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
            let user = percent_decode(u.username());
            let pass = percent_decode(u.password().unwrap_or_default());
            Some((user, Secret::new(pass)))
        };
        let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if credentials.is_some() && security == Security::None && !local {
            return Err(bad(
                "a password would travel in clear text: use smtps:// or ?tls=starttls",
            ));
        }
        Ok(Self {
            host,
            port: u.port().unwrap_or(default_port),
            security,
            credentials,
            timeout,
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let hello = ClientId::default();
        let lettre_err = |e: lettre::transport::smtp::Error| SendFailure::classify(&e);
        let tls = || TlsParameters::new(self.host.clone()).map_err(lettre_err);
        let mut conn = if self.security == Security::Implicit {
            // lettre owns the socket here; implicit TLS is rare for bulk relays.
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(lettre_err)?
        } else {
            let io_err = |e: std::io::Error| {
                SendFailure::Temporary(format!(
                    "cannot connect to {}:{}: {e}",
                    self.host, self.port
                ))
            };
            let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(io_err)?;
            stream.set_nodelay(true).map_err(io_err)?;
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
                .await
                .map_err(lettre_err)?;
            let upgrade = match self.security {
                Security::StartTls => true,
                Security::Opportunistic => conn.can_starttls(),
                _ => false,
            };
            if upgrade {
                conn.starttls(tls()?, &hello).await.map_err(lettre_err)?;
            }
            conn
        };
        if let Some((user, pass)) = &self.credentials {
            let creds = Credentials::new(user.clone(), pass.expose().to_owned());
            let mechanisms = [
                lettre::transport::smtp::authentication::Mechanism::Plain,
                lettre::transport::smtp::authentication::Mechanism::Login,
            ];
            conn.auth(&mechanisms, &creds).await.map_err(lettre_err)?;
        }
        Ok(conn)
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// What an attempt to hand over a message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// 4xx, timeouts, refused or broken connections: try again later.
    Temporary(String),
    /// 5xx: never retried. `no_such_user` for 5.1.x.
    Permanent { reply: String, no_such_user: bool },
}

impl SendFailure {
    pub fn classify(e: &lettre::transport::smtp::Error) -> Self {
        // lettre writes "transient error (451): 4.7.1 …"; keep the server's own words: "451 4.7.1 …".
        let text = one_line(&e.to_string());
        let reply = match (e.status(), text.split_once("): ")) {
            (Some(code), Some((_, said))) => format!("{code} {said}"),
            _ => text,
        };
        if e.is_permanent() {
            let no_such_user = reply.contains(" 5.1.")
                || reply.contains("(5.1.")
                || enhanced_code(&reply).is_some_and(|c| c.starts_with("5.1."));
            SendFailure::Permanent {
                reply,
                no_such_user,
            }
        } else {
            SendFailure::Temporary(reply)
        }
    }

    pub fn reply(&self) -> &str {
        match self {
            SendFailure::Temporary(r) | SendFailure::Permanent { reply: r, .. } => r,
        }
    }
}

/// The first `d.d.d` enhanced status code in a reply (RFC 3463).
fn enhanced_code(reply: &str) -> Option<&str> {
    reply
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ':')
        .find(|w| {
            let parts: Vec<_> = w.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn one_line(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s.chars().take(500).collect()
}

/// The configured destination, shared by all slots.
#[derive(Debug, Clone)]
pub enum Transport {
    Smtp(Arc<SmtpTarget>),
    Outbox(PathBuf),
}

impl Transport {
    /// The transport the settings name, without touching anything (for `--dry-run`).
    pub fn named_by(settings: &crate::config::Settings) -> Result<Self, TransportError> {
        Ok(match &settings.smtp_url {
            Some(url) => Transport::Smtp(Arc::new(SmtpTarget::parse(
                url,
                settings.delivery.smtp_timeout,
            )?)),
            None => Transport::Outbox(settings.outbox_dir.clone()),
        })
    }

    /// The transport the settings name, ready to send: creates the outbox folder when that
    /// is the one.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, TransportError> {
        let transport = Self::named_by(settings)?;
        if let Transport::Outbox(dir) = &transport {
            std::fs::create_dir_all(dir).map_err(|source| TransportError::Outbox {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(transport)
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(t) => format!("SMTP {}:{}", t.host, t.port),
            Transport::Outbox(dir) => format!("outbox folder {}", dir.display()),
        }
    }

    /// A sender for one in-flight slot.
    pub fn sender(&self) -> Sender {
        match self {
            Transport::Smtp(target) => Sender::Smtp {
                target: target.clone(),
                conn: None,
            },
            Transport::Outbox(dir) => Sender::Outbox(dir.clone()),
        }
    }
}

/// One slot's connection.
pub enum Sender {
    Smtp {
        target: Arc<SmtpTarget>,
        conn: Option<Box<AsyncSmtpConnection>>,
    },
    Outbox(PathBuf),
}

impl Sender {
    /// Hands one message over; `Ok` carries the server's reply to the end of DATA.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<String, SendFailure> {
        match self {
            Sender::Outbox(dir) => write_outbox(dir, message_id, bytes)
                .await
                .map_err(|e| SendFailure::Temporary(format!("outbox write failed: {e}"))),
            Sender::Smtp { target, conn } => {
                let timeout = target.timeout;
                if conn.as_ref().is_none_or(|c| c.has_broken()) {
                    let fresh = tokio::time::timeout(timeout, target.connect())
                        .await
                        .map_err(|_| {
                            SendFailure::Temporary(format!(
                                "connecting to {}:{} timed out",
                                target.host, target.port
                            ))
                        })??;
                    *conn = Some(Box::new(fresh));
                }
                let Some(c) = conn.as_mut() else {
                    unreachable!("connected above")
                };
                // One timeout over MAIL, RCPT, DATA and the body, enough for a large message.
                let result = tokio::time::timeout(timeout * 2, c.send(envelope, bytes)).await;
                match result {
                    Ok(Ok(response)) => Ok(one_line(&format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    ))),
                    Ok(Err(e)) => {
                        // After any error the session state is unknown: start a fresh one.
                        if let Some(mut broken) = conn.take() {
                            broken.abort().await;
                        }
                        Err(SendFailure::classify(&e))
                    }
                    Err(_) => {
                        *conn = None;
                        Err(SendFailure::Temporary(
                            "the SMTP server did not answer in time".into(),
                        ))
                    }
                }
            }
        }
    }

    /// Closes an SMTP session politely.
    pub async fn close(&mut self) {
        if let Sender::Smtp { conn, .. } = self
            && let Some(mut c) = conn.take()
        {
            let _ = c.quit().await;
        }
    }
}

/// Writes `<message-id>.eml` atomically: a re-sent copy replaces the first one.
async fn write_outbox(dir: &Path, message_id: &str, bytes: &[u8]) -> std::io::Result<String> {
    let name: String = message_id
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(format!("250 written to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpTarget, TransportError> {
        SmtpTarget::parse(&Secret::new(url), Duration::from_secs(5))
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
            t.credentials
                .as_ref()
                .map(|(u, p)| (u.as_str(), p.expose())),
            Some(("u", "p@ss"))
        );
        assert_eq!(parse("smtps://relay.example.com").unwrap().port, 465);
        assert_eq!(
            parse("smtp://127.0.0.1:2525?tls=none").unwrap().security,
            Security::None
        );
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
            ("smtp://me:hunter2@relay.example.com?tls=none", "clear text"),
            ("smtps://relay.example.com?tls=none", "always TLS"),
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn enhanced_codes_are_found() {
        assert_eq!(
            enhanced_code("permanent error (550): 5.1.1 No such user"),
            Some("5.1.1")
        );
        assert_eq!(enhanced_code("451 4.7.1 try later"), Some("4.7.1"));
        assert_eq!(enhanced_code("550 rejected"), None);
    }
}
