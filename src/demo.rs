//! `morningpost demo`: the main job on the embedded defaults, no server to install.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Settings;

/// The sample issue ships inside the binary, so the demo works from any folder.
pub const SAMPLE_ISSUE: &str = include_str!("../examples/issues/2026-11-27.md");

pub fn run(settings: &Settings, dir: &Path) -> anyhow::Result<ExitCode> {
    let issue =
        crate::issue::parse_issue("examples/issues/2026-11-27.md", SAMPLE_ISSUE.as_bytes())?;
    println!(
        "Rendering the sample issue \"{}\" ({})",
        issue.title, issue.slug
    );
    let files = crate::cli::write_preview(settings, &issue, dir)?;
    crate::cli::print_files(&files);
    if let Some(html) = files.first() {
        let abs = std::fs::canonicalize(&html.path).unwrap_or_else(|_| html.path.clone());
        println!();
        println!("Open the email in a browser:  file://{}", abs.display());
        println!(
            "Read the plain-text twin:     less {}",
            dir.join("issue.txt").display()
        );
        println!(
            "Open the message in a mail client (Thunderbird, Apple Mail): {}",
            dir.join("issue.eml").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
