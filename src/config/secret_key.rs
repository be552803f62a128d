//! The installation's secret key (unsubscribe tokens are derived from it): from
//! `secret_key`, or from `secret_key_file`, which is created on first use.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::TokenKey;

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error(
        "configuration key `secret_key` must be 64 hex digits; generate one with `openssl rand -hex 32`"
    )]
    BadKey,
    #[error("the secret key file {} must hold 64 hex digits; restore it from a backup (links in mail already sent depend on it)", path.display())]
    BadFile { path: PathBuf },
    #[error("cannot read or create the secret key file {}: check the folder exists and is writable, or set `secret_key`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn load_or_create(inline: Option<&str>, file: &Path) -> Result<TokenKey, SecretKeyError> {
    if let Some(key) = load_existing(inline, file)? {
        return Ok(key);
    }
    match create(file).map_err(|source| io_error(file, source))? {
        Some(key) => {
            tracing::warn!(file = %file.display(), "created a new secret key; back it up: unsubscribe links depend on it");
            Ok(key)
        }
        // Another process created it first: use theirs.
        None => load_or_create(None, file),
    }
}

/// The key, or `None` when it is not set and its file does not exist: nothing is created.
pub fn load_existing(
    inline: Option<&str>,
    file: &Path,
) -> Result<Option<TokenKey>, SecretKeyError> {
    if let Some(hex) = inline {
        return TokenKey::from_hex(hex)
            .map(Some)
            .ok_or(SecretKeyError::BadKey);
    }
    match std::fs::read_to_string(file) {
        Ok(text) => TokenKey::from_hex(&text)
            .map(Some)
            .ok_or_else(|| SecretKeyError::BadFile {
                path: file.to_owned(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(file, e)),
    }
}

fn io_error(file: &Path, source: std::io::Error) -> SecretKeyError {
    SecretKeyError::Io {
        path: file.to_owned(),
        source,
    }
}

/// Creates the key file with a new key, or returns `None` if it exists by now.
///
/// The key is written in full to a temporary file of its own (mode 0600, `create_new`)
/// and only then given the real name, so a process starting at the same moment finds
/// either no file or a whole key, never a half-written one. The name is given with a hard
/// link, not a rename: a rename replaces a file that appeared in between, and the process
/// whose key was replaced would send links nobody can verify; a link fails instead, and
/// the loser reads the winner's key.
fn create(file: &Path) -> std::io::Result<Option<TokenKey>> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let key = TokenKey::generate();
    let temp = TempFile::create(dir, file)?;
    let mut f = &temp.file;
    f.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
    f.sync_all()?;
    match std::fs::hard_link(&temp.path, file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    }
    // The new name must survive a crash too: unsubscribe links depend on it.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(Some(key))
}

/// A new file beside the key file, removed when dropped.
struct TempFile {
    path: PathBuf,
    file: std::fs::File,
}

impl TempFile {
    fn create(dir: &Path, beside: &Path) -> std::io::Result<Self> {
        let name = beside
            .file_name()
            .map_or_else(|| "secret-key".into(), |n| n.to_string_lossy());
        let path = dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        Ok(Self { path, file })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // The key lives on under its real name (or was not needed); a leftover copy would
        // only be one more place a secret sits.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k").join("morningpost.key");
        let a = load_or_create(None, &path).unwrap();
        let b = load_or_create(None, &path).unwrap();
        assert_eq!(a.to_hex(), b.to_hex());
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            load_or_create(None, &path),
            Err(SecretKeyError::BadFile { .. })
        ));
        assert!(matches!(
            load_or_create(Some("abc"), &path),
            Err(SecretKeyError::BadKey)
        ));
        let hex = "11".repeat(32);
        assert_eq!(load_or_create(Some(&hex), &path).unwrap().to_hex(), hex);
    }

    /// Before: the file was created empty and written afterwards, so a process starting at
    /// the same moment read "" and stopped with "must hold 64 hex digits".
    #[test]
    fn starts_at_the_same_moment_all_get_the_one_key_on_disk() {
        const STARTS: usize = 8;
        for round in 0..200 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("morningpost.key");
            let barrier = std::sync::Barrier::new(STARTS);
            let keys: Vec<Result<String, String>> = std::thread::scope(|s| {
                let starts: Vec<_> = (0..STARTS)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            load_or_create(None, &path)
                                .map(|k| k.to_hex())
                                .map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                starts.into_iter().map(|t| t.join().unwrap()).collect()
            });
            let on_disk = std::fs::read_to_string(&path).unwrap();
            for key in keys {
                assert_eq!(key, Ok(on_disk.trim().to_owned()), "round {round}");
            }
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["morningpost.key"], "no temporary file is left");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "only the owner reads the key");
            }
        }
    }

    #[test]
    fn an_io_error_names_the_file_and_keeps_its_cause_without_printing_it() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_folder = dir.path().join("file");
        std::fs::write(&not_a_folder, "").unwrap();
        let err = load_or_create(None, &not_a_folder.join("morningpost.key")).unwrap_err();
        assert!(matches!(err, SecretKeyError::Io { .. }), "{err:?}");
        let cause = std::error::Error::source(&err).expect("the I/O error is the source");
        let text = err.to_string();
        assert!(text.contains("morningpost.key"), "{text}");
        assert!(
            !text.contains(&cause.to_string()),
            "main prints the cause once, after the message: {text}"
        );
    }
}
