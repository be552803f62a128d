//! Where a subscriber's time zone comes from (docs/architecture.md decision 26): the sign-up
//! form's hidden field (filled by a script the Content-Security-Policy allows by its hash),
//! an import column, `subscribers set-zone`. Each is checked against the tz database; on the
//! form anything else means no zone and the same answer.

mod support;

use support::seed::sign_up;

use base64::Engine;
use morningpost::domain::{SubscriberEmail, TimeZoneName, TokenKey};
use morningpost::store::{AddOutcome, NewSubscriber, Store, SubscriberStatus};
use sha2::{Digest, Sha256};
use support::app::{App, path_str};
use support::http::{Response, get, post_form, request};
use support::in_process::InProcessServer;
use uuid::Uuid;

fn zone(name: &str) -> TimeZoneName {
    TimeZoneName::parse(name).unwrap()
}

async fn store() -> ((support::db::TestDb, tempfile::TempDir), Store, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let db = support::db::TestDb::new(dir.path());
    let store = Store::connect(&db.url).await.unwrap();
    let template = support::seed::confirmation_template(&store).await;
    ((db, dir), store, template)
}

async fn zone_of(store: &Store, email: &str) -> Option<String> {
    store
        .subscriber_by_email(email)
        .await
        .unwrap()
        .expect("the subscriber exists")
        .time_zone
}

#[tokio::test]
async fn a_sign_up_stores_its_zone_and_a_later_one_only_fills_a_missing_zone() {
    let (_d, store, t) = store().await;
    let batch = [
        sign_up("berlin@example.com", Some("Europe/Berlin"), t, 10),
        sign_up("none@example.com", None, t, 10),
        // The same new address twice in one batch: the first zone given is the one.
        sign_up("twice@example.com", None, t, 10),
        sign_up("TWICE@example.com", Some("Asia/Tokyo"), t, 10),
        sign_up("twice@example.com", Some("America/New_York"), t, 10),
    ];
    store.subscribe_batch(&batch).await.unwrap();
    assert_eq!(
        zone_of(&store, "berlin@example.com").await.as_deref(),
        Some("Europe/Berlin")
    );
    assert_eq!(zone_of(&store, "none@example.com").await, None);
    assert_eq!(
        zone_of(&store, "twice@example.com").await.as_deref(),
        Some("Asia/Tokyo")
    );

    // Known addresses sign up again: a stored zone stays, a missing one is filled.
    let later = [
        sign_up("berlin@example.com", Some("Pacific/Auckland"), t, 700_000),
        sign_up("none@example.com", Some("America/Sao_Paulo"), t, 700_000),
    ];
    store.subscribe_batch(&later).await.unwrap();
    assert_eq!(
        zone_of(&store, "berlin@example.com").await.as_deref(),
        Some("Europe/Berlin"),
        "a form never replaces a zone"
    );
    assert_eq!(
        zone_of(&store, "none@example.com").await.as_deref(),
        Some("America/Sao_Paulo")
    );
    // Without a zone, nothing is cleared.
    store
        .subscribe(&sign_up("berlin@example.com", None, t, 1_400_000))
        .await
        .unwrap();
    assert_eq!(
        zone_of(&store, "berlin@example.com").await.as_deref(),
        Some("Europe/Berlin")
    );
}

#[tokio::test]
async fn an_import_stores_its_zone_and_set_time_zone_changes_or_clears_it() {
    let (_d, store, _) = store().await;
    let key = TokenKey::from_bytes([3; 32]);
    let tokyo = zone("Asia/Tokyo");
    let emails = ["a@example.com", "b@example.com"].map(|e| SubscriberEmail::parse(e).unwrap());
    let batch: Vec<NewSubscriber<'_>> = emails
        .iter()
        .zip([Some(&tokyo), None])
        .map(|(email, time_zone)| {
            let id = Uuid::now_v7();
            NewSubscriber {
                id,
                email,
                name: None,
                time_zone,
                status: SubscriberStatus::Active,
                source: morningpost::store::Source::Import,
                consent: Some(morningpost::store::Consent::ConfirmedElsewhere),
                consent_note: None,
                unsubscribe_hash: key.unsubscribe_token(id).hash(),
                now: 0,
            }
        })
        .collect();
    assert_eq!(
        store.import_subscribers(&batch).await.unwrap(),
        [AddOutcome::Added, AddOutcome::Added]
    );
    assert_eq!(
        zone_of(&store, "a@example.com").await.as_deref(),
        Some("Asia/Tokyo")
    );
    assert_eq!(zone_of(&store, "b@example.com").await, None);
    let listed: Vec<(String, Option<String>)> = store
        .subscribers(None)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.email, s.time_zone))
        .collect();
    assert!(listed.contains(&("a@example.com".into(), Some("Asia/Tokyo".into()))));

    let lima = zone("America/Lima");
    assert!(
        store
            .set_time_zone("b@example.com", Some(&lima), 5)
            .await
            .unwrap()
    );
    assert_eq!(
        zone_of(&store, "b@example.com").await.as_deref(),
        Some("America/Lima")
    );
    assert!(store.set_time_zone("a@example.com", None, 6).await.unwrap());
    assert_eq!(zone_of(&store, "a@example.com").await, None);
    assert!(
        !store
            .set_time_zone("nobody@example.com", Some(&lima), 7)
            .await
            .unwrap(),
        "no such subscriber"
    );
}

// ---- The sign-up form ----

fn server(app: &mut App) -> InProcessServer {
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    InProcessServer::start(app, false)
}

/// `email → zone` from `subscribers list` (`-`: none of its own).
fn listed_zone(app: &App, email: &str) -> String {
    app.statuses()
        .lines()
        .find(|l| l.starts_with(&format!("{email}\t")))
        .and_then(|l| l.split('\t').nth(3))
        .unwrap_or("absent")
        .to_owned()
}

/// What a client sees: status, body, and the headers that do not change per request.
fn answer(r: &Response) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
        .cloned()
        .collect();
    headers.sort();
    (r.status, r.body.clone(), headers)
}

#[test]
fn the_form_stores_a_known_zone_and_drops_anything_else_with_the_same_answer() {
    let mut app = App::new();
    let s = server(&mut app);
    let form = |body: &str| post_form(s.port, "/subscribe", body);
    let valid = form("email=berlin%40example.com&time_zone=Europe%2FBerlin");
    assert_eq!(valid.status, 200, "{}", valid.body);
    for (email, zone) in [
        ("mars", "Mars%2FBase"),
        ("script", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        ("path", "..%2F..%2Fetc%2Fpasswd"),
        ("empty", ""),
    ] {
        let r = form(&format!("email={email}%40example.com&time_zone={zone}"));
        assert_eq!(answer(&r), answer(&valid), "{email}: the same answer");
    }
    let without = form("email=nojs%40example.com");
    assert_eq!(
        answer(&without),
        answer(&valid),
        "no field: the same answer"
    );
    let twice = form("email=twice%40example.com&time_zone=UTC&time_zone=Asia%2FTokyo");
    assert_eq!(
        answer(&twice),
        answer(&valid),
        "sent twice: the same answer"
    );

    assert_eq!(listed_zone(&app, "berlin@example.com"), "Europe/Berlin");
    for email in ["mars", "script", "path", "empty", "nojs", "twice"] {
        assert_eq!(
            listed_zone(&app, &format!("{email}@example.com")),
            "-",
            "{email}: stored without a zone"
        );
    }

    // JSON sign-ups take the field too, on the same terms.
    let json = |body: &str| {
        request(
            s.port,
            "POST",
            "/subscribe",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    };
    let ok = json(r#"{"email":"tokyo@example.com","time_zone":"Asia/Tokyo"}"#);
    for body in [
        r#"{"email":"j1@example.com","time_zone":"Mars/Base"}"#,
        r#"{"email":"j2@example.com","time_zone":42}"#,
        r#"{"email":"j3@example.com","time_zone":null}"#,
    ] {
        assert_eq!(answer(&json(body)), answer(&ok), "{body}");
    }
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(listed_zone(&app, "tokyo@example.com"), "Asia/Tokyo");
    for email in ["j1", "j2", "j3"] {
        assert_eq!(listed_zone(&app, &format!("{email}@example.com")), "-");
    }
}

/// The text of the page's one `<script>` element.
fn script_of(page: &str) -> &str {
    let start = page.find("<script>").expect("the page has a script") + "<script>".len();
    let len = page[start..].find("</script>").expect("the script ends");
    &page[start..start + len]
}

#[test]
fn the_policy_allows_exactly_the_served_script_by_its_hash() {
    let mut app = App::new();
    let s = server(&mut app);
    let page = get(s.port, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(r#"<input id="time_zone" name="time_zone" type="hidden" value="">"#),
        "the hidden field, empty until the script runs: {}",
        page.body
    );
    let script = script_of(&page.body);
    assert!(script.contains("resolvedOptions().timeZone"), "{script}");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));

    // The form is also shown again with an error.
    let again = post_form(s.port, "/subscribe", "email=not-an-address");
    assert_eq!(again.status, 422);
    for r in [&page, &again] {
        assert_eq!(script_of(&r.body), script, "one script everywhere");
        let csp = r.header("content-security-policy").unwrap_or_default();
        let directive = |name: &str| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.split_whitespace().next() == Some(name))
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            directive("script-src"),
            format!("script-src 'sha256-{hash}'"),
            "{csp}"
        );
        assert_eq!(directive("default-src"), "default-src 'none'", "{csp}");
        assert!(
            !directive("script-src").contains("unsafe"),
            "no 'unsafe-inline' for scripts: {csp}"
        );
    }
}

// ---- The command line ----

#[test]
fn an_import_reads_a_zone_column_and_reports_a_bad_zone_by_line() {
    let app = App::new();
    let csv = app.path("readers.csv");
    std::fs::write(
        &csv,
        "email,name,time_zone\n\
         ada@example.com,Ada,Europe/London\n\
         grace@example.com,Grace,\n\
         alan@example.com,Alan,Mars/Base\n\
         kat@example.com,Katherine,  america/new_york \n",
    )
    .unwrap();
    let (ok, out, err) = app.run(&[
        "subscribers",
        "import",
        path_str(&csv),
        "--consent",
        "confirmed-elsewhere",
    ]);
    assert!(!ok, "a skipped row makes the exit status 2: {out}");
    assert!(out.contains("imported 3 new subscribers"), "{out}");
    assert!(
        err.contains(
            ":4: skipped: time zone of alan@example.com: \"Mars/Base\" is not a time zone"
        ),
        "{err}"
    );
    assert_eq!(listed_zone(&app, "ada@example.com"), "Europe/London");
    assert_eq!(listed_zone(&app, "grace@example.com"), "-");
    assert_eq!(
        listed_zone(&app, "kat@example.com"),
        "America/New_York",
        "stored in the tz database's spelling"
    );
    assert_eq!(listed_zone(&app, "alan@example.com"), "absent");

    // `timezone` is the same column; export writes `time_zone`, and imports back.
    let other = app.path("other.csv");
    std::fs::write(&other, "Email,TimeZone\nlin@example.com,Asia/Shanghai\n").unwrap();
    app.import_readers(&other);
    assert_eq!(listed_zone(&app, "lin@example.com"), "Asia/Shanghai");
    let export = app.ok(&["subscribers", "export"]);
    assert!(
        export
            .lines()
            .nth(1)
            .is_some_and(|h| h.contains(",time_zone,")),
        "{export}"
    );
    assert!(export.contains(",Europe/London,"), "{export}");
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
        "zones survive the trip"
    );

    let both = app.path("both.csv");
    std::fs::write(&both, "email,time_zone,timezone\nx@example.com,UTC,UTC\n").unwrap();
    let (ok, _, err) = app.run(&["subscribers", "import", path_str(&both)]);
    assert!(!ok && err.contains("keep one"), "{err}");
}

#[test]
fn set_zone_sets_clears_and_refuses_what_it_cannot_do() {
    let mut app = App::new();
    app.set("MORNINGPOST_TIMEZONE", "Europe/Paris");
    app.ok(&["subscribers", "add", "ada@example.com"]);

    let out = app.ok(&["subscribers", "set-zone", "Ada@Example.com", "asia/kolkata"]);
    assert!(
        out.contains("time zone Asia/Kolkata (was none: the newsletter's, Europe/Paris)"),
        "{out}"
    );
    assert_eq!(listed_zone(&app, "ada@example.com"), "Asia/Kolkata");
    let out = app.ok(&["subscribers", "set-zone", "ada@example.com", "Asia/Kolkata"]);
    assert!(out.contains("nothing changed"), "{out}");
    let out = app.ok(&["subscribers", "set-zone", "ada@example.com", "America/Lima"]);
    assert!(out.contains("(was Asia/Kolkata)"), "{out}");

    for clear in ["-", "none", "NONE"] {
        app.ok(&["subscribers", "set-zone", "ada@example.com", "UTC"]);
        let out = app.ok(&["subscribers", "set-zone", "ada@example.com", clear]);
        assert!(
            out.contains("time zone cleared (was UTC); the newsletter's, Europe/Paris, applies"),
            "{clear}: {out}"
        );
        assert_eq!(listed_zone(&app, "ada@example.com"), "-");
    }

    for (email, zone, says) in [
        (
            "nobody@example.com",
            "UTC",
            "no subscriber has the address nobody@example.com",
        ),
        (
            "ada@example.com",
            "Mars/Base",
            "\"Mars/Base\" is not a time zone",
        ),
        ("ada@example.com", "+05:30", "is not a time zone"),
        (
            "not an address",
            "UTC",
            "cannot set the time zone of \"not an address\"",
        ),
    ] {
        let run = app
            .command(&["subscribers", "set-zone", email, zone])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{email} {zone}: {err}");
        assert!(run.stdout.is_empty(), "{email} {zone}");
        assert!(err.contains(says), "{email} {zone}: {err}");
    }
    assert_eq!(listed_zone(&app, "ada@example.com"), "-", "unchanged");
}
