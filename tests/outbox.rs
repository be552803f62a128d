//! The outbox folder holds every reader's address and unsubscribe link: it is created for
//! its owner alone (0700), and so is each message in it (0600).

mod support;

use std::os::unix::fs::PermissionsExt;

use support::app::App;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// On today's code the folder was 0755 and each message 0644 (with the usual umask 022).
#[test]
fn the_outbox_folder_and_its_messages_are_the_owners_alone() {
    let mut app = App::new();
    let outbox = app.path("mail/outbox");
    app.set("MORNINGPOST_OUTBOX_DIR", &outbox.display().to_string());
    let csv = app.write_subscribers(3);
    app.import_readers(&csv);
    let out = app.ok(&["send", &app.sample_issue(), "--wait"]);
    assert!(out.contains("3 sent, 0 failed"), "{out}");

    assert_eq!(mode(&outbox), 0o700, "the outbox folder");
    assert_eq!(mode(&app.path("mail")), 0o700, "a parent it created");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .expect("read outbox")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    for file in &files {
        assert!(
            file.extension().is_some_and(|x| x == "eml"),
            "no leftover: {file:?}"
        );
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

#[test]
fn an_outbox_folder_that_cannot_be_created_is_refused_at_start_with_its_path() {
    let mut app = App::new();
    let blocker = app.path("not-a-folder");
    std::fs::write(&blocker, "a file").expect("write");
    app.set(
        "MORNINGPOST_OUTBOX_DIR",
        &blocker.join("outbox").display().to_string(),
    );
    app.ok(&["subscribers", "add", "ada@example.com"]);
    let (ok, _, err) = app.run(&["send", &app.sample_issue(), "--wait"]);
    assert!(!ok);
    assert!(
        err.contains("cannot create the outbox folder") && err.contains("not-a-folder/outbox"),
        "{err}"
    );
    // The cause is printed once, by main's chain.
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}
