//! `morningpost send`, `worker` and `status`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::watch;
use uuid::Uuid;

use super::stdout::outln;
use crate::clock::{now_ms, rfc3339};
use crate::config::Settings;
use crate::mail::transport::Transport;
use crate::queue::{StopWhen, Worker, WorkerReport};
use crate::send::{SendPlan, SendRequest, Stored, Verdict, WaitSummary};
use crate::store::{DueTimes, QueueCounts, Store};

pub async fn send(
    settings: &Settings,
    issue_file: &Path,
    request: &SendRequest,
    dry_run: bool,
    wait: bool,
) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::MustExist).await?;
    if dry_run {
        let prepared = crate::send::prepare(settings, &store, issue_file, request).await?;
        print_warnings(&prepared.plan);
        return dry_run_send(settings, &prepared.plan).await;
    }
    super::check_writable(&store).await?;
    super::installation_key(settings, &store).await?;
    let stop = if wait {
        StopWhen::MessageDone(Uuid::nil())
    } else {
        StopWhen::Never
    };
    send_issue(settings, &store, issue_file, request, stop).await
}

/// When the plan's deliveries come due, for people.
fn describe_due(settings: &Settings, due: &DueTimes) -> String {
    let zone = &settings.timezone;
    match due {
        DueTimes::At(t) if *t <= now_ms() => "now".to_owned(),
        DueTimes::At(t) => format!("at {}", zone.local_and_utc(*t)),
        DueTimes::Local {
            local_time,
            default,
            by_zone,
        } => {
            let last = by_zone.iter().map(|(_, t)| *t).fold(*default, i64::max);
            format!(
                "at {local_time} in each reader's time zone ({} zones; readers without one: {zone}): \
                 from {} to {}",
                by_zone.len(),
                rfc3339(due.first()),
                rfc3339(last)
            )
        }
    }
}

async fn dry_run_send(settings: &Settings, plan: &SendPlan) -> anyhow::Result<ExitCode> {
    outln!("dry run: nothing changed")?;
    outln!("  issue    {}: {:?}", plan.slug, plan.subject)?;
    outln!(
        "  stored   {}",
        match plan.stored {
            Stored::No => "no",
            Stored::Same(_) => "yes (sending again adds only new subscribers)",
            Stored::Changed(_) =>
                "yes, with different content (the stored version goes out; see the warning)",
        }
    )?;
    outln!(
        "  would queue {} new deliveries ({} active subscribers, {} of them already have this issue)",
        plan.new_deliveries,
        plan.active,
        plan.active - plan.new_deliveries
    )?;
    if plan.resume {
        outln!(
            "  would bring back {} deliveries the cancel stopped",
            plan.revived
        )?;
    }
    outln!("  due      {}", describe_due(settings, &plan.due))?;
    outln!(
        "  through  {}",
        Transport::named_by(settings).map_or_else(|e| e.to_string(), |t| t.describe())
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Stores and enqueues an issue file; with a stop condition other than `Never`, also works
/// the queue until that issue (`MessageDone`) or the whole queue (`QueueEmpty`) is done.
pub async fn send_issue(
    settings: &Settings,
    store: &Store,
    issue_file: &Path,
    request: &SendRequest,
    wait: StopWhen,
) -> anyhow::Result<ExitCode> {
    let prepared = crate::send::prepare(settings, store, issue_file, request).await?;
    print_warnings(&prepared.plan);
    // Check what the worker needs before anything is queued, so a bad key or URL loses nothing.
    let worker = match wait {
        StopWhen::Never => None,
        _ => Some(Worker::from_settings(settings, store)?),
    };
    let plan = prepared.plan.clone();
    let slug = plan.slug.as_str();
    let active = plan.active;
    let sent = crate::send::execute(store, prepared).await?;
    let (id, enqueued) = (sent.message_id, sent.enqueued);
    if sent.revived > 0 {
        outln!(
            "issue {slug}: {} deliveries stopped by the cancel are queued again",
            sent.revived
        )?;
    }
    if active == 0 {
        outln!("issue {slug}: there are no active subscribers; nothing to send")?;
    } else if enqueued > 0 {
        outln!("issue {slug}: queued {enqueued} deliveries ({active} active subscribers)")?;
    } else if sent.revived == 0 {
        outln!(
            "issue {slug} is already queued for every active subscriber ({active}): nothing new to send"
        )?;
    }
    if plan.due.first() > now_ms() {
        outln!(
            "issue {slug} is scheduled: due {}; `morningpost worker` (or `serve`) sends it then, \
             `morningpost status {slug}` shows what is due when",
            describe_due(settings, &plan.due)
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let (stop, worker) = match (wait, worker) {
        (StopWhen::MessageDone(_), Some(w)) => return wait_for_issue(w, id, slug).await,
        (StopWhen::QueueEmpty, Some(w)) => (StopWhen::QueueEmpty, w),
        _ => {
            if enqueued > 0 {
                outln!(
                    "run `morningpost worker` to send them; `morningpost status {slug}` shows progress"
                )?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let report = run_worker(worker.stopping_when(stop), Some(id)).await?;
    let counts = store.queue_counts(Some(id)).await?;
    outln!(
        "issue {slug}: {} sent, {} failed, {} cancelled, {} still queued ({} sent by this run)",
        counts.sent,
        counts.failed,
        counts.cancelled,
        counts.queued + counts.sending,
        report.sent
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `send --wait`: works the queue until the issue is settled (`send::settled`: nothing in
/// flight or due within `RETRY_HORIZON`), then reports; the exit status says how it ended.
async fn wait_for_issue(worker: Worker, id: Uuid, slug: &str) -> anyhow::Result<ExitCode> {
    let store = worker.store().clone();
    let stop = stop_when_settled(store.clone(), id, shutdown_on_signal());
    let report = run_worker_with(worker, Some(id), stop).await?;
    let summary = WaitSummary::read(&store, id).await?;
    let c = &summary.counts;
    let waiting = c.queued + c.sending;
    outln!(
        "issue {slug}: {} sent, {} failed, {} cancelled, {} paused, {waiting} waiting to retry ({} sent by this run)",
        c.sent,
        c.failed,
        c.cancelled,
        c.paused,
        report.sent
    )?;
    for g in &summary.failed {
        outln!(
            "  failed    {:>7}  {}",
            g.count,
            super::status::describe_group(g)
        )?;
    }
    for g in &summary.retrying {
        let next = g
            .next_attempt
            .map_or_else(String::new, |t| format!("  (next attempt {})", rfc3339(t)));
        outln!(
            "  retrying  {:>7}  {}{next}",
            g.count,
            super::status::describe_group(g)
        )?;
    }
    let verdict = summary.verdict();
    Ok(match verdict {
        Verdict::Held { hold, reason } => {
            outln!(
                "issue {slug} is {}: {reason}; `morningpost status {slug}` shows what is left",
                hold.as_str()
            )?;
            ExitCode::from(4)
        }
        Verdict::AllSent => ExitCode::SUCCESS,
        Verdict::Failures => {
            outln!("finished with failures; `morningpost status {slug}` shows them")?;
            ExitCode::from(2)
        }
        Verdict::StillToRetry => {
            outln!(
                "stopped waiting: {waiting} deliveries wait for a retry; `morningpost worker` (or `serve`) sends them, \
                 `morningpost status {slug}` shows progress"
            )?;
            ExitCode::from(3)
        }
    })
}

/// Turns true on a signal, or once the issue is settled.
fn stop_when_settled(
    store: Store,
    id: Uuid,
    mut signal: watch::Receiver<bool>,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            if *signal.borrow() {
                break;
            }
            match crate::send::settled(&store, id).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %crate::report::Chain(&e), "cannot check whether the issue is sent; checking again")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = signal.changed() => {}
            }
        }
        let _ = tx.send(true);
    });
    rx
}

/// The plan's warnings, the same for a dry run and a send.
fn print_warnings(plan: &SendPlan) {
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
}

pub async fn worker(
    settings: &Settings,
    until_done: bool,
    metrics_bind: Option<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown_on_signal();
    let Some(store) =
        super::open_store_waiting(settings, super::Open::MustExist, shutdown.clone()).await?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    super::check_writable(&store).await?;
    super::installation_key(settings, &store).await?;
    let stop = if until_done {
        StopWhen::QueueEmpty
    } else {
        StopWhen::Never
    };
    let worker = Worker::from_settings(settings, &store)?.stopping_when(stop);
    // The metrics endpoint stops with the worker (its own signal when the worker stops
    // by itself, as with --until-done).
    let (metrics_stop, metrics_task) = match metrics_bind {
        Some(addr) => {
            let listener = crate::http::bind(addr).await?;
            let endpoint = crate::http::MetricsEndpoint::new(settings, store.clone());
            outln!(
                "metrics at http://{}/metrics",
                listener.local_addr().unwrap_or(addr)
            )?;
            let (stop_tx, stop_rx) = watch::channel(false);
            let task = tokio::spawn(crate::http::serve(
                listener,
                endpoint.router(),
                stop_rx,
                crate::http::Limits::from_settings(settings),
            ));
            (Some(stop_tx), Some(task))
        }
        None => (None, None),
    };
    let report = run_worker_with(worker, None, shutdown).await;
    if let Some(stop) = metrics_stop {
        let _ = stop.send(true);
    }
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    let report = report?;
    outln!(
        "worker stopped: {} sent, {} to retry, {} failed, {} cancelled, {} handed back, {} waiting out a relay failure, {} slowed down by a relay",
        report.sent,
        report.retried,
        report.failed,
        report.cancelled,
        report.released,
        report.deferred,
        report.throttled
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Runs a worker with signal handling and, for one message, a progress display.
async fn run_worker(worker: Worker, progress_for: Option<Uuid>) -> anyhow::Result<WorkerReport> {
    run_worker_with(worker, progress_for, shutdown_on_signal()).await
}

/// Runs a worker until `shutdown` turns true (or its own stop condition holds).
async fn run_worker_with(
    worker: Worker,
    progress_for: Option<Uuid>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<WorkerReport> {
    let progress = progress_for
        .map(|id| tokio::spawn(show_progress(worker.store().clone(), id, shutdown.clone())));
    let report = worker
        .run(shutdown)
        .await
        .context("the worker stopped on a database error")?;
    if let Some(p) = progress {
        p.abort();
    }
    Ok(report)
}

/// Turns true on the first SIGINT or SIGTERM.
pub(crate) fn shutdown_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("stopping: finishing what is in flight, handing back the rest");
        let _ = tx.send(true);
    });
    rx
}

async fn show_progress(store: Store, id: Uuid, shutdown: watch::Receiver<bool>) {
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let bar = tty.then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} sent  {per_sec}  eta {eta}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut last_log = Instant::now();
    loop {
        let asked = Instant::now();
        let counts = store.queue_counts(Some(id)).await;
        // The counts are kept, a few rows to read (decision 41); should the database be slow
        // anyway, no more than a tenth of the time goes on them.
        let pause = (asked.elapsed() * 10).max(Duration::from_millis(500));
        if let Ok(c) = counts {
            let line = progress_line(&c, start.elapsed());
            match &bar {
                Some(bar) => {
                    bar.set_length(c.total().max(0) as u64);
                    bar.set_position((c.sent + c.failed + c.cancelled).max(0) as u64);
                    bar.set_message(format!("retrying {} failed {}", c.retrying, c.failed));
                }
                None if last_log.elapsed() >= Duration::from_secs(5) => {
                    tracing::info!("{line}");
                    last_log = Instant::now();
                }
                None => {}
            }
        }
        if *shutdown.borrow() {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

fn progress_line(c: &QueueCounts, elapsed: Duration) -> String {
    let done = c.sent + c.failed + c.cancelled;
    let rate = c.sent as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "{done}/{} done: {} sent ({rate:.0}/s), {} retrying, {} failed, {} in flight",
        c.total(),
        c.sent,
        c.retrying,
        c.failed,
        c.sending
    )
}
