//! A worker built from the settings. The transport, the DKIM key and the secret key are
//! loaded and checked here, so a front end can build the worker before it queues anything:
//! a bad key or URL then loses nothing.

use std::time::Duration;

use super::{Composer, CopyWriter, RetryPolicy, StopWhen, Worker, WorkerOptions};
use crate::config::{SecretKeyError, Settings};
use crate::mail::dkim::DkimError;
use crate::mail::transport::{Transport, TransportError};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Dkim(#[from] DkimError),
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
}

/// Said when mail goes out over SMTP with no DKIM key configured (by the worker at start,
/// and by `doctor`), and what to do about it.
pub const UNSIGNED_MAIL: &str = "mail goes out over SMTP without a DKIM signature: Gmail and Yahoo \
     refuse or file away unsigned bulk mail";
pub const UNSIGNED_MAIL_FIX: &str = "set dkim_key_file and dkim_selector (deploy/README.md, DKIM)";

impl Worker {
    /// The worker the settings describe, running until stopped (see [`Worker::stopping_when`]).
    pub fn from_settings(settings: &Settings, store: &Store) -> Result<Self, SetupError> {
        let transport = Transport::from_settings(settings)?;
        if settings.smtp_url.is_some() && settings.dkim.is_none() {
            tracing::warn!("{UNSIGNED_MAIL}; {UNSIGNED_MAIL_FIX}");
        }
        let composer = Composer::new(store.clone(), CopyWriter::from_settings(settings)?);
        let d = &settings.delivery;
        let options = WorkerOptions {
            concurrency: d.concurrency,
            batch_size: d.batch_size,
            lease: d.lease,
            rate_per_second: d.rate_per_second,
            retry: RetryPolicy::from_settings(d),
            stop: StopWhen::Never,
            idle_poll: Duration::from_millis(250),
            send_budget: d.send_budget(),
            relay_failures_before_pause: d.relay_failures_before_pause,
            max_lateness: d.max_lateness,
            confirmation_mail_per_hour: d.confirmation_mail_per_hour,
        };
        Ok(Worker::new(store.clone(), transport, composer, options))
    }
}
