//! `morningpost serve`: the HTTP endpoint and, unless `--no-worker`, a queue worker in the
//! same process. SIGINT/SIGTERM stop both gracefully (HTTP requests in progress get until
//! `http_shutdown_timeout_seconds`).

use std::process::ExitCode;

use anyhow::Context;

use super::delivery::shutdown_on_signal;
use super::stdout::outln;
use crate::config::Settings;
use crate::http::{AppState, Limits, bind};
use crate::queue::Worker;

pub async fn serve(settings: &Settings, no_worker: bool) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown_on_signal();
    let Some(store) =
        super::open_store_waiting(settings, super::Open::CreateIfMissing, shutdown.clone()).await?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    super::check_writable(&store).await?;
    let key = super::installation_key(settings, &store).await?;
    let worker = if no_worker {
        None
    } else {
        Some(Worker::from_settings(settings, &store)?)
    };
    let state = AppState::new(settings, store, key).await?;
    let listener = bind(settings.bind).await?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    outln!("serving http://{addr} (public base {})", settings.base_url)?;
    let report = crate::serve::run(
        listener,
        state,
        Limits::from_settings(settings),
        worker,
        shutdown,
    )
    .await?;
    if let Some(report) = report {
        outln!(
            "worker stopped: {} sent, {} handed back",
            report.sent,
            report.released
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
