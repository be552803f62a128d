//! One process serving readers and sending mail: the HTTP endpoint and, optionally, a queue
//! worker, stopped together. `morningpost serve` runs it; so do the in-process tests.

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http::{AppState, Limits, router, serve as serve_http};
use crate::queue::{Worker, WorkerReport};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the worker stopped on a database error")]
    Worker(#[source] StoreError),
    #[error("the worker task failed")]
    WorkerTask(#[source] tokio::task::JoinError),
}

/// Serves until `shutdown` turns true; the worker, if any, stops on the same signal and
/// finishes what it has in flight. Returns the worker's report.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    worker: Option<Worker>,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<WorkerReport>, RunError> {
    let worker_task = worker.map(|w| tokio::spawn(w.run(shutdown.clone())));
    serve_http(listener, router(state), shutdown, limits).await;
    match worker_task {
        None => Ok(None),
        Some(task) => Ok(Some(
            task.await
                .map_err(RunError::WorkerTask)?
                .map_err(RunError::Worker)?,
        )),
    }
}
