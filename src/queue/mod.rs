//! The delivery queue: claim due rows under a lease, personalise and sign, send, record
//! the outcome (docs/architecture.md decisions 2–5).

mod compose;
mod copy_writer;
mod held;
mod pace;
mod recorder;
mod relay_health;
mod relays;
pub mod retry;
mod setup;
mod share;
mod worker;

pub use compose::{ComposeError, Composer};
pub use copy_writer::{Composed, CopyWriter, TEST_SUBJECT_PREFIX, TestIssue};
pub use retry::RetryPolicy;
pub use setup::{SetupError, UNSIGNED_MAIL, UNSIGNED_MAIL_FIX};
pub use worker::{StopWhen, Worker, WorkerOptions, WorkerReport};

/// A database failure the worker will retry, logged with what the operator can do about it
/// when it is a resource problem (a full disk, an unwritable file).
fn warn_retrying(what: &str, e: &crate::store::StoreError) {
    let error = crate::report::Chain(e);
    match e.advice() {
        Some(advice) => tracing::warn!(%error, "{what} failed: {advice}; retrying"),
        None => tracing::warn!(%error, "{what} failed; retrying"),
    }
}
