//! The subscriber list as data (issue 11), through the real binary: a backup restores byte
//! for byte across backends, an import never revives an address, erasure leaves no trace,
//! other tools' exports map to our statuses, and hostile files cost one row each.

mod support;

use support::app::{App, path_str};

/// A list with every kind of fact a backup must carry: each status, each basis, a reader
/// who confirmed (IP, user agent), one who left by the admin's hand, names a spreadsheet
/// would run, time zones, a manual block of a non-subscriber, an erased address.
fn rich_list(app: &App) {
    let file = app.path("rich.csv");
    std::fs::write(
        &file,
        "email,name,status,time_zone\n\
         ada@example.com,\"Lovelace, Ada\",,Europe/London\n\
         zoe@example.org,Zoë Ångström,,\n\
         left@example.net,Leif,unsubscribed,Europe/Oslo\n\
         gone@example.com,Gonzalo,bounced,\n\
         spam@example.org,Sam,complained,America/Chicago\n\
         wait@example.com,Wanda,pending,\n\
         Mixed.Case@Example.COM,'=HYPERLINK(\"x\"),,\n",
    )
    .unwrap();
    app.ok(&[
        "subscribers",
        "import",
        path_str(&file),
        "--consent",
        "confirmed-elsewhere",
        "--note",
        "moved from Mailchimp, ticket 42",
    ]);
    app.ok(&[
        "subscribers",
        "add",
        "--name",
        "'=quoted",
        "admin@example.com",
    ]);
    app.ok(&["subscribers", "add", "erase.me@example.com"]);
    app.ok(&["subscribers", "add", "blocked@example.com"]);
    app.ok(&["subscribers", "remove", "admin@example.com"]);
    app.ok(&["subscribers", "suppress", "never@example.net"]);
    app.ok(&["subscribers", "suppress", "blocked@example.com"]);
    app.ok(&["subscribers", "erase", "erase.me@example.com"]);
    app.ok(&["subscribers", "set-zone", "zoe@example.org", "Asia/Tokyo"]);
    // A double opt-in as the confirmation page records it (a form has no command).
    app.sql(
        "UPDATE subscribers SET source = 'form', consent = 'double-opt-in', consent_note = NULL,
             confirm_ip = '203.0.113.9', confirm_user_agent = 'Mozilla/5.0 (X11; \"quoted\", comma)'
         WHERE email_key = 'zoe@example.org'",
    );
}

fn export(app: &App) -> String {
    app.ok(&["subscribers", "export"])
}

fn restore_into(app: &App, backup: &str) -> String {
    let file = app.path("backup.csv");
    std::fs::write(&file, backup).unwrap();
    app.ok(&["subscribers", "import", "--restore", path_str(&file)])
}

#[test]
fn a_backup_restores_byte_for_byte_from_sqlite_to_postgresql_and_back() {
    let sqlite = App::on_sqlite();
    rich_list(&sqlite);
    let first = export(&sqlite);
    assert!(
        first.starts_with("#morningpost-subscribers format=1 key="),
        "{first}"
    );
    assert!(
        first.contains("never@example.net") && !first.contains("erase.me"),
        "the block of a non-subscriber is kept; the erased address only as its hash:\n{first}"
    );

    let postgres = App::on_postgres();
    let out = restore_into(&postgres, &first);
    assert!(
        out.contains("restored 9 subscribers and 5 suppression entries"),
        "{out}"
    );
    let second = export(&postgres);
    assert_eq!(second, first, "SQLite → PostgreSQL changes nothing");

    let back = App::on_sqlite();
    restore_into(&back, &second);
    assert_eq!(export(&back), first, "PostgreSQL → SQLite changes nothing");

    // What the restored list mails is what the old one mailed: the three active readers who
    // are not suppressed (ada, zoe, the mixed-case one).
    for app in [&sqlite, &postgres, &back] {
        let out = app.ok(&["send", "--dry-run", &app.sample_issue()]);
        assert!(out.contains("would queue 3 new deliveries"), "{out}");
    }
    let shown = back.ok(&["subscribers", "show", "zoe@example.org"]);
    assert!(
        shown.contains("basis         double-opt-in")
            && shown.contains("203.0.113.9 Mozilla/5.0 (X11; \"quoted\", comma)")
            && shown.contains("Asia/Tokyo"),
        "{shown}"
    );
    let shown = back.ok(&["subscribers", "show", "admin@example.com"]);
    assert!(
        shown.contains("(by admin)"),
        "how they left survives: {shown}"
    );
    assert!(
        back.ok(&["subscribers", "show", "ada@example.com"])
            .contains("confirmed-elsewhere: imported from rich.csv; the operator stated: confirmed-elsewhere (moved from Mailchimp, ticket 42)"),
    );
}

#[test]
fn a_restore_goes_into_an_empty_database_under_the_same_key_and_a_bad_row_writes_nothing() {
    let source = App::new();
    rich_list(&source);
    let backup = export(&source);

    let same = source.path("same.csv");
    std::fs::write(&same, &backup).unwrap();
    let (ok, _, err) = source.run(&["subscribers", "import", "--restore", path_str(&same)]);
    assert!(!ok && err.contains("already holds subscribers"), "{err}");

    let mut other_key = App::new();
    other_key.set("MORNINGPOST_SECRET_KEY", &"ab".repeat(32));
    let file = other_key.path("backup.csv");
    std::fs::write(&file, &backup).unwrap();
    let (ok, _, err) = other_key.run(&["subscribers", "import", "--restore", path_str(&file)]);
    assert!(
        !ok && err.contains("made under another secret key"),
        "{err}"
    );

    let broken = App::new();
    let file = broken.path("broken.csv");
    let damaged = backup.replacen("Europe/Oslo", "Mars/Base", 1);
    let line = 1 + damaged
        .lines()
        .position(|l| l.contains("Mars/Base"))
        .expect("the damaged row");
    std::fs::write(&file, damaged).unwrap();
    let (ok, _, err) = broken.run(&["subscribers", "import", "--restore", path_str(&file)]);
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!("broken.csv:{line}: time_zone:"))
            && err.contains("nothing was written"),
        "the row is named by its line, and the restore is all or nothing: {err}"
    );
    broken.ok(&["init"]);
    assert_eq!(broken.statuses(), "", "nothing was written");

    let plain = App::new();
    let file = plain.path("plain.csv");
    std::fs::write(&file, "email\nada@example.com\n").unwrap();
    let (ok, _, err) = plain.run(&["subscribers", "import", "--restore", path_str(&file)]);
    assert!(!ok && err.contains("is not a morningpost backup"), "{err}");
    let (ok, _, err) = plain.run(&[
        "subscribers",
        "import",
        "--restore",
        "--consent",
        "confirmed-elsewhere",
        path_str(&file),
    ]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}

#[test]
fn an_import_revives_nobody_and_update_status_says_what_it_changed() {
    let app = App::new();
    for who in ["act", "uns", "bou", "com", "sup", "era"] {
        app.ok(&["subscribers", "add", &format!("{who}@example.com")]);
    }
    app.ok(&["subscribers", "remove", "uns@example.com"]);
    app.ok(&["subscribers", "suppress", "sup@example.com"]);
    app.ok(&["subscribers", "erase", "era@example.com"]);
    let marks = app.path("marks.csv");
    std::fs::write(
        &marks,
        "email,status\nbou@example.com,bounced\ncom@example.com,complained\n",
    )
    .unwrap();
    let out = app.ok(&["subscribers", "import", "--update-status", path_str(&marks)]);
    assert!(
        out.contains("bou@example.com: active → bounced")
            && out.contains("com@example.com: active → complained"),
        "{out}"
    );

    // A file that calls everyone active, from a tool that knew nothing of what happened here.
    let file = app.path("everyone.csv");
    std::fs::write(
        &file,
        "email\nact@example.com\nuns@example.com\nbou@example.com\ncom@example.com\n\
         sup@example.com\nera@example.com\nERA@example.com\nnew@example.com\n",
    )
    .unwrap();
    let out = app.import_readers(&file);
    assert!(
        out.contains("imported 1 new subscribers (1 active)"),
        "{out}"
    );
    assert!(
        out.contains("5 already subscribers: left as they were"),
        "{out}"
    );
    assert!(
        out.contains("1 on the suppression list, not added: 1 erased"),
        "{out}"
    );
    assert!(out.contains("1 rows repeated"), "{out}");
    for (who, status) in [
        ("act", "active"),
        ("uns", "unsubscribed"),
        ("bou", "bounced"),
        ("com", "complained"),
        ("sup", "active"),
        ("era", "absent"),
        ("new", "active"),
    ] {
        assert_eq!(
            app.status_of(&format!("{who}@example.com")),
            status,
            "{who}"
        );
    }
    // sup is active on its row but suppressed: not mailed.
    let out = app.ok(&["send", "--dry-run", &app.sample_issue()]);
    assert!(
        out.contains("would queue 2 new deliveries"),
        "act and new only: {out}"
    );

    // --update-status changes statuses, says so, and still never makes a suppressed address
    // mailable.
    let file = app.path("changes.csv");
    std::fs::write(
        &file,
        "email,status\nuns@example.com,active\nact@example.com,unsubscribed\n\
         bou@example.com,active\nera@example.com,active\n",
    )
    .unwrap();
    let out = app.ok(&[
        "subscribers",
        "import",
        "--update-status",
        "--consent",
        "confirmed-elsewhere",
        path_str(&file),
    ]);
    assert!(
        out.contains("uns@example.com: unsubscribed → active")
            && out.contains("act@example.com: active → unsubscribed")
            && out.contains("2 statuses changed"),
        "{out}"
    );
    assert!(
        !out.contains("bou@example.com:"),
        "a bounced address stays: {out}"
    );
    assert_eq!(app.status_of("bou@example.com"), "bounced");
    assert_eq!(app.status_of("era@example.com"), "absent");
    let (ok, _, err) = app.run(&["subscribers", "add", "era@example.com"]);
    assert!(
        !ok && err.contains("on the suppression list (erased)"),
        "{err}"
    );
}

#[test]
fn erase_leaves_no_trace_of_the_address_and_keeps_the_counts() {
    let app = App::new();
    app.ok(&[
        "subscribers",
        "add",
        "--name",
        "Erasmus Uniquename",
        "erasmus@example.com",
    ]);
    app.ok(&["subscribers", "add", "stays@example.com"]);
    let out = app.ok(&["send", &app.sample_issue(), "--wait"]);
    assert!(out.contains("2 sent, 0 failed"), "{out}");
    let slug = "2026-11-27";
    app.sql(
        "UPDATE deliveries SET last_reply = '250 2.0.0 ok for <erasmus@example.com>'
         WHERE subscriber_id = (SELECT id FROM subscribers WHERE email_key = 'erasmus@example.com')",
    );
    assert!(
        !app.columns_containing("erasmus@example.com").is_empty(),
        "the search finds the address before"
    );

    let out = app.ok(&["subscribers", "erase", "erasmus@example.com"]);
    assert!(out.contains("erased erasmus@example.com"), "{out}");
    assert!(out.contains("of 1 deliveries"), "{out}");
    assert!(out.contains("keeps only a keyed hash"), "{out}");
    for needle in ["erasmus@example.com", "erasmus", "Uniquename"] {
        assert_eq!(
            app.columns_containing(needle),
            Vec::<String>::new(),
            "{needle} is still held"
        );
    }
    let status = app.ok(&["status", slug]);
    assert!(
        status
            .lines()
            .any(|l| l.trim_start().starts_with("sent ") && l.trim_end().ends_with(" 2")),
        "the issue's counts stay: {status}"
    );

    let (ok, _, err) = app.run(&["subscribers", "show", "erasmus@example.com"]);
    assert!(!ok && err.contains("no subscriber"), "{err}");
    let out = app.ok(&["subscribers", "erase", "erasmus@example.com"]);
    assert!(
        out.contains("nothing else held it"),
        "erasing twice is harmless: {out}"
    );
    let file = app.path("back.csv");
    std::fs::write(&file, "email,name\nErasmus@Example.com,Erasmus\n").unwrap();
    let out = app.import_readers(&file);
    assert!(
        out.contains("1 on the suppression list, not added: 1 erased"),
        "{out}"
    );
    assert_eq!(app.columns_containing("erasmus"), Vec::<String>::new());
    // The operator may lift it (the reader asked to come back): then it imports.
    app.ok(&["subscribers", "unsuppress", "erasmus@example.com"]);
    let out = app.import_readers(&file);
    assert!(
        out.contains("imported 1 new subscribers (1 active)"),
        "{out}"
    );
}

/// An address, the status it must have, and whether it must be suppressed.
type Expected = (&'static str, &'static str, bool);

/// The expected results of tests/imports/FORMATS.md, section 7.
#[test]
fn each_tools_export_maps_to_our_statuses_and_suppressions() {
    let cases: &[(&str, &str, &[Expected])] = &[
        (
            "mailchimp",
            "mailchimp-subscribed.csv",
            &[
                ("ada.lovelace@example.com", "active", false),
                ("zoe.angstrom@example.org", "active", false),
                ("grace.hopper@example.com", "pending", false),
                ("plato@example.com", "pending", false),
            ],
        ),
        (
            "mailchimp",
            "mailchimp-unsubscribed.csv",
            &[
                ("left.reader@example.com", "unsubscribed", false),
                ("spam.reporter@example.net", "complained", true),
                ("ida.wells@example.org", "unsubscribed", false),
            ],
        ),
        (
            "mailchimp",
            "mailchimp-cleaned.csv",
            &[
                ("gone.mailbox@example.com", "bounced", true),
                ("bob.typo@example.net", "bounced", true),
            ],
        ),
        (
            "mailchimp",
            "mailchimp-nonsubscribed.csv",
            &[("shop.customer@example.com", "unsubscribed", false)],
        ),
        (
            "substack",
            "substack.csv",
            &[
                ("free.reader@example.com", "pending", false),
                ("emails.off@example.com", "unsubscribed", false),
                ("paid.but.muted@example.net", "unsubscribed", false),
                ("mixed.case@example.net", "pending", false),
            ],
        ),
        (
            "listmonk",
            "listmonk.csv",
            &[
                ("ada@example.com", "pending", false),
                ("paused.reader@example.com", "unsubscribed", false),
                ("hard.bounce@example.net", "unsubscribed", true),
                ("opted.out@example.org", "unsubscribed", true),
            ],
        ),
        (
            "buttondown",
            "buttondown.csv",
            &[
                ("regular.reader@example.com", "pending", false),
                ("not.confirmed@example.org", "pending", false),
                ("gone.away@example.net", "unsubscribed", false),
                ("removed.by.author@example.com", "unsubscribed", false),
                ("complainer@example.org", "complained", true),
                ("bounced.mixed@example.com", "bounced", true),
                ("blocked.signup@example.org", "unsubscribed", true),
            ],
        ),
        (
            "ghost",
            "ghost.csv",
            &[
                ("ada@example.com", "pending", false),
                ("unsubscribed.free@example.org", "unsubscribed", false),
                ("mixed.case@example.net", "unsubscribed", false),
            ],
        ),
    ];
    for (tool, file, expected) in cases {
        let app = App::new();
        let path = support::repo_path(&format!("tests/imports/{file}"));
        // Without --consent: only a basis the file itself records makes a reader active
        // (Mailchimp's confirmed opt-in); everyone else the tool called active is pending.
        let (_, out, err) = app.run(&["subscribers", "import", "--from", tool, path_str(&path)]);
        assert!(out.contains("imported"), "{file}: {out}{err}");
        let listed = app.statuses().to_lowercase();
        for (email, status, suppressed) in *expected {
            let line = listed
                .lines()
                .find(|l| l.starts_with(&format!("{email}\t")))
                .unwrap_or_else(|| panic!("{file}: {email} missing:\n{listed}\n{err}"));
            assert_eq!(line.split('\t').nth(2), Some(*status), "{file}: {email}");
            let shown = app.ok(&["subscribers", "show", email]);
            assert_eq!(
                !shown.contains("suppressed    no"),
                *suppressed,
                "{file}: {email}\n{shown}"
            );
        }
    }
    // The same files with the operator's statement: every reader the tool mailed is active.
    let app = App::new();
    let path = support::repo_path("tests/imports/buttondown.csv");
    let out = app.ok(&[
        "subscribers",
        "import",
        "--from",
        "buttondown",
        "--consent",
        "confirmed-elsewhere",
        path_str(&path),
    ]);
    assert!(
        out.contains("(4 active, 1 bounced, 1 complained, 1 pending, 3 unsubscribed)"),
        "{out}"
    );
    let shown = app.ok(&["subscribers", "show", "premium.reader@example.com"]);
    assert!(shown.contains("Zoë Ångström"), "{shown}");
    let app = App::new();
    let path = support::repo_path("tests/imports/mailchimp-subscribed.csv");
    app.ok(&[
        "subscribers",
        "import",
        "--from",
        "mailchimp",
        path_str(&path),
    ]);
    let shown = app.ok(&["subscribers", "show", "ada.lovelace@example.com"]);
    assert!(
        shown.contains("Europe/London")
            && shown.contains("joined        2021-03-04T09:15:22Z (by import)")
            && shown.contains("Mailchimp: signed up 2021-03-04 09:15:22 UTC from 198.51.100.23"),
        "{shown}"
    );
    let substack = App::new();
    let path = support::repo_path("tests/imports/substack.csv");
    let (ok, _, err) = substack.run(&[
        "subscribers",
        "import",
        "--from",
        "substack",
        path_str(&path),
    ]);
    assert!(!ok && err.contains("substack.csv:9: skipped:"), "{err}");
    let (ok, _, err) = substack.run(&["subscribers", "import", "--from", "ghost", path_str(&path)]);
    assert!(
        !ok && err.contains("no `subscribed_to_emails` column: is this Ghost's export?"),
        "{err}"
    );
}

/// Spreadsheet quirks every real file has, and rows built to hurt.
#[test]
fn quirky_and_hostile_files_cost_one_row_each() {
    let app = App::new();
    let quirky = app.path("quirky.csv");
    let mut bytes = b"\xEF\xBB\xBFEMAIL;Name;TIME_ZONE\r\n".to_vec();
    bytes.extend_from_slice(b"ada@example.com;\"Lovelace; Ada\";Europe/London\r\n");
    bytes.extend_from_slice(b"grace@example.com;\"Grace\r\nHopper\";\r\n");
    bytes.extend_from_slice(b"alan@example.com;Alan;\r\n");
    std::fs::write(&quirky, bytes).unwrap();
    let (ok, out, err) = app.run(&[
        "subscribers",
        "import",
        "--consent",
        "double-opt-in",
        path_str(&quirky),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("imported 2 new subscribers (2 active)"),
        "{out}"
    );
    assert!(
        err.contains("quirky.csv:3: skipped: name of grace@example.com"),
        "a BOM, `;`, CRLF, a quoted line break and upper-case headers: {err}"
    );
    assert!(app.statuses().contains("Lovelace; Ada"));

    let hostile = app.path("hostile.csv");
    let mut bytes = b"email,name\nfirst@example.com,First\n".to_vec();
    bytes.extend_from_slice(b"huge@example.com,");
    bytes.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    bytes.extend_from_slice(b"\nwide@example.com");
    bytes.extend(std::iter::repeat_n(b',', 1_000_000));
    bytes.extend_from_slice(b"\nbad\xff@example.com,Bytes\nlast@example.com,Last\n");
    std::fs::write(&hostile, bytes).unwrap();
    let (ok, out, err) = app.run(&[
        "subscribers",
        "import",
        "--consent",
        "confirmed-elsewhere",
        path_str(&hostile),
    ]);
    assert!(!ok);
    assert!(
        out.contains("imported 2 new subscribers (2 active)"),
        "{out}"
    );
    assert!(out.contains("3 rows skipped"), "{out}");
    let file = hostile.display().to_string();
    for (line, why) in [
        (3, "bytes long; the limit is"),
        (4, "the row has 1000001 fields; the header has 2"),
        (5, "not valid UTF-8"),
    ] {
        assert!(
            err.contains(&format!("{file}:{line}: skipped: ")) && err.contains(why),
            "line {line}: {why}\n{err}"
        );
    }
    assert!(
        err.len() < 4096,
        "no row is echoed whole: {} bytes",
        err.len()
    );
    assert_eq!(app.status_of("last@example.com"), "active");
}

/// The footer's "why you receive this" follows each reader's recorded basis.
#[test]
fn each_reader_is_told_the_basis_they_are_mailed_on() {
    let app = App::new();
    app.ok(&["subscribers", "add", "added@example.com"]);
    let file = app.path("moved.csv");
    std::fs::write(&file, "email\nmoved@example.com\n").unwrap();
    app.import_readers(&file);
    let out = app.ok(&["send", &app.sample_issue(), "--wait"]);
    assert!(out.contains("2 sent"), "{out}");
    let mut seen = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(app.path("outbox")).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let to = message
            .to()
            .and_then(|t| t.first())
            .and_then(|a| a.address())
            .unwrap()
            .to_owned();
        let text = message.body_text(0).unwrap().replace('\n', " ");
        let html = message.body_html(0).unwrap().into_owned();
        seen.insert(to, (text, html));
    }
    let (text, html) = &seen["added@example.com"];
    assert!(
        text.contains("because the editors added your address to the list."),
        "{text}"
    );
    assert!(html.contains("because the editors added your address to the list."));
    let (text, html) = &seen["moved@example.com"];
    assert!(
        text.contains("because you signed up with our previous mail service."),
        "{text}"
    );
    assert!(html.contains("because you signed up with our previous mail service."));
    assert!(
        !text.contains("confirmed") && !html.contains("confirmed by email"),
        "nobody imported is told they confirmed by email with us"
    );
}

/// Readers imported without a basis can be asked: each gets our confirmation mail, and stays
/// pending (never mailed an issue) until they click it.
#[test]
fn readers_without_a_basis_are_asked_to_confirm() {
    let app = App::new();
    let file = app.path("unsure.csv");
    std::fs::write(
        &file,
        "email,name,status\nask1@example.com,Ask One,\nask2@example.com,,pending\nleft@example.com,,unsubscribed\n",
    )
    .unwrap();
    let out = app.ok(&[
        "subscribers",
        "import",
        "--send-confirmations",
        path_str(&file),
    ]);
    assert!(
        out.contains("imported 3 new subscribers (2 pending, 1 unsubscribed)"),
        "{out}"
    );
    assert!(out.contains("2 confirmation mails queued"), "{out}");
    app.ok(&["worker", "--until-done"]);
    let mut to = Vec::new();
    for entry in std::fs::read_dir(app.path("outbox")).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert!(
            message
                .subject()
                .unwrap_or_default()
                .starts_with("Confirm your subscription"),
            "only confirmation mail goes out"
        );
        assert!(message.body_text(0).unwrap().contains("/confirm/"));
        to.push(
            message
                .to()
                .and_then(|t| t.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_owned(),
        );
    }
    to.sort();
    assert_eq!(to, ["ask1@example.com", "ask2@example.com"]);
    let out = app.ok(&["send", "--dry-run", &app.sample_issue()]);
    assert!(
        out.contains("would queue 0 new deliveries"),
        "pending until they confirm: {out}"
    );
}
