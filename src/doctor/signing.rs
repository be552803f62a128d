//! The DKIM key: configured, readable, a key that signs (loaded as the worker loads it).

use super::Check;
use crate::config::Settings;
use crate::mail::dkim::{Dkim, DkimError};
use crate::report::Chain;

const NAME: &str = "DKIM key";

pub(super) fn check(settings: &Settings) -> Check {
    match Dkim::from_settings(settings) {
        Ok(Some(dkim)) => {
            let (file, selector) = settings
                .dkim
                .as_ref()
                .map(|d| (d.key_file.display().to_string(), d.selector.as_str()))
                .unwrap_or_default();
            Check::pass(
                NAME,
                format!(
                    "{file} signs ({}, selector {selector}; `morningpost dns --check` compares it \
                     with DNS)",
                    dkim.algorithm
                ),
            )
        }
        Ok(None) if settings.smtp_url.is_some() => Check::warn(
            NAME,
            crate::queue::UNSIGNED_MAIL,
            crate::queue::UNSIGNED_MAIL_FIX,
        ),
        Ok(None) => Check::skip(NAME, "none configured (mail goes to the outbox folder)"),
        Err(e) => {
            let fix = match &e {
                DkimError::Read { path, .. } => format!(
                    "make {} readable by the user morningpost runs as (mode 0600, owned by that \
                     user), or correct dkim_key_file",
                    path.display()
                ),
                DkimError::BadKey { path, .. } => format!(
                    "put the PEM private key whose public half is in DNS in {} (a new one: \
                     `openssl genpkey -algorithm ed25519 -out FILE`, then publish it: \
                     `morningpost dns`)",
                    path.display()
                ),
                DkimError::Sign(_) => "check dkim_key_file".to_owned(),
            };
            Check::fail(NAME, Chain(&e).to_string(), fix)
        }
    }
}
