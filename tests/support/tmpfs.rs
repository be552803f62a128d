//! A small tmpfs mounted for one test (the test machine runs tests as root), unmounted on
//! drop: a disk that can be filled, or remounted read-only, without touching the host's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `options`: mount options besides the size, e.g. `mode=0700` or `ro`.
    pub fn mount(dir: PathBuf, size: &str, options: &str) -> Self {
        std::fs::create_dir_all(&dir).expect("mount point");
        let mut all = format!("size={size}");
        if !options.is_empty() {
            all.push(',');
            all.push_str(options);
        }
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &all, "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs")
            .success();
        assert!(
            ok,
            "mounting a tmpfs at {} needs root (the test machine runs tests as root)",
            dir.display()
        );
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Fills the filesystem to its last bytes with one file, returned for removal.
    pub fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.flush();
        filler
    }

    /// Fills the filesystem with one file until `free` bytes are left (about: to the
    /// block), returned for removal.
    pub fn fill_leaving(&self, free: u64) -> PathBuf {
        let stat = rustix::fs::statvfs(&self.0).expect("statvfs");
        let available = stat.f_bavail * stat.f_frsize;
        assert!(
            available > free,
            "{} has {available} bytes free, fewer than the {free} to leave",
            self.0.display()
        );
        let filler = self.0.join("filler");
        let file = std::fs::File::create(&filler).expect("filler");
        // tmpfs allocates what is written, not what a length claims: write it.
        let mut left = available - free;
        let chunk = vec![0u8; 64 * 1024];
        let mut file = std::io::BufWriter::new(file);
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            file.write_all(&chunk[..n]).expect("write the filler");
            left -= n as u64;
        }
        file.flush().expect("write the filler");
        filler
    }

    /// Remounts read-only (`ro`) or writable (`rw`). A read-only remount is refused while
    /// a file is open for writing (a message being written): tried again until it takes.
    pub fn remount(&self, how: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("mount")
                .args(["-o", &format!("remount,{how}")])
                .arg(&self.0)
                .output()
                .expect("mount runs");
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "remount {how}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
