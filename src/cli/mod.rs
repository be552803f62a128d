//! The command line: one subcommand per job an operator does.
// Output goes through `outln!`, which returns an error where `println!` panics (stdout.rs).
#![deny(clippy::print_stdout)]

mod bounce_ingest;
mod bounces;
mod control;
mod delivery;
mod demo;
mod dns;
mod doctor;
mod init;
mod issues;
mod preview;
mod progress;
mod serve;
mod set_zone;
mod signups;
mod status;
pub(crate) mod stdout;
mod subscriber_record;
mod subscribers;
mod test_send;
mod unsubscribe_mail;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::send::{SendRequest, Timing};
use crate::store::RetryScope;
pub use delivery::send_issue;
pub use preview::{WrittenFile, print_files, write_preview};
pub use stdout::{StdoutError, is_closed_stdout};

#[derive(Debug, Parser)]
#[command(
    name = "morningpost",
    version,
    about = "Render, queue and send an email newsletter"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: morningpost.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole job on the embedded defaults: render the sample issue, load sample
    /// subscribers and send it to them through the outbox folder, all inside ./demo-output.
    Demo {
        /// Where to write the demo's files.
        #[arg(long, default_value = "demo-output")]
        dir: PathBuf,
    },
    /// Create the database (SQLite) and apply the migrations; says where it is. Commands that
    /// only read the queue or the subscribers never create one.
    Init,
    /// Render an issue file to issue.html, issue.txt and issue.eml for a preview.
    Render {
        /// The issue file (TOML front matter + Markdown).
        issue: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "preview")]
        out: PathBuf,
    },
    /// Serve an issue on localhost as readers will see it (desktop and phone, light and dark,
    /// the text part, the warnings), rendered again each time the file is saved.
    Preview {
        /// The issue file (TOML front matter + Markdown).
        issue: PathBuf,
        /// Where the preview listens.
        #[arg(long, default_value = "127.0.0.1:8025", value_name = "ADDR:PORT")]
        bind: std::net::SocketAddr,
    },
    /// Manage subscribers.
    #[command(subcommand)]
    Subscribers(subscribers::SubscribersCommand),
    /// Sign-ups waiting for their confirmation mail: see the backlog, drop it.
    #[command(subcommand)]
    Signups(signups::SignupsCommand),
    /// Render an issue, store it, and queue one delivery per active subscriber: now, at a
    /// time (--at), or at a time of day in each reader's own zone (--local).
    Send {
        issue: PathBuf,
        /// Show what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Then send it: work the queue until no delivery of this issue is queued, in flight or
        /// due for a retry within a minute (later retries are left to `worker` or `serve`), and
        /// print a summary. Exit status: 0 every delivery sent; 2 finished, some failed;
        /// 3 some still wait for a retry; 4 the send is paused (by `pause`, or because the relay
        /// kept failing) or cancelled (1 is any error).
        #[arg(long, conflicts_with_all = ["at", "local"])]
        wait: bool,
        /// Send at this time: RFC 3339 (2026-11-29T07:00:00+01:00), or HH:MM for the next such
        /// time in the configured `timezone`. `worker` or `serve` sends it then; a schedule
        /// found more than `max_lateness_minutes` late is paused, not sent.
        #[arg(long, value_name = "WHEN", conflicts_with = "local")]
        at: Option<String>,
        /// Deliver at this time of day (HH:MM) in each subscriber's own time zone (the
        /// configured `timezone` for those without one): the send spans about a day.
        #[arg(long, value_name = "HH:MM")]
        local: Option<String>,
        /// After `cancel`: queue again what the cancel stopped (a plain send refuses).
        #[arg(long)]
        resume: bool,
        /// Send the issue now to these addresses only (they need not be subscribers), subject
        /// "[Test] …", with unsubscribe links that change nobody. Nothing is stored, queued or
        /// published; the database is not opened. Exit status 1 when some copies were not sent.
        #[arg(long, value_name = "ADDR", num_args = 1.., conflicts_with_all = ["dry_run", "wait", "at", "local", "resume"])]
        test: Vec<String>,
    },
    /// Pause an issue's send: every worker stops taking its deliveries within a second; sends
    /// in flight finish and are recorded.
    Pause { issue: String },
    /// Go on with a paused send (paused by `pause`, by a failing relay, or a late schedule).
    Resume { issue: String },
    /// Cancel an issue's send: what is not sent yet is not sent (`send --resume` undoes it).
    Cancel { issue: String },
    /// Queue again an issue's deliveries that failed or wait for a retry, after the cause is
    /// fixed; only to subscribers still active.
    Retry {
        issue: String,
        /// Only deliveries that failed for good (default: those and the ones waiting for a
        /// retry, which become due now).
        #[arg(long)]
        failed: bool,
        /// Only those whose last attempt was at or after this time (RFC 3339).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
    },
    /// Show an issue in the web archive again (it is published when its send starts).
    Publish { issue: String },
    /// Take an issue off the web archive.
    Unpublish { issue: String },
    /// List stored issues: date, slug, state (scheduled, sending, paused, done, cancelled)
    /// and counts.
    Issues,
    /// Print the DNS records receivers look for (DKIM key, SPF, DMARC), from the
    /// configuration and the DKIM key; `--check` compares them with what DNS answers.
    Dns {
        /// Look each record up and say what differs (exit status 1 when one is missing or
        /// differs).
        #[arg(long)]
        check: bool,
        /// Ask this DNS server (IP:PORT, e.g. your zone's authoritative server) instead of the
        /// system's resolvers.
        #[arg(long, value_name = "IP:PORT", requires = "check")]
        nameserver: Option<std::net::SocketAddr>,
        /// Where DMARC aggregate reports go (default: dmarc-reports@ the From domain).
        #[arg(long, value_name = "ADDRESS")]
        rua: Option<String>,
    },
    /// Check what a send needs: the database (reachable, migrations current, writable, free
    /// space), the secret key (the one the database was used with), each relay (EHLO,
    /// STARTTLS, AUTH) or the outbox folder, the DKIM key. One line each, with a fix. Exit
    /// status 0 when nothing failed (warnings allowed), 1 when something failed.
    Doctor,
    /// Send queued mail until stopped (SIGINT/SIGTERM finish what is in flight).
    Worker {
        /// Stop when nothing is queued or in flight any more.
        #[arg(long)]
        until_done: bool,
        /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
        #[arg(long, value_name = "ADDR")]
        metrics_bind: Option<std::net::SocketAddr>,
    },
    /// Serve the subscribe, confirm, unsubscribe and archive pages on MORNINGPOST_BIND, and
    /// send queued mail in the same process.
    Serve {
        /// Serve HTTP only; run `morningpost worker` elsewhere.
        #[arg(long)]
        no_worker: bool,
    },
    /// Unsubscribe the senders of `unsubscribe TOKEN` mails (the mailto: of List-Unsubscribe)
    /// from a maildir (new/ is processed and moved to cur/) or an mbox file.
    UnsubscribeMail {
        /// A maildir folder (with new/ and cur/).
        #[arg(long, conflicts_with = "mbox", required_unless_present = "mbox")]
        maildir: Option<PathBuf>,
        /// An mbox file (read, not changed).
        #[arg(long)]
        mbox: Option<PathBuf>,
    },
    /// Queue counts, send rate and the most frequent failures, for all mail or one issue.
    Status {
        /// An issue's slug, e.g. 2026-11-27.
        issue: Option<String>,
        /// The same facts as one JSON object, for scripts.
        #[arg(long, conflicts_with = "watch")]
        json: bool,
        /// Show it again every two seconds, in place, until Ctrl-C.
        #[arg(long)]
        watch: bool,
    },
    /// Bounce and complaint reports mailed back to the envelope sender.
    #[command(subcommand)]
    Bounces(bounces::BouncesCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref()).context("invalid configuration")?;
    crate::logging::use_format(settings.log_format);
    match cli.command {
        Command::Render { issue, out } => {
            let parsed = crate::issue::read_issue_file(&issue)?;
            let files = write_preview(&settings, &parsed, &out)?;
            print_files(&files)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview { issue, bind } => {
            runtime()?.block_on(crate::preview::serve(settings, issue.clone(), bind, |addr| {
                eprintln!(
                    "previewing {} at http://{addr}/ (rendered again on every save; Ctrl-C to stop)",
                    issue.display()
                );
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init => runtime()?.block_on(init::run(&settings)),
        Command::Demo { dir } => runtime()?.block_on(demo::run(settings, &dir)),
        Command::Subscribers(cmd) => runtime()?.block_on(subscribers::run(&settings, cmd)),
        Command::Signups(cmd) => runtime()?.block_on(signups::run(&settings, cmd)),
        Command::Send { issue, test, .. } if !test.is_empty() => {
            runtime()?.block_on(test_send::run(&settings, &issue, &test))
        }
        Command::Send {
            issue,
            dry_run,
            wait,
            at,
            local,
            resume,
            test: _,
        } => {
            let request = SendRequest {
                timing: timing(at.as_deref(), local.as_deref())?,
                resume,
            };
            runtime()?.block_on(delivery::send(&settings, &issue, &request, dry_run, wait))
        }
        Command::Pause { issue } => control_run(&settings, &issue, control::Action::Pause),
        Command::Resume { issue } => control_run(&settings, &issue, control::Action::Resume),
        Command::Cancel { issue } => control_run(&settings, &issue, control::Action::Cancel),
        Command::Publish { issue } => control_run(&settings, &issue, control::Action::Publish),
        Command::Unpublish { issue } => control_run(&settings, &issue, control::Action::Unpublish),
        Command::Retry {
            issue,
            failed,
            since,
        } => {
            let since = since
                .map(|s| {
                    s.trim()
                        .parse::<jiff::Timestamp>()
                        .map(|t| t.as_millisecond())
                        .with_context(|| format!("--since {s:?} is not an RFC 3339 time"))
                })
                .transpose()?;
            let scope = RetryScope {
                failed: true,
                waiting: !failed,
                since,
            };
            control_run(&settings, &issue, control::Action::Retry(scope))
        }
        Command::Issues => runtime()?.block_on(issues::list(&settings)),
        Command::Doctor => runtime()?.block_on(doctor::run(&settings)),
        Command::Worker {
            until_done,
            metrics_bind,
        } => runtime()?.block_on(delivery::worker(&settings, until_done, metrics_bind)),
        Command::Serve { no_worker } => runtime()?.block_on(serve::serve(&settings, no_worker)),
        Command::UnsubscribeMail { maildir, mbox } => runtime()?.block_on(unsubscribe_mail::run(
            &settings,
            maildir.as_deref(),
            mbox.as_deref(),
        )),
        Command::Status {
            issue, json: true, ..
        } => runtime()?.block_on(status::status_json(&settings, issue.as_deref())),
        Command::Status {
            issue, watch: true, ..
        } => runtime()?.block_on(status::watch(&settings, issue.as_deref())),
        Command::Status { issue, .. } => {
            runtime()?.block_on(status::status(&settings, issue.as_deref()))
        }
        Command::Bounces(cmd) => bounces::run(&settings, cmd),
        Command::Dns {
            check,
            nameserver,
            rua,
        } => runtime()?.block_on(dns::run(&settings, check, nameserver, rua.as_deref())),
    }
}

fn control_run(
    settings: &Settings,
    issue: &str,
    action: control::Action,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(control::run(settings, issue, action))
}

/// `--at` and `--local`, read at the edge.
fn timing(at: Option<&str>, local: Option<&str>) -> anyhow::Result<Timing> {
    Ok(match (at, local) {
        (Some(when), _) => Timing::at(when, crate::clock::now_ms()).context("bad --at")?,
        (None, Some(time)) => Timing::readers_local(time).context("bad --local")?,
        (None, None) => Timing::Now,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Whether a command may create a missing SQLite database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// `init`, `demo`, `serve`, `subscribers add|import`: the first step of a new list.
    CreateIfMissing,
    /// Commands that read the queue or the subscribers: a missing file means a wrong path.
    MustExist,
}

/// For the commands that write (`send`, `worker`, `serve`, `subscribers add|import`), before
/// they start: a database that cannot be written (its filesystem read-only, a file this
/// user may not write) fails them at once with what to do, instead of a server answering
/// 503 to every sign-up or a send that renders the issue first. A busy or full database is
/// left to the command's own writes, which wait it out (docs/architecture.md decision 37).
pub(crate) async fn check_writable(store: &crate::store::Store) -> anyhow::Result<()> {
    match store.check_writable().await {
        Err(e) if e.resource_fault() == Some(crate::store::ResourceFault::Unwritable) => {
            Err(anyhow::Error::new(e).context("the database cannot be written"))
        }
        Err(e) => {
            tracing::debug!(error = %crate::report::Chain(&e), "the write probe failed");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// The secret key, its fingerprint recorded for the database the first time a command
/// that makes links or keyed hashes under it opens the database (docs/architecture.md
/// decision 38). A key other than the recorded one is said, and `doctor` says what to do.
pub(crate) async fn installation_key(
    settings: &Settings,
    store: &crate::store::Store,
) -> anyhow::Result<crate::domain::TokenKey> {
    let key = settings.token_key()?;
    let record = store
        .record_key_fingerprint(&key, crate::clock::now_ms())
        .await?;
    if let crate::store::KeyRecord::Differs { recorded } = record {
        tracing::warn!(
            "the secret key (fingerprint {}) differs from the one this database was used with \
             ({recorded}): links in mail already sent and existing readers' unsubscribe links \
             do not work under it; see `morningpost doctor`",
            key.fingerprint()
        );
    }
    Ok(key)
}

pub(crate) async fn open_store(
    settings: &Settings,
    open: Open,
) -> anyhow::Result<crate::store::Store> {
    let result = crate::store::Store::connect_with(
        settings.database_url.expose(),
        &store_options(settings, open),
    )
    .await;
    explain_open(result)
}

/// For `worker` and `serve`: waits for a PostgreSQL server that is not up yet
/// ([`crate::store::Store::connect_waiting`]); `None` when a signal came first.
pub(crate) async fn open_store_waiting(
    settings: &Settings,
    open: Open,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<crate::store::Store>> {
    let result = crate::store::Store::connect_waiting(
        settings.database_url.expose(),
        &store_options(settings, open),
        stop,
    )
    .await;
    match result {
        Ok(Some(store)) => Ok(Some(store)),
        Ok(None) => Ok(None),
        Err(e) => explain_open(Err(e)).map(Some),
    }
}

fn store_options(settings: &Settings, open: Open) -> crate::store::StoreOptions {
    crate::store::StoreOptions {
        create_if_missing: open == Open::CreateIfMissing,
        ..settings.database.clone()
    }
}

fn explain_open(
    result: Result<crate::store::Store, crate::store::StoreError>,
) -> anyhow::Result<crate::store::Store> {
    match result {
        Ok(store) => Ok(store),
        Err(e @ crate::store::StoreError::Missing { .. }) => Err(anyhow::Error::new(e).context(
            "no database to work on: create it with `morningpost init` (or `subscribers import`), \
             or fix database_url (a relative sqlite path in a configuration file is read from \
             that file's folder)",
        )),
        Err(e) => Err(e.into()),
    }
}
