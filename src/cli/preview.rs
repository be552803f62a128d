//! `morningpost render`: the three preview files of an issue.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::stdout::{StdoutError, outln};
use crate::config::Settings;
use crate::render::{RenderContext, render_issue};

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
    let rendered = std::sync::Arc::new(rendered);
    let message = crate::mail::IssueMessage::new(
        rendered.clone(),
        &settings.from,
        &settings.newsletter,
        &settings.urls(),
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
        why: crate::render::why::PREVIEW,
    };
    let unsubscribe_url = message.unsubscribe_url(token);
    let view_url = ctx.issue_url(&rendered.slug);
    let values = crate::render::SlotValues {
        unsubscribe_url: &unsubscribe_url,
        view_url: &view_url,
        recipient: PREVIEW_RECIPIENT,
        confirm_url: "",
        why: crate::render::why::PREVIEW,
    };
    let eml = message.build(&recipient, time::OffsetDateTime::now_utc())?;
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
