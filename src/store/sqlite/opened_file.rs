//! The database file this process opened, known by its inode. Deleted or replaced under a
//! running process, SQLite in WAL mode goes on writing into the unlinked file without an
//! error: sign-ups were answered "check your inbox" and lost at the next start. Writes
//! check first that the path still names the file they would write.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::store::{Result, StoreError};

#[derive(Debug, Clone)]
pub(super) struct OpenedFile {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl OpenedFile {
    /// `None` for an in-memory database (nothing on disk to lose).
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            path: path.to_owned(),
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One `stat`: a few microseconds beside a write transaction.
    pub fn check(&self) -> Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.dev() == self.device && meta.ino() == self.inode => Ok(()),
            _ => Err(StoreError::FileReplaced {
                path: self.path.clone(),
            }),
        }
    }
}
