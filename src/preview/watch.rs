//! Renders the issue file and renders it again whenever it changes on disk (its size or
//! modification time, looked at four times a second: editors that replace the file by
//! renaming a new one over it are seen as well as those that write in place).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Current, Rendition, Sample};
use crate::config::Settings;
use crate::report::Chain;

const LOOK_EVERY: Duration = Duration::from_millis(250);

/// The first rendition, and a task that publishes a new one after every save.
pub(super) fn spawn(
    settings: Settings,
    issue: PathBuf,
) -> tokio::sync::watch::Receiver<Arc<Current>> {
    let mut seen = stamp(&issue);
    let first = Current {
        version: 1,
        rendition: render(&settings, &issue),
    };
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(first));
    tokio::spawn(async move {
        let mut version = 1;
        loop {
            tokio::time::sleep(LOOK_EVERY).await;
            let now = stamp(&issue);
            if now == seen {
                continue;
            }
            seen = now;
            version += 1;
            let rendition = render(&settings, &issue);
            match &rendition {
                Rendition::Good(_) => eprintln!("rendered {} again", issue.display()),
                Rendition::Broken(e) => eprintln!("error: {e}"),
            }
            if tx.send(Arc::new(Current { version, rendition })).is_err() {
                return;
            }
        }
    });
    rx
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn render(settings: &Settings, path: &Path) -> Rendition {
    let issue = match crate::issue::read_issue_file(path) {
        Ok(issue) => issue,
        Err(e) => return Rendition::Broken(Chain(&e).to_string()),
    };
    match Sample::render(settings, &issue) {
        Ok(sample) => Rendition::Good(sample),
        Err(e) => Rendition::Broken(Chain(&e).to_string()),
    }
}
