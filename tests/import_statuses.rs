//! An export imported into a fresh database keeps every reader's status (both backends):
//! a backup restored, or a move from SQLite to PostgreSQL, must never mail a reader who
//! left, bounced, complained or never confirmed. (Issue 11's first bug; its lossless
//! export with history and consent is still to come.)

mod support;

use support::app::{App, path_str};

#[test]
fn an_export_imported_elsewhere_revives_nobody() {
    let source = App::new();
    for (i, email) in ["act", "pen", "uns", "bou", "com"].iter().enumerate() {
        source.ok(&[
            "subscribers",
            "add",
            &format!("{email}@example.com"),
            "--name",
            &format!("Reader {i}"),
        ]);
    }
    for (email, status) in [
        ("pen", "pending"),
        ("uns", "unsubscribed"),
        ("bou", "bounced"),
        ("com", "complained"),
    ] {
        source.sql(&format!(
            "UPDATE subscribers SET status = '{status}' WHERE email = '{email}@example.com'"
        ));
    }
    let export = source.ok(&["subscribers", "export"]);

    let target = App::new();
    let file = target.path("backup.csv");
    std::fs::write(&file, &export).unwrap();
    target.ok(&["init"]);
    let out = target.ok(&["subscribers", "import", path_str(&file)]);
    assert!(out.contains("imported 5 new subscribers"), "{out}");
    assert!(
        out.contains("not mailed: 1 bounced, 1 complained, 1 pending, 1 unsubscribed"),
        "{out}"
    );
    for (email, status) in [
        ("act", "active"),
        ("pen", "pending"),
        ("uns", "unsubscribed"),
        ("bou", "bounced"),
        ("com", "complained"),
    ] {
        assert_eq!(target.status_of(&format!("{email}@example.com")), status);
    }
    // The restored list is mailed as the old one was: the active reader only.
    let out = target.ok(&["send", &target.sample_issue()]);
    assert!(
        out.contains("queued 1 deliveries (1 active subscribers)"),
        "{out}"
    );
    // And the same file again changes nothing.
    let out = target.ok(&["subscribers", "import", path_str(&file)]);
    assert!(
        out.contains("imported 0 new subscribers; 5 were already present"),
        "{out}"
    );
}

#[test]
fn an_unknown_status_skips_its_row_with_the_reason() {
    let app = App::new();
    let file = app.path("list.csv");
    std::fs::write(
        &file,
        "email,status\nada@example.com,active\nbob@example.com,vip\ncy@example.com,\n",
    )
    .unwrap();
    let (ok, out, err) = app.run(&["subscribers", "import", path_str(&file)]);
    assert!(!ok, "a skipped row is a non-zero exit");
    assert!(out.contains("imported 2 new subscribers"), "{out}");
    assert!(
        err.contains(":3: skipped: status of bob@example.com: \"vip\" is not one of"),
        "{err}"
    );
    assert_eq!(
        app.status_of("cy@example.com"),
        "active",
        "an empty cell is active"
    );
}
