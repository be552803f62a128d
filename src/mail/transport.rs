//! Where messages go (docs/architecture.md decision 11): SMTP, or an outbox folder of `.eml` files.
//!
//! For SMTP each in-flight slot owns one lettre client connection over a socket with
//! TCP_NODELAY (lettre's own pool stalls ~40 ms a message on Nagle + delayed ACK, and sends
//! a NOOP before each reuse). A connection that errs is dropped and made anew.

use std::path::PathBuf;
use std::sync::Arc;

use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;

use super::outbox::Folder;
use super::send_failure::{Cause, one_line};
pub use super::send_failure::{SendFailure, Stage};
pub use super::smtp_target::{CaProblem, RelayLimits, Security, SmtpTarget};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "SMTP URL: {0}; write it as smtp://[user:pass@]host[:port][?tls=starttls|none] or smtps://…"
    )]
    BadUrl(String),
    #[error("cannot set up TLS for the SMTP host {host}; check the host name in smtp_url")]
    Tls {
        host: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    #[error(
        "the CA file {} (smtp_ca_file) cannot be used; give a PEM file of the certificate \
         authority that signed the relay's certificate",
        path.display()
    )]
    CaFile {
        path: PathBuf,
        #[source]
        problem: CaProblem,
    },
    #[error("cannot create the outbox folder {}; check outbox_dir", path.display())]
    Outbox {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The configured destination, shared by all slots: one or more SMTP relays (`smtp_url`
/// lists them, separated by spaces), or an outbox folder.
#[derive(Debug, Clone)]
pub enum Transport {
    Smtp(SmtpRelays),
    Outbox(Arc<Folder>),
}

impl Transport {
    /// The transport the settings name, without touching anything (for `--dry-run`).
    pub fn named_by(settings: &crate::config::Settings) -> Result<Self, TransportError> {
        let Some(urls) = &settings.smtp_url else {
            return Ok(Transport::Outbox(Arc::new(Folder::new(
                settings.outbox_dir.clone(),
            ))));
        };
        let urls: Vec<&str> = urls.expose().split_whitespace().collect();
        let targets = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                SmtpTarget::parse(
                    &crate::config::Secret::new(*url),
                    settings.delivery.connect_timeout(),
                    settings.delivery.transaction_timeout(),
                )
                .map(Arc::new)
                .map_err(|e| match e {
                    TransportError::BadUrl(why) if urls.len() > 1 => {
                        TransportError::BadUrl(format!("relay {} of {}: {why}", i + 1, urls.len()))
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        SmtpRelays::new(targets)
            .map(Transport::Smtp)
            .ok_or_else(|| TransportError::BadUrl("no relay is named".into()))
    }

    /// The transport the settings name, ready to send: reads the CA file, or creates the
    /// outbox folder (0700: the messages hold every reader's address).
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, TransportError> {
        match (Self::named_by(settings)?, &settings.smtp_ca_file) {
            (Transport::Smtp(relays), Some(ca_file)) => {
                let targets = relays
                    .iter()
                    .map(|target| {
                        let mut target = SmtpTarget::clone(target);
                        target.trust_ca_file(ca_file).map(|()| Arc::new(target))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                SmtpRelays::new(targets)
                    .map(Transport::Smtp)
                    .ok_or_else(|| TransportError::BadUrl("no relay is named".into()))
            }
            (Transport::Outbox(folder), _) => {
                super::outbox::create_folder(folder.path()).map_err(|source| {
                    TransportError::Outbox {
                        path: folder.path().to_owned(),
                        source,
                    }
                })?;
                Ok(Transport::Outbox(folder))
            }
            (transport, None) => Ok(transport),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(relays) => {
                let names: Vec<&str> = relays.iter().map(|t| t.peer()).collect();
                format!("SMTP {}", names.join(", "))
            }
            Transport::Outbox(folder) => format!("outbox folder {}", folder.path().display()),
        }
    }

    /// Each relay's name (`host:port`, or `outbox`) and its share of a send, in the order
    /// of `smtp_url`; [`Transport::sender`] takes the position.
    pub fn relays(&self) -> Vec<(String, RelayLimits)> {
        match self {
            Transport::Smtp(relays) => relays
                .iter()
                .map(|t| (t.peer().to_owned(), t.limits))
                .collect(),
            Transport::Outbox(_) => vec![("outbox".to_owned(), Default::default())],
        }
    }

    /// A sender for one in-flight slot, to the relay at `relay` in [`Transport::relays`]
    /// (the first when out of range).
    pub fn sender(&self, relay: usize) -> Sender {
        match self {
            Transport::Smtp(relays) => Sender::Smtp {
                target: relays.get(relay).clone(),
                conn: None,
                connected_in: None,
            },
            Transport::Outbox(folder) => Sender::Outbox(folder.clone()),
        }
    }
}

/// The relays of `smtp_url`, in its order: at least one.
#[derive(Debug, Clone)]
pub struct SmtpRelays {
    first: Arc<SmtpTarget>,
    more: Vec<Arc<SmtpTarget>>,
}

impl SmtpRelays {
    fn new(targets: Vec<Arc<SmtpTarget>>) -> Option<Self> {
        let mut targets = targets.into_iter();
        Some(Self {
            first: targets.next()?,
            more: targets.collect(),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<SmtpTarget>> {
        std::iter::once(&self.first).chain(&self.more)
    }

    /// The relay at `index`, the first when out of range.
    pub fn get(&self, index: usize) -> &Arc<SmtpTarget> {
        index
            .checked_sub(1)
            .and_then(|i| self.more.get(i))
            .unwrap_or(&self.first)
    }
}

/// One slot's connection.
pub enum Sender {
    Smtp {
        target: Arc<SmtpTarget>,
        conn: Option<Box<AsyncSmtpConnection>>,
        /// How long opening the last session took, until the caller takes it.
        connected_in: Option<std::time::Duration>,
    },
    Outbox(Arc<Folder>),
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
            // A folder that cannot be written to fails every message alike: a relay problem.
            Sender::Outbox(folder) => {
                folder
                    .write(message_id, bytes)
                    .await
                    .map_err(|source| SendFailure::Relay {
                        reply: format!(
                            "cannot write to the outbox folder {}",
                            folder.path().display()
                        ),
                        source: Some(Box::new(source) as Cause),
                    })
            }
            Sender::Smtp {
                target,
                conn,
                connected_in,
            } => {
                let timeout = target.timeout;
                let peer = target.peer();
                let c = match conn {
                    Some(c) if !c.has_broken() => c,
                    _ => {
                        let started = std::time::Instant::now();
                        let fresh = tokio::time::timeout(timeout, target.connect())
                            .await
                            .map_err(|_| SendFailure::Relay {
                                reply: format!("connecting to {peer} timed out after {timeout:?}"),
                                source: None,
                            })??;
                        *connected_in = Some(started.elapsed());
                        conn.insert(Box::new(fresh))
                    }
                };
                let result = tokio::time::timeout(
                    target.transaction_timeout,
                    super::smtp_session::transaction(c, envelope, bytes, peer),
                )
                .await;
                match result {
                    Ok(Ok(response)) => Ok(one_line(&format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    ))),
                    Ok(Err(failure)) => {
                        // After any error the session state is unknown: start a fresh one.
                        if let Some(mut broken) = conn.take() {
                            broken.abort().await;
                        }
                        Err(failure)
                    }
                    Err(_) => {
                        *conn = None;
                        Err(SendFailure::Temporary {
                            reply: format!("the SMTP server {peer} did not answer in time"),
                            source: None,
                        })
                    }
                }
            }
        }
    }

    /// How long opening a session took, once per session opened (for the metrics).
    pub fn take_connect_time(&mut self) -> Option<std::time::Duration> {
        match self {
            Sender::Smtp { connected_in, .. } => connected_in.take(),
            Sender::Outbox(_) => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(smtp_url: &str) -> crate::config::Settings {
        crate::config::Settings::from_env_for_tests(&[("MORNINGPOST_SMTP_URL", smtp_url)])
    }

    #[test]
    fn smtp_url_lists_the_relays_in_order_with_their_shares() {
        let t = Transport::named_by(&settings(
            "smtp://a.example?weight=3  smtp://b.example:2525?max_connections=2\tsmtps://c.example",
        ))
        .unwrap();
        let relays: Vec<(String, u32, Option<usize>)> = t
            .relays()
            .into_iter()
            .map(|(name, l)| (name, l.weight, l.max_connections))
            .collect();
        assert_eq!(
            relays,
            [
                ("a.example:25".to_owned(), 3, None),
                ("b.example:2525".to_owned(), 1, Some(2)),
                ("c.example:465".to_owned(), 1, None),
            ]
        );
        assert_eq!(
            t.describe(),
            "SMTP a.example:25, b.example:2525, c.example:465"
        );
    }

    #[test]
    fn a_bad_relay_is_named_by_its_place_and_no_password_is_shown() {
        let e = Transport::named_by(&settings(
            "smtp://u:hunter2@a.example smtp://u:hunter2@b.example?weight=0",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("relay 2 of 2") && e.contains("weight"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
