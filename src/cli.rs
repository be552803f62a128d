//! The command line: one subcommand per job an operator does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::render::{RenderContext, render_issue};

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
    /// Run the whole job on the embedded defaults: render the sample issue into ./demo-output.
    Demo {
        /// Where to write the demo's files.
        #[arg(long, default_value = "demo-output")]
        dir: PathBuf,
    },
    /// Render an issue file to issue.html, issue.txt and issue.eml for a preview.
    Render {
        /// The issue file (TOML front matter + Markdown).
        issue: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "preview")]
        out: PathBuf,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref()).context("invalid configuration")?;
    match cli.command {
        Command::Demo { dir } => crate::demo::run(&settings, &dir),
        Command::Render { issue, out } => {
            let parsed = crate::issue::read_issue_file(&issue)?;
            let files = write_preview(&settings, &parsed, &out)?;
            print_files(&files);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A written file and its size, for the operator.
pub struct WrittenFile {
    pub path: PathBuf,
    pub bytes: usize,
}

/// The sample recipient of a preview.
pub const PREVIEW_RECIPIENT: &str = "reader@example.com";

/// Renders an issue and writes the three preview files, slots filled for a sample recipient.
pub fn write_preview(
    settings: &Settings,
    issue: &crate::issue::Issue,
    out: &Path,
) -> anyhow::Result<Vec<WrittenFile>> {
    let ctx = RenderContext::from_settings(settings);
    let rendered = render_issue(issue, &ctx)?;
    for warning in &rendered.warnings {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    let message = crate::mail::IssueMessage::new(
        &rendered,
        &settings.from,
        &settings.newsletter,
        &settings.base_url,
    );
    let token = "preview-token";
    let message_id = crate::mail::message_id(
        rendered.slug.as_str(),
        uuid::Uuid::nil(),
        settings.from.email.domain(),
    );
    let recipient = crate::mail::Recipient {
        email: PREVIEW_RECIPIENT,
        name: Some("Sample Reader"),
        unsubscribe_token: token,
        message_id: &message_id,
    };
    let unsubscribe_url = message.unsubscribe_url(token);
    let view_url = ctx.issue_url(&rendered.slug);
    let values = crate::render::SlotValues {
        unsubscribe_url: &unsubscribe_url,
        view_url: &view_url,
        recipient: PREVIEW_RECIPIENT,
    };
    let eml = message.build(&recipient, time::OffsetDateTime::now_utc());
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    let files = [
        ("issue.html", rendered.html.fill_html(&values).into_bytes()),
        ("issue.txt", rendered.text.fill_text(&values).into_bytes()),
        ("issue.eml", eml),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = out.join(name);
        std::fs::write(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(WrittenFile {
            path,
            bytes: bytes.len(),
        });
    }
    Ok(written)
}

pub fn print_files(files: &[WrittenFile]) {
    for f in files {
        println!("{:>9}  {}", human_size(f.bytes), f.path.display());
    }
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
