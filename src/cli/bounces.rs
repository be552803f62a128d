//! `morningpost bounces …`: bounce and complaint reports. `explain` prints what ingest would
//! record for each file, without opening the database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::bounce_ingest::Source;
use super::stdout::outln;
use crate::bounce::{self, ExplainLine};
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum BouncesCommand {
    /// Read delivery reports and complaints that came back to the bounce address, and record
    /// them: hard bounces and complaints stop mail to the reader at once, soft bounces after
    /// a streak, refusals are counted. Each report is recorded once. Exit status 2 when
    /// maildir entries were skipped; from stdin, 75 (EX_TEMPFAIL) on a database error.
    Ingest {
        /// A maildir (new/ is processed and moved to cur/).
        #[arg(long, conflicts_with_all = ["mbox", "stdin"], required_unless_present_any = ["mbox", "stdin"])]
        maildir: Option<PathBuf>,
        /// An mbox file (read, not changed).
        #[arg(long, conflicts_with = "stdin")]
        mbox: Option<PathBuf>,
        /// `-`: one message on stdin (Postfix's pipe(8), a .forward).
        #[arg(value_name = "-", value_parser = clap::builder::PossibleValuesParser::new(["-"]))]
        stdin: Option<String>,
    },
    /// Print what ingest would record for each message file (.eml): its kind, each failed
    /// recipient with the status, reply code, diagnostic and class. Touches no database.
    /// Exit status 1 when a file cannot be read (the others are still explained).
    Explain {
        /// Message files, one message each.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line per recipient: file, kind, recipient, status,
        /// reply_code, diagnostic, class, feedback_type.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: &Settings, cmd: BouncesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BouncesCommand::Explain { files, json } => explain(&files, json),
        BouncesCommand::Ingest {
            maildir,
            mbox,
            stdin,
        } => {
            let source = match (&maildir, &mbox, stdin) {
                (Some(dir), _, _) => Source::Maildir(dir),
                (None, Some(file), _) => Source::Mbox(file),
                (None, None, _) => Source::Stdin,
            };
            super::runtime()?.block_on(super::bounce_ingest::run(settings, source))
        }
    }
}

fn explain(files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut unreadable = 0usize;
    for file in files {
        let name = file.display().to_string();
        let raw = match crate::mailbox::read_capped(file) {
            Ok(raw) => raw,
            Err(error) => {
                eprintln!("error: cannot read {name}: {error}; skipped");
                unreadable += 1;
                continue;
            }
        };
        for line in bounce::parse(&raw).explain_lines(&name) {
            if json {
                outln!("{}", serde_json::to_string(&line)?)?;
            } else {
                outln!("{}", readable(&line))?;
            }
        }
    }
    Ok(if unreadable == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads at most what the parser looks at, so a huge file costs no more memory than that.
/// `FILE: kind class recipient status reply — diagnostic`, dashes for what is missing.
fn readable(line: &ExplainLine) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut out = format!(
        "{}: {} {} {} status {} reply {}",
        line.file,
        line.kind,
        line.class,
        dash(&line.recipient),
        dash(&line.status),
        dash(&line.reply_code),
    );
    if let Some(feedback) = &line.feedback_type {
        out.push_str(&format!(" feedback {feedback}"));
    }
    if let Some(diagnostic) = &line.diagnostic {
        out.push_str(&format!(" — {diagnostic}"));
    }
    out
}
