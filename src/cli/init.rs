//! `morningpost init`: the one command whose job is to create the database.

use std::process::ExitCode;

use super::stdout::outln;
use crate::config::Settings;
use crate::secret::Secret;

pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::open_store(settings, super::Open::CreateIfMissing).await?;
    store.health(crate::clock::now_ms()).await?;
    // The key is made here if there is none yet, and its fingerprint recorded.
    super::installation_key(settings, &store).await?;
    let url = settings.database_url.expose();
    // The path may be relative to a configuration file's folder: show where it really is.
    let place = match crate::store::sqlite_file(url) {
        Some(path) => format!("SQLite database {}", path.display()),
        None => format!("database {}", Secret::new(url).redacted()),
    };
    outln!("{place} is ready (migrations applied)")?;
    Ok(ExitCode::SUCCESS)
}
