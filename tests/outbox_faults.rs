//! The outbox folder (where mail goes when no relay is configured, `outbox_dir`) failing in
//! the middle of a send (issue 16), staged for real: the folder is a small tmpfs of its own
//! (the tests run as root), and `send --wait` (the real binary) writes into it, paced so
//! that the fault comes mid-send.
//!
//! - The folder remounted read-only for a while, then writable again.
//! - The folder's filesystem filled to its last bytes, then freed.
//!
//! Each must get: deliveries that could not be written are handed back to the queue (a
//! relay failure: never failed, never a bounce), nothing is written while the fault lasts,
//! no half-written file is left behind, and once the folder is writable again the send
//! resumes by itself and every reader's message is in the folder, each once.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::ChildGuard;
use support::app::App;
use support::tmpfs::Tmpfs;

const READERS: usize = 300;
/// Messages per second: the send lasts about 3 s unhindered.
const RATE: &str = "100";

/// The finished messages (`*.eml`) and the leftovers (anything else but the filler).
fn outbox_files(dir: &Path) -> (usize, Vec<String>) {
    let mut eml = 0;
    let mut other = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the outbox").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".eml") {
            eml += 1;
        } else if name != "filler" {
            other.push(name);
        }
    }
    (eml, other)
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sets up a paced send into an outbox on its own tmpfs; the send is under way on return.
fn a_send_under_way(size: &str) -> (App, Tmpfs, ChildGuard) {
    let mut app = App::new();
    let outbox = app.path("outbox");
    app.set("MORNINGPOST_OUTBOX_DIR", &outbox.display().to_string())
        .set("MORNINGPOST_RATE_PER_SECOND", RATE);
    let disk = Tmpfs::mount(outbox.clone(), size, "mode=0700");
    let csv = app.write_subscribers(READERS);
    app.import_readers(&csv);
    let issue = app.sample_issue();
    let send = ChildGuard(app.spawn(&["send", &issue, "--wait"]));
    wait_until("the send to be under way", Duration::from_secs(60), || {
        outbox_files(&outbox).0 >= READERS / 5
    });
    (app, disk, send)
}

/// While the fault lasts: a try failed on it and was handed back (a relay failure counts
/// one retry), and no message is written. Returns how many were in the folder then.
fn the_fault_holds(app: &App, dir: &Path) -> usize {
    wait_until(
        "a delivery to fail on the fault",
        Duration::from_secs(30),
        || support::rows::total_failures(&app.database_url()) >= 1,
    );
    let during = outbox_files(dir).0;
    assert!(during < READERS, "the fault came before the send ended");
    // A second of tries (the backoff starts at 250 ms and doubles): nothing gets through.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(outbox_files(dir).0, during, "nothing is written meanwhile");
    let states = support::rows::delivery_states(&app.database_url());
    assert_eq!(states.get("failed"), None, "nothing failed: {states:?}");
    during
}

fn everything_arrives_once(app: &App, dir: &Path, send: &mut ChildGuard, fault: &str) {
    let (status, stderr) = send.wait_for_exit(Duration::from_secs(120));
    assert!(
        status.success(),
        "{fault}: the send resumes and ends:\n{stderr}"
    );
    assert!(
        stderr.contains("cannot write to the outbox folder")
            && stderr.contains(&dir.display().to_string()),
        "{fault}: the operator is told which folder failed:\n{stderr}"
    );
    let (eml, leftovers) = outbox_files(dir);
    assert_eq!(
        eml, READERS,
        "{fault}: every reader's message is in the folder"
    );
    assert!(
        leftovers.is_empty(),
        "{fault}: no half-written file: {leftovers:?}"
    );
    support::rows::assert_all_sent(&app.database_url(), READERS, fault);
    let out = app.ok(&["status"]);
    assert!(out.contains(&format!("sent       {READERS:>9}")), "{out}");
}

#[test]
fn an_outbox_folder_turned_read_only_mid_send_holds_the_send_until_it_is_writable_again() {
    let started = Instant::now();
    let (app, disk, mut send) = a_send_under_way("64m");
    disk.remount("ro");
    let during = the_fault_holds(&app, disk.path());
    disk.remount("rw");
    everything_arrives_once(&app, disk.path(), &mut send, "read-only");
    eprintln!(
        "read-only outbox: {during} of {READERS} written before, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_full_outbox_folder_mid_send_holds_the_send_until_space_is_freed() {
    let started = Instant::now();
    let (app, disk, mut send) = a_send_under_way("64m");
    let filler = disk.fill();
    let during = the_fault_holds(&app, disk.path());
    std::fs::remove_file(&filler).expect("free the space");
    everything_arrives_once(&app, disk.path(), &mut send, "full");
    eprintln!(
        "full outbox: {during} of {READERS} written before, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
