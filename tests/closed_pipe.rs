//! A command whose reader goes away (`morningpost subscribers list | head -1`) stops quietly,
//! as `cat` does: the status a shell shows for SIGPIPE (141), nothing on stderr. Before,
//! `list` panicked (exit 101) and `export` printed `error: Broken pipe`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

use support::app::{App, path_str};

/// Runs `args` with standard output a pipe whose reader is already gone.
fn run_into_closed_pipe(app: &App, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    app.command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn assert_quiet_stop(args: &[&str], out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
}

#[test]
fn list_stops_quietly_when_head_has_read_its_line() {
    let app = App::new();
    // Far more than a pipe holds (64 KiB), so the command is still writing when head leaves.
    let csv = app.write_subscribers(4000);
    app.import_readers(&csv);
    for args in [["subscribers", "list"], ["subscribers", "export"]] {
        let mut child = app.spawn(&args);
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}: the first line arrives");
        let out = child.wait_with_output().unwrap();
        assert_quiet_stop(&args, &out);
    }
}

#[test]
fn every_kind_of_command_stops_quietly_on_a_closed_pipe() {
    let app = App::new();
    let issue = app.sample_issue();
    let preview = app.path("preview");
    let maildir = app.path("maildir");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    let commands: [&[&str]; 7] = [
        &["subscribers", "add", "ada@example.com"],
        &["subscribers", "list"],
        &["subscribers", "export"],
        &["status"],
        &["render", &issue, "--out", path_str(&preview)],
        &["send", &issue, "--dry-run"],
        &["unsubscribe-mail", "--maildir", path_str(&maildir)],
    ];
    for args in commands {
        assert_quiet_stop(args, &run_into_closed_pipe(&app, args));
    }
}

#[test]
fn a_real_error_is_still_reported_when_stdout_is_closed() {
    let app = App::new();
    let out = run_into_closed_pipe(&app, &["subscribers", "list", "--status", "nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unknown status \"nope\""), "{stderr}");
}
