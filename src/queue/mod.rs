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

use std::time::Duration;

/// Non-resource database failures in a row after which the worker stops: a failing
/// statement that is not waiting for a disk or a connection will not pass by itself.
const MAX_OTHER_FAILURES: u32 = 20;

/// The longest pause between two tries of a failing database call.
const MAX_DATABASE_PAUSE: Duration = Duration::from_secs(5);

/// The worker's answer to its `failures`-th database failure in a row: how long to wait
/// before trying again, or `None` to stop. A resource fault (a full disk, a lost
/// connection, an unwritable file) is waited out however long it lasts, with a pause
/// growing to [`MAX_DATABASE_PAUSE`]; the warning says what the operator can do.
fn database_retry(what: &str, failures: u32, e: &crate::store::StoreError) -> Option<Duration> {
    if e.resource_fault().is_none() && failures > MAX_OTHER_FAILURES {
        return None;
    }
    let error = crate::report::Chain(e);
    match e.advice() {
        Some(advice) => {
            tracing::warn!(%error, "{what} failed: {advice}; retrying until it passes")
        }
        None => tracing::warn!(%error, "{what} failed; retrying"),
    }
    Some((Duration::from_millis(200) * failures.max(1)).min(MAX_DATABASE_PAUSE))
}
