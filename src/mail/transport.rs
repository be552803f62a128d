//! Where messages go (docs/architecture.md decision 11): SMTP, or an outbox folder of `.eml` files.
//!
//! For SMTP each in-flight slot owns one lettre client connection over a socket with
//! TCP_NODELAY (lettre's own pool stalls ~40 ms a message on Nagle + delayed ACK, and sends
//! a NOOP before each reuse). A connection that errs is dropped and made anew.

use std::path::PathBuf;
use std::sync::Arc;

use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;

use super::send_failure::{Cause, one_line};
pub use super::send_failure::{SendFailure, Stage};
pub use super::smtp_target::{CaProblem, Security, SmtpTarget};

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
                settings.delivery.connect_timeout(),
                settings.delivery.transaction_timeout(),
            )?)),
            None => Transport::Outbox(settings.outbox_dir.clone()),
        })
    }

    /// The transport the settings name, ready to send: reads the CA file, or creates the
    /// outbox folder (0700: the messages hold every reader's address).
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, TransportError> {
        let transport = Self::named_by(settings)?;
        match (transport, &settings.smtp_ca_file) {
            (Transport::Smtp(target), Some(ca_file)) => {
                let mut target = Arc::unwrap_or_clone(target);
                target.trust_ca_file(ca_file)?;
                Ok(Transport::Smtp(Arc::new(target)))
            }
            (Transport::Outbox(dir), _) => {
                super::outbox::create_folder(&dir).map_err(|source| TransportError::Outbox {
                    path: dir.clone(),
                    source,
                })?;
                Ok(Transport::Outbox(dir))
            }
            (transport, None) => Ok(transport),
        }
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
            // A folder that cannot be written to fails every message alike: a relay problem.
            Sender::Outbox(dir) => {
                super::outbox::write(dir, message_id, bytes)
                    .await
                    .map_err(|source| SendFailure::Relay {
                        reply: format!("cannot write to the outbox folder {}", dir.display()),
                        source: Some(Box::new(source) as Cause),
                    })
            }
            Sender::Smtp { target, conn } => {
                let timeout = target.timeout;
                let peer = target.peer();
                let c = match conn {
                    Some(c) if !c.has_broken() => c,
                    _ => {
                        let fresh = tokio::time::timeout(timeout, target.connect())
                            .await
                            .map_err(|_| SendFailure::Relay {
                                reply: format!("connecting to {peer} timed out after {timeout:?}"),
                                source: None,
                            })??;
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

    /// Closes an SMTP session politely.
    pub async fn close(&mut self) {
        if let Sender::Smtp { conn, .. } = self
            && let Some(mut c) = conn.take()
        {
            let _ = c.quit().await;
        }
    }
}
