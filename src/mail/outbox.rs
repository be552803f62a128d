//! The outbox folder: each message as `<message-id>.eml`. Messages hold every reader's address
//! and unsubscribe link, so the folder is the owner's alone (0700) and so is each file (0600).

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// Creates the folder (and its missing parents) readable by its owner only. A folder that
/// already exists keeps the permissions its owner gave it.
pub fn create_folder(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes a small file into the folder and removes it again, as a message's file is
/// written (0600, a new name): whether the folder takes messages now (`doctor`).
pub fn probe(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = dir.join(format!(".probe.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let written = file
        .write_all(b"morningpost doctor\n")
        .and_then(|()| file.sync_all());
    drop(file);
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}

/// Writes `<message-id>.eml` atomically: a re-sent copy replaces the first one. Returns the
/// reply recorded for the delivery.
pub async fn write(dir: &Path, message_id: &str, bytes: &[u8]) -> std::io::Result<String> {
    use tokio::io::AsyncWriteExt;

    let name: String = message_id
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .await?;
    let written = async {
        file.write_all(bytes).await?;
        file.flush().await
    }
    .await;
    drop(file);
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, &path).await?;
    Ok(format!("250 written to {}", path.display()))
}
