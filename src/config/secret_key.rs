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
    #[error("cannot read or create the secret key file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn load_or_create(inline: Option<&str>, file: &Path) -> Result<TokenKey, SecretKeyError> {
    if let Some(hex) = inline {
        return TokenKey::from_hex(hex).ok_or(SecretKeyError::BadKey);
    }
    let io = |source| SecretKeyError::Io {
        path: file.to_owned(),
        source,
    };
    match std::fs::read_to_string(file) {
        Ok(text) => TokenKey::from_hex(&text).ok_or_else(|| SecretKeyError::BadFile {
            path: file.to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = TokenKey::generate();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(file) {
                Ok(mut f) => {
                    f.write_all(format!("{}\n", key.to_hex()).as_bytes())
                        .map_err(io)?;
                    f.sync_all().map_err(io)?;
                    tracing::warn!(file = %file.display(), "created a new secret key; back it up: unsubscribe links depend on it");
                    Ok(key)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create(None, file)
                }
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
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
}
