//! Where mail goes: each relay of `smtp_url` (a session opened as a send opens it, and
//! closed), or the outbox folder (a file written and removed).

use super::{Check, TIMEOUT_CAP};
use crate::config::Settings;
use crate::mail::transport::{Security, SmtpTarget, Transport, TransportError};
use crate::report::Chain;

pub(super) async fn check(settings: &Settings, checks: &mut Vec<Check>) {
    // The transport a send builds: the URLs parsed, the CA file read, the outbox folder made.
    let transport = match Transport::from_settings(settings) {
        Ok(t) => t,
        Err(e) => {
            let (name, fix) = match &e {
                TransportError::Outbox { path, .. } => (
                    "outbox folder",
                    format!(
                        "make {} (or its parent) writable by the user morningpost runs as, or set \
                         outbox_dir",
                        path.display()
                    ),
                ),
                TransportError::CaFile { .. } => (
                    "relay",
                    "give smtp_ca_file the PEM certificate of the authority that signed the \
                     relay's certificate"
                        .to_owned(),
                ),
                TransportError::BadUrl(_) | TransportError::Tls { .. } => {
                    ("relay", "correct smtp_url".to_owned())
                }
            };
            checks.push(Check::fail(name, Chain(&e).to_string(), fix));
            return;
        }
    };
    match transport {
        Transport::Outbox(folder) => checks.push(match crate::mail::outbox::probe(folder.path()) {
            Ok(()) => Check::pass(
                "outbox folder",
                format!(
                    "{} takes files (no smtp_url: mail is written there)",
                    folder.path().display()
                ),
            ),
            Err(e) => Check::fail(
                "outbox folder",
                format!("cannot write to {}: {e}", folder.path().display()),
                format!(
                    "make {} writable by the user morningpost runs as (keep it 0700: it holds \
                     every reader's address), or set outbox_dir; or set smtp_url to send \
                     through a relay",
                    folder.path().display()
                ),
            ),
        }),
        Transport::Smtp(relays) => {
            for target in relays.iter() {
                checks.push(relay(target).await);
            }
        }
    }
}

async fn relay(target: &SmtpTarget) -> Check {
    let name = format!("relay {}", target.peer());
    let timeout = target.timeout.min(TIMEOUT_CAP);
    let session = match target.check_session(timeout).await {
        Ok(session) => session,
        Err(e) => {
            return Check::fail(
                name,
                Chain(&e).to_string(),
                format!(
                    "check that the relay runs and this host reaches {} (firewall, port), and \
                     smtp_url's host, port, tls= and login; a send would wait and retry",
                    target.peer()
                ),
            );
        }
    };
    let login = if session.authenticated {
        "logged in"
    } else {
        "no login configured"
    };
    let tls = match (target.security, session.encrypted) {
        (Security::Implicit, _) => "TLS",
        (_, true) => "STARTTLS",
        (Security::None, false) => "no TLS (tls=none)",
        (_, false) => "no TLS offered",
    };
    let detail = format!("EHLO answered by {}; {tls}; {login}", session.server);
    let local = matches!(target.host.as_str(), "localhost" | "127.0.0.1" | "::1");
    if target.security == Security::Opportunistic && !session.encrypted && !local {
        return Check::warn(
            name,
            detail,
            "the relay offers no STARTTLS, so mail (and a password) travels in clear text: \
             enable TLS on the relay, then require it with ?tls=starttls",
        );
    }
    Check::pass(name, detail)
}
