//! One SMTP session with the relay: connect, TLS, AUTH, then one transaction per message.
//! Each step is sent by us (not by lettre's `send`), so a failure is known by the command it
//! answered: a 5xx to MAIL FROM is the relay refusing us, a 5xx to RCPT TO this recipient.

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

use super::send_failure::{Cause, SendFailure, Stage};
use super::smtp_data::DataLines;
use super::smtp_target::{Security, SmtpTarget};

impl SmtpTarget {
    /// A session ready for MAIL FROM: greeted, encrypted as the URL asks, logged in.
    pub(super) async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let hello = ClientId::default();
        let peer = self.peer();
        let at = |stage| move |e| SendFailure::classify(e, stage, peer);
        let mut conn = if self.security == Security::Implicit {
            // lettre owns the socket here; implicit TLS is rare for bulk relays. Its errors
            // do not tell the TCP connection, the TLS handshake and the greeting apart.
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &hello,
                Some(self.tls.clone()),
                None,
            )
            .await
            .map_err(at(Stage::Connect))?
        } else {
            let io_err = |source: std::io::Error| SendFailure::Relay {
                reply: format!("cannot connect to {peer}"),
                source: Some(Box::new(source) as Cause),
            };
            let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(io_err)?;
            stream.set_nodelay(true).map_err(io_err)?;
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
                .await
                .map_err(at(Stage::Connect))?;
            let upgrade = match self.security {
                Security::StartTls => true,
                Security::Opportunistic => conn.can_starttls(),
                _ => false,
            };
            if upgrade {
                conn.starttls(self.tls.clone(), &hello)
                    .await
                    .map_err(at(Stage::Tls))?;
            }
            conn
        };
        if let Some((user, pass)) = &self.credentials {
            let creds = Credentials::new(user.clone(), pass.expose().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(at(Stage::Auth))?;
        }
        Ok(conn)
    }
}

/// What opening a session with a relay showed (`doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCheck {
    /// The name the relay gave in its EHLO reply.
    pub server: String,
    /// Whether the session was encrypted (implicit TLS or STARTTLS).
    pub encrypted: bool,
    /// Whether we logged in (the URL gives credentials).
    pub authenticated: bool,
}

impl SmtpTarget {
    /// Opens a session as a send does (connect, greeting, EHLO, STARTTLS as the URL asks,
    /// AUTH when it gives credentials) within `timeout`, then says QUIT: sends nothing.
    pub async fn check_session(
        &self,
        timeout: std::time::Duration,
    ) -> Result<SessionCheck, SendFailure> {
        let mut conn = tokio::time::timeout(timeout, self.connect())
            .await
            .map_err(|_| SendFailure::Relay {
                reply: format!(
                    "opening a session with {} took longer than {timeout:?}",
                    self.peer()
                ),
                source: None,
            })??;
        let check = SessionCheck {
            server: conn.server_info().name().to_owned(),
            encrypted: conn.is_encrypted(),
            authenticated: self.credentials.is_some(),
        };
        let _ = tokio::time::timeout(timeout, conn.quit()).await;
        Ok(check)
    }
}

/// MAIL FROM, RCPT TO, DATA and the message; `Ok` is the reply to its final dot.
pub(super) async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
    peer: &str,
) -> Result<Response, SendFailure> {
    let at = |stage| move |e| SendFailure::classify(e, stage, peer);
    let mut parameters = Vec::new();
    let needs = |extension: Extension| conn.server_info().supports_feature(extension);
    let non_ascii_address = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii_address {
        if !needs(Extension::SmtpUtfEight) {
            return Err(SendFailure::Permanent {
                reply: "not sent: the address is not ASCII and the relay does not offer SMTPUTF8"
                    .into(),
                no_such_user: false,
            });
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() {
        if !needs(Extension::EightBitMime) {
            return Err(SendFailure::Permanent {
                reply: "not sent: the message is not ASCII and the relay does not offer 8BITMIME"
                    .into(),
                no_such_user: false,
            });
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), parameters))
        .await
        .map_err(at(Stage::MailFrom))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(at(Stage::RcptTo))?;
    }
    conn.command(Data).await.map_err(at(Stage::Data))?;
    match DataLines::of(bytes) {
        // `command` writes its text as it is, then reads the reply: to the final dot, here.
        Some(lines) => conn.command(lines).await.map_err(at(Stage::Message)),
        None => conn.message(bytes).await.map_err(at(Stage::Message)),
    }
}
