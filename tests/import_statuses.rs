//! A plain import never mails a reader the file says left, bounced, complained or never
//! confirmed (both backends): an export imported into a fresh database keeps every reader's
//! status, and a reader the file calls active needs a basis (the file's or the operator's).

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
    assert!(
        out.contains(
            "imported 5 new subscribers (1 active, 1 bounced, 1 complained, 1 pending, 1 unsubscribed)"
        ),
        "the export's own basis (admin) keeps the active reader active: {out}"
    );
    assert!(
        out.contains("2 addresses added to the suppression list"),
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
        out.contains("imported 0 new subscribers\n")
            && out.contains("5 already subscribers: left as they were"),
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
    let (ok, out, err) = app.run(&[
        "subscribers",
        "import",
        path_str(&file),
        "--consent",
        "confirmed-elsewhere",
    ]);
    assert!(!ok, "a skipped row is a non-zero exit");
    assert!(
        out.contains("imported 2 new subscribers (2 active)"),
        "{out}"
    );
    assert!(
        err.contains(":3: skipped: status \"vip\" is not a value this importer knows"),
        "{err}"
    );
    assert_eq!(
        app.status_of("cy@example.com"),
        "active",
        "an empty cell is active, on the stated basis"
    );
}
