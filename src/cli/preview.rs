//! `morningpost render`: the three preview files of an issue.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::stdout::{StdoutError, outln};
use crate::config::Settings;
use crate::preview::Sample;

/// A written file and its size, for the operator.
pub struct WrittenFile {
    pub path: PathBuf,
    pub bytes: usize,
}

/// Renders an issue and writes the three preview files, slots filled for a sample recipient.
pub fn write_preview(
    settings: &Settings,
    issue: &crate::issue::Issue,
    out: &Path,
) -> anyhow::Result<Vec<WrittenFile>> {
    let sample = Sample::render(settings, issue)?;
    for warning in &sample.warnings {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    let files = [
        ("issue.html", sample.html.into_bytes()),
        ("issue.txt", sample.text.into_bytes()),
        ("issue.eml", sample.eml),
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

pub fn print_files(files: &[WrittenFile]) -> Result<(), StdoutError> {
    for f in files {
        outln!("{:>9}  {}", human_size(f.bytes), f.path.display())?;
    }
    Ok(())
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
