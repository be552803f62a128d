//! A small ext4 filesystem in an image file on a loop device, mounted for one test (the
//! test machine runs tests as root), unmounted and its loop device detached on drop: a
//! disk on which the kernel can be made to find an error, so that it remounts the
//! filesystem read-only under open files, as `errors=remount-ro` does in production.
//! (`mount -o remount,ro` is refused while a file is open for writing, and root ignores
//! file permissions: neither stages a database that becomes read-only under a process.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Ext4 {
    dir: PathBuf,
    device: String,
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Ext4 {
    /// Makes an ext4 filesystem of `size` (e.g. `64M`) in `image` and mounts it at `dir`
    /// with `errors=remount-ro`; `options`: more mount options, e.g. `ro`.
    pub fn mount(image: PathBuf, dir: PathBuf, size: &str, options: &str) -> Self {
        std::fs::create_dir_all(&dir).expect("mount point");
        run("truncate", &["-s", size, path(&image)]);
        run("mkfs.ext4", &["-q", "-F", path(&image)]);
        let device = run("losetup", &["--find", "--show", path(&image)]);
        let this = Self { dir, device };
        this.mount_device(options);
        this
    }

    fn mount_device(&self, options: &str) {
        let mut all = String::from("errors=remount-ro");
        if !options.is_empty() {
            all.push(',');
            all.push_str(options);
        }
        run("mount", &["-o", &all, &self.device, path(&self.dir)]);
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Makes the kernel find an error in the filesystem (ext4's `trigger_fs_error`): it
    /// aborts the journal and remounts the filesystem read-only at once, under whatever
    /// holds files open there. Returns once a write there is refused (EROFS).
    pub fn fail(&self) {
        let name = Path::new(&self.device)
            .file_name()
            .expect("a device name")
            .to_string_lossy()
            .into_owned();
        std::fs::write(
            format!("/sys/fs/ext4/{name}/trigger_fs_error"),
            "staged by a morningpost test",
        )
        .expect("trigger an ext4 error");
        let deadline = Instant::now() + Duration::from_secs(10);
        let probe = self.dir.join("probe");
        loop {
            match std::fs::File::create(&probe) {
                Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => return,
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                }
                Err(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "the filesystem at {} did not become read-only",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What an operator does after such an error, once nothing holds files there: unmount,
    /// check and repair (`e2fsck -fy`: it may fix counts the aborted journal left), mount
    /// again read-write, with `options` as in [`Ext4::mount`].
    pub fn repair(&self, options: &str) {
        self.unmount();
        let status = Command::new("e2fsck")
            .args(["-f", "-y", &self.device])
            .output()
            .expect("e2fsck runs")
            .status;
        // 0: clean; 1: errors corrected. Anything else is a filesystem the test broke.
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "e2fsck could not repair {}: {status}",
            self.device
        );
        self.mount_device(options);
    }

    /// Unmounts (waiting a moment for a process that was just killed to let go).
    fn unmount(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Command::new("umount")
            .arg(&self.dir)
            .status()
            .expect("umount runs")
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "{} stays busy",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        // Lazily if something still holds it: the loop device is then detached (`-d` sets
        // autoclear) when the last holder lets go.
        if !Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success())
        {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}
