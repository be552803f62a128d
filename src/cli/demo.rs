//! `morningpost demo`: the main job on the embedded defaults, no server to install. Renders
//! the sample issue, loads sample subscribers into a fresh SQLite database and sends the
//! issue to them through the outbox folder, all inside one folder.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::stdout::outln;
use crate::config::Settings;
use crate::domain::{SubscriberEmail, SubscriberName};
use crate::queue::StopWhen;
use crate::store::Store;

/// The sample issue ships inside the binary, so the demo works from any folder.
pub const SAMPLE_ISSUE: &str = include_str!("../../examples/issues/2026-11-27.md");

const SAMPLE_SUBSCRIBERS: &[(&str, &str)] = &[
    ("ada@example.com", "Ada Lovelace"),
    ("grace@example.org", "Grace Hopper"),
    ("alan@example.net", "Alan Turing"),
    ("katherine@example.com", "Katherine Johnson"),
    ("edsger@example.org", ""),
];

pub async fn run(mut settings: Settings, dir: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // A fresh run each time: the demo's own database, key and outbox, nothing else.
    for name in ["demo.db", "demo.db-wal", "demo.db-shm"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let _ = std::fs::remove_dir_all(dir.join("outbox"));
    settings.database_url =
        crate::secret::Secret::new(format!("sqlite://{}", dir.join("demo.db").display()));
    settings.outbox_dir = dir.join("outbox");
    settings.secret_key_file = dir.join("demo.key");
    settings.smtp_url = None;
    settings.dkim = None;

    let issue =
        crate::issue::parse_issue("examples/issues/2026-11-27.md", SAMPLE_ISSUE.as_bytes())?;
    outln!(
        "1. Rendered the sample issue \"{}\" ({}):",
        issue.title,
        issue.slug
    )?;
    let files = super::write_preview(&settings, &issue, dir)?;
    super::print_files(&files)?;

    let store = Store::connect(settings.database_url.expose()).await?;
    let key = super::installation_key(&settings, &store).await?;
    let mut added = 0;
    for (email, name) in SAMPLE_SUBSCRIBERS {
        let email = SubscriberEmail::parse(email)?;
        let name = SubscriberName::parse_optional(name)?;
        let added_now = crate::subscribers::import::add_one(
            &store,
            &key,
            &email,
            name.as_ref(),
            crate::clock::now_ms(),
        )
        .await?;
        if added_now == crate::subscribers::import::Added::Added {
            added += 1;
        }
    }
    outln!(
        "\n2. Loaded {added} sample subscribers into {}",
        dir.join("demo.db").display()
    )?;

    let issue_path = dir.join("issue.md");
    std::fs::write(&issue_path, SAMPLE_ISSUE)?;
    outln!("\n3. Sending the issue to every active subscriber through the outbox folder:")?;
    // The whole queue, worked to the end: the demo's outbox never fails.
    let _ = super::send_issue(
        &settings,
        &store,
        &issue_path,
        &crate::send::SendRequest {
            timing: crate::send::Timing::Now,
            resume: false,
        },
        StopWhen::QueueEmpty,
    )
    .await?;

    let outbox = settings
        .outbox_dir
        .canonicalize()
        .unwrap_or_else(|_| settings.outbox_dir.clone());
    let count = std::fs::read_dir(&outbox)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0);
    let html =
        std::fs::canonicalize(dir.join("issue.html")).unwrap_or_else(|_| dir.join("issue.html"));
    outln!("\nDone. {count} messages are in {}", outbox.display())?;
    outln!("  open the email in a browser:   file://{}", html.display())?;
    outln!(
        "  read the plain-text twin:      less {}",
        dir.join("issue.txt").display()
    )?;
    outln!(
        "  open a message in a mail app:  {}/<message-id>.eml",
        outbox.display()
    )?;
    outln!(
        "  queue status:                  MORNINGPOST_DATABASE_URL=sqlite://{} morningpost status",
        dir.join("demo.db").display()
    )?;
    Ok(ExitCode::SUCCESS)
}
