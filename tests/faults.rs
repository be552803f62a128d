//! Faults of the resources the pipeline depends on, staged for real.
//!
//! Reproduced before: SQLite's disk filled up during a send, SQLite rolled the failed
//! transaction back by itself, and the writer connection stayed "inside" it for sqlx: every
//! later claim failed with "attempted to call begin_with at non-zero transaction depth",
//! even after space was freed, until the worker gave up (exit 1).

mod support;

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use support::app::App;
use support::mail::copies_by_message_id;
use support::sink::SmtpSink;

/// A tmpfs of `size` mounted at `dir` (as root: the test machine's user), unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: std::path::PathBuf, size: &str) -> Self {
        std::fs::create_dir_all(&dir).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs")
            .success();
        assert!(
            ok,
            "mounting a small tmpfs needs root (the test machine runs tests as root)"
        );
        Self(dir)
    }

    /// Fills the disk to its last few kilobytes with one file, returned for removal.
    fn fill(&self) -> std::path::PathBuf {
        let filler = self.0.join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.flush();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_sqlite_disk_stops_the_send_until_space_is_freed_then_it_resumes_by_itself() {
    let mut app = App::on_sqlite();
    let disk = SmallDisk::mount(app.path("disk"), "24m");
    app.set(
        "MORNINGPOST_DATABASE_URL",
        &format!("sqlite://{}", disk.0.join("mp.db").display()),
    );
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    // Paced, so the disk fills in the middle of the send.
    app.set("MORNINGPOST_RATE_PER_SECOND", "200");
    app.import_readers(&app.write_subscribers(2000));
    let issue = app.sample_issue();
    let send = app.spawn(&["send", &issue, "--wait"]);
    assert!(
        sink.wait_for(200, Duration::from_secs(30)) >= 200,
        "the send is under way"
    );
    let filler = disk.fill();
    std::thread::sleep(Duration::from_secs(3));
    let sent_while_full = sink.count();
    std::fs::remove_file(&filler).expect("free the space");
    let out = send.wait_with_output().expect("send finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the send resumes once space is freed:\n{stderr}"
    );
    assert!(
        stderr.contains("the database's disk is full: free space where the database is"),
        "the operator is told what is wrong and what to do:\n{stderr}"
    );
    assert!(
        !stderr.contains("non-zero transaction depth"),
        "no connection is left inside a failed transaction:\n{stderr}"
    );
    assert!(
        sent_while_full < 2000,
        "the disk filled before the send ended"
    );
    let copies = copies_by_message_id(&sink);
    assert_eq!(copies.len(), 2000, "nothing lost");
    let twice = copies.values().filter(|n| **n > 1).count();
    assert!(twice <= 8, "duplicates within the in-flight count: {twice}");
}
