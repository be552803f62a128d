//! `morningpost serve`: the HTTP endpoint and, unless `--no-worker`, a queue worker in the
//! same process. SIGINT/SIGTERM stop both gracefully.

use std::process::ExitCode;

use anyhow::Context;

use super::delivery::{WorkerParts, shutdown_on_signal};
use super::stdout::outln;
use crate::config::Settings;
use crate::http::{AppState, bind, router, serve as serve_http};
use crate::queue::StopWhen;

pub async fn serve(settings: &Settings, no_worker: bool) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings).await?;
    let key = settings.token_key()?;
    let worker = if no_worker {
        None
    } else {
        Some(WorkerParts::from_settings(settings, &store)?)
    };
    let state = AppState::new(settings, store, key).await?;
    let listener = bind(settings.bind).await?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    outln!("serving http://{addr} (public base {})", settings.base_url)?;
    let shutdown = shutdown_on_signal();
    let worker_task = worker.map(|parts| {
        let settings = settings.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            parts
                .run_until(&settings, StopWhen::Never, None, shutdown)
                .await
        })
    });
    serve_http(listener, router(state), shutdown).await?;
    if let Some(task) = worker_task {
        let report = task.await.context("the worker task failed")??;
        outln!(
            "worker stopped: {} sent, {} handed back",
            report.sent,
            report.released
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
