//! The delivery queue: claim due rows under a lease, personalise and sign, send, record
//! the outcome (DESIGN.md decisions 2–5).

mod compose;
mod recorder;
pub mod retry;
mod worker;

pub use compose::{ComposeError, Composer};
pub use retry::RetryPolicy;
pub use worker::{StopWhen, Worker, WorkerOptions, WorkerReport};

/// Milliseconds since the Unix epoch: the unit of every stored time.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}
