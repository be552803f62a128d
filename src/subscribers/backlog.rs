//! The sign-ups waiting for their confirmation mail, as an operator sees and clears them
//! (`morningpost signups`; docs/architecture.md decision 36).

use std::time::Duration;

use crate::clock::{millis, now_ms};
use crate::store::{ConfirmationBacklog, PurgeReport, Store, StoreError};

/// The backlog now: waiting mail, pending sign-ups, the budget as a worker last saw it.
pub async fn backlog(store: &Store) -> Result<ConfirmationBacklog, StoreError> {
    store.confirmation_backlog(now_ms()).await
}

/// Drops the waiting confirmation mail of sign-ups made more than `age` ago, and the
/// unconfirmed sign-ups among them that have nothing else on record.
pub async fn purge_pending(store: &Store, age: Duration) -> Result<PurgeReport, StoreError> {
    store.purge_pending(now_ms() - millis(age)).await
}
