//! The command line: one subcommand per job an operator does.
// Output goes through `outln!`, which returns an error where `println!` panics (stdout.rs).
#![deny(clippy::print_stdout)]

mod csv_format;
mod delivery;
mod demo;
mod init;
mod preview;
mod serve;
pub(crate) mod stdout;
mod subscribers;
mod test_send;
mod unsubscribe_mail;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
pub use delivery::send_issue;
pub use preview::{PREVIEW_RECIPIENT, WrittenFile, print_files, write_preview};
pub use stdout::{StdoutError, is_closed_stdout};
pub use subscribers::new_subscriber;

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
    /// Manage subscribers.
    #[command(subcommand)]
    Subscribers(subscribers::SubscribersCommand),
    /// Render an issue, store it, and queue one delivery per active subscriber.
    Send {
        issue: PathBuf,
        /// Show what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Then send it: work the queue until no delivery of this issue is queued, in flight or
        /// due for a retry within a minute (later retries are left to `worker` or `serve`), and
        /// print a summary. Exit status: 0 every delivery sent; 2 finished, some failed;
        /// 3 some still wait for a retry (1 is any error).
        #[arg(long)]
        wait: bool,
        /// Send the issue now to these addresses only (they need not be subscribers), subject
        /// "[Test] …", with unsubscribe links that change nobody. Nothing is stored, queued or
        /// published; the database is not opened. Exit status 1 when some copies were not sent.
        #[arg(long, value_name = "ADDR", num_args = 1.., conflicts_with_all = ["dry_run", "wait"])]
        test: Vec<String>,
    },
    /// Send queued mail until stopped (SIGINT/SIGTERM finish what is in flight).
    Worker {
        /// Stop when nothing is queued or in flight any more.
        #[arg(long)]
        until_done: bool,
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
    },
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref()).context("invalid configuration")?;
    match cli.command {
        Command::Render { issue, out } => {
            let parsed = crate::issue::read_issue_file(&issue)?;
            let files = write_preview(&settings, &parsed, &out)?;
            print_files(&files)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init => runtime()?.block_on(init::run(&settings)),
        Command::Demo { dir } => runtime()?.block_on(demo::run(settings, &dir)),
        Command::Subscribers(cmd) => runtime()?.block_on(subscribers::run(&settings, cmd)),
        Command::Send { issue, test, .. } if !test.is_empty() => {
            runtime()?.block_on(test_send::run(&settings, &issue, &test))
        }
        Command::Send {
            issue,
            dry_run,
            wait,
            ..
        } => runtime()?.block_on(delivery::send(&settings, &issue, dry_run, wait)),
        Command::Worker { until_done } => {
            runtime()?.block_on(delivery::worker(&settings, until_done))
        }
        Command::Serve { no_worker } => runtime()?.block_on(serve::serve(&settings, no_worker)),
        Command::UnsubscribeMail { maildir, mbox } => runtime()?.block_on(unsubscribe_mail::run(
            &settings,
            maildir.as_deref(),
            mbox.as_deref(),
        )),
        Command::Status { issue } => {
            runtime()?.block_on(delivery::status(&settings, issue.as_deref()))
        }
    }
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

pub(crate) async fn open_store(
    settings: &Settings,
    open: Open,
) -> anyhow::Result<crate::store::Store> {
    let options = crate::store::StoreOptions {
        create_if_missing: open == Open::CreateIfMissing,
        ..settings.database.clone()
    };
    match crate::store::Store::connect_with(settings.database_url.expose(), &options).await {
        Ok(store) => Ok(store),
        Err(e @ crate::store::StoreError::Missing { .. }) => Err(anyhow::Error::new(e).context(
            "no database to work on: create it with `morningpost init` (or `subscribers import`), \
             or fix database_url (a relative sqlite path in a configuration file is read from \
             that file's folder)",
        )),
        Err(e) => Err(e.into()),
    }
}
