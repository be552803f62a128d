//! `morningpost send ISSUE --test ADDR…`: prints what `send::send_test_copies` did, one line
//! per address with the relay's reply.

use std::path::Path;
use std::process::ExitCode;

use super::stdout::outln;
use crate::config::Settings;

pub async fn run(
    settings: &Settings,
    issue_file: &Path,
    addresses: &[String],
) -> anyhow::Result<ExitCode> {
    let report = crate::send::send_test_copies(settings, issue_file, addresses).await?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    outln!(
        "test copies of issue {} ({:?}) through {}:",
        report.slug,
        report.subject,
        report.through
    )?;
    for copy in &report.copies {
        match &copy.result {
            Ok(reply) => outln!("  sent      {}  {reply}", copy.address)?,
            Err(reply) => outln!("  NOT SENT  {}  {reply}", copy.address)?,
        }
    }
    outln!("nothing was stored, queued or published; their unsubscribe links change nobody")?;
    let failed: Vec<String> = report.failed().map(|c| c.address.to_string()).collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{} of {} test copies were not sent ({}): see the replies above",
        failed.len(),
        report.copies.len(),
        failed.join(", ")
    );
    Ok(ExitCode::FAILURE)
}
