//! What the HTTP endpoint does with hostile, malformed and probing requests: stated
//! statuses, never a 5xx, nothing hostile echoed unescaped, no enumeration, tokens that
//! cannot be guessed, reused or stretched.

mod support;

use support::app::App;
use support::http::{Response, get, post_form, request};
use support::in_process::InProcessServer;

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// The stamp our form page would carry if it had been served `age_ms` ago.
fn form_stamp(age_ms: i64) -> String {
    let key = morningpost::domain::TokenKey::from_hex(support::app::SECRET_KEY).expect("key");
    morningpost::http::form_stamp::FormStamp::new(key).issue(morningpost::clock::now_ms() - age_ms)
}

fn server(app: &mut App) -> InProcessServer {
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "0");
    InProcessServer::start(app, false)
}

/// The response body without the parts that differ per request by design (none today);
/// kept as a function so the comparison says what it compares.
fn comparable(r: &Response) -> (u16, String) {
    (r.status, r.body.clone())
}

#[test]
fn every_sign_up_gets_the_same_answer_whatever_the_address_knows() {
    let mut app = App::new();
    let s = server(&mut app);
    let p = s.port;
    app.ok(&["subscribers", "add", "active@example.com"]);
    post_form(p, "/subscribe", "email=pending%40example.com");
    app.ok(&["subscribers", "add", "gone@example.com"]);
    app.sql("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'gone@example.com'");
    app.ok(&["subscribers", "add", "bounced@example.com"]);
    app.sql("UPDATE subscribers SET status = 'bounced' WHERE email = 'bounced@example.com'");

    let answers: Vec<(String, (u16, String))> = [
        "new@example.com",
        "pending@example.com",
        "active@example.com",
        "gone@example.com",
        "bounced@example.com",
    ]
    .iter()
    .map(|e| {
        (
            e.to_string(),
            comparable(&post_form(
                p,
                "/subscribe",
                &format!("email={}", e.replace('@', "%40")),
            )),
        )
    })
    .collect();
    for (email, answer) in &answers {
        assert_eq!(
            answer, &answers[0].1,
            "{email} is distinguishable from a new address"
        );
        assert_eq!(answer.0, 200);
    }
    let json: Vec<(u16, String)> = ["new2@example.com", "active@example.com"]
        .iter()
        .map(|e| {
            comparable(&request(
                p,
                "POST",
                "/subscribe",
                &[JSON],
                format!("{{\"email\":\"{e}\"}}").as_bytes(),
            ))
        })
        .collect();
    assert_eq!(json[0], json[1]);
    assert_eq!(
        app.status_of("active@example.com"),
        "active",
        "never demoted to pending (listmonk #2987)"
    );
    assert_eq!(
        app.status_of("gone@example.com"),
        "pending",
        "an unsubscribed address may sign up again, through confirmation"
    );
    assert_eq!(
        app.status_of("bounced@example.com"),
        "bounced",
        "a bounced address stays bounced unless the operator allows it"
    );
}

#[test]
fn a_pending_address_gets_at_most_one_mail_per_interval() {
    let mut app = App::new();
    let s = server(&mut app);
    for _ in 0..5 {
        assert_eq!(
            post_form(s.port, "/subscribe", "email=ada%40example.com").status,
            200
        );
    }
    let status = app.ok(&["status"]);
    assert!(
        status.contains("queued             1"),
        "one confirmation mail, not five: {status}"
    );
}

struct Hostile {
    name: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    status: u16,
    /// What the answer must say.
    says: &'static str,
}

fn form(name: &'static str, body: &str, status: u16, says: &'static str) -> Hostile {
    Hostile {
        name,
        headers: vec![FORM],
        body: body.as_bytes().to_vec(),
        status,
        says,
    }
}

fn json(name: &'static str, body: &str, status: u16, says: &'static str) -> Hostile {
    Hostile {
        name,
        headers: vec![JSON],
        body: body.as_bytes().to_vec(),
        status,
        says,
    }
}

const SENT: &str = "Check your inbox";
const NO_MAIL: &str = "That address cannot receive mail";
const BAD_NAME: &str = "That name cannot be used";
const UNSUPPORTED: &str = "send the form as application/x-www-form-urlencoded (UTF-8) or JSON";
const TOO_LARGE: &str = "larger than 16 KiB";

#[test]
fn hostile_sign_ups_get_their_stated_status_and_are_never_echoed_raw() {
    let mut app = App::new();
    let s = server(&mut app);
    let long_local = format!("email={}%40example.com", "a".repeat(300));
    let cases = vec![
        form(
            "CR/LF in the address",
            "email=ada%40example.com%0D%0ABcc%3A+victim%40example.com",
            422,
            NO_MAIL,
        ),
        form(
            "LF in the address",
            "email=ada%0A%40example.com",
            422,
            NO_MAIL,
        ),
        form(
            "CR/LF in the name",
            "email=crlf%40example.com&name=Ada%0D%0ABcc%3A+victim%40example.com",
            422,
            BAD_NAME,
        ),
        form("300-character local part", &long_local, 422, NO_MAIL),
        form(
            "script in the address",
            "email=%3Cscript%3Ealert(1)%3C%2Fscript%3E%40example.com",
            422,
            NO_MAIL,
        ),
        form(
            "script in the name",
            "email=xss%40example.com&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            200,
            SENT,
        ),
        form(
            "SQL in the address",
            "email=%27%3B+DROP+TABLE+subscribers%3B--%40example.com",
            422,
            NO_MAIL,
        ),
        form(
            "SQL in the name",
            "email=sql%40example.com&name=Robert%27%29%3B+DROP+TABLE+subscribers%3B--",
            200,
            SENT,
        ),
        form("empty address", "email=", 422, NO_MAIL),
        form("whitespace address", "email=+++", 422, NO_MAIL),
        form("no fields at all", "", 422, NO_MAIL),
        form(
            "repeated email field",
            "email=a%40example.com&email=b%40example.com",
            422,
            "The field &quot;email&quot; was sent more than once",
        ),
        form(
            "repeated name field",
            "email=c%40example.com&name=a&name=b",
            422,
            "The field &quot;name&quot; was sent more than once",
        ),
        form(
            "IDN domain",
            "email=reader%40b%C3%BCcher.example",
            200,
            SENT,
        ),
        form(
            "non-ASCII local part",
            "email=j%C3%B6rg%40example.com",
            422,
            NO_MAIL,
        ),
        form(
            "invalid UTF-8, percent-encoded",
            "email=%FF%FE%40example.com",
            422,
            "The field &quot;email&quot; is not valid UTF-8",
        ),
        // Raw bytes that are not UTF-8 (was: stored as "Ada\u{FFFD}\u{FFFD}", 200).
        Hostile {
            name: "invalid UTF-8, raw",
            headers: vec![FORM],
            body: b"email=rawbytes%40example.com&name=Ada\xff\xfe".to_vec(),
            status: 422,
            says: "The field &quot;name&quot; is not valid UTF-8",
        },
        // A correctly encoded U+FFFD is a character like any other (was: 422).
        form(
            "encoded U+FFFD in the name",
            "email=fffd%40example.com&name=Ada%EF%BF%BD",
            200,
            SENT,
        ),
        form(
            "honeypot filled",
            "email=bot%40example.com&website=http%3A%2F%2Fspam.example",
            200,
            SENT,
        ),
        form(
            "name of 101 characters",
            &format!("email=long%40example.com&name={}", "n".repeat(101)),
            422,
            BAD_NAME,
        ),
        json(
            "invalid JSON",
            "{\"email\": ",
            400,
            "the body is not valid JSON",
        ),
        json(
            "JSON array",
            "[\"a@example.com\"]",
            422,
            "send a JSON object",
        ),
        // Was: an HTML page.
        json(
            "JSON number for email",
            "{\"email\": 42}",
            422,
            "\"field\":\"email\",\"reason\":\"must be a string\"",
        ),
        // Was: 200, b@ stored.
        json(
            "JSON with the email key twice",
            "{\"email\":\"dup-a@example.com\",\"email\":\"dup-b@example.com\"}",
            422,
            "\"field\":\"email\",\"reason\":\"was sent more than once",
        ),
        json(
            "JSON with script name",
            "{\"email\":\"j@example.com\",\"name\":\"<img src=x onerror=alert(1)>\"}",
            200,
            SENT,
        ),
        Hostile {
            name: "wrong charset",
            headers: vec![(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=iso-8859-1",
            )],
            body: b"email=a%40example.com".to_vec(),
            status: 415,
            says: UNSUPPORTED,
        },
        Hostile {
            name: "text/plain",
            headers: vec![("Content-Type", "text/plain")],
            body: b"email=a@example.com".to_vec(),
            status: 415,
            says: UNSUPPORTED,
        },
        Hostile {
            name: "no content type",
            headers: vec![],
            body: b"email=a%40example.com".to_vec(),
            status: 415,
            says: UNSUPPORTED,
        },
        Hostile {
            name: "10 MB body",
            headers: vec![FORM],
            body: [
                b"email=a%40example.com&name=".as_slice(),
                &vec![b'x'; 10 * 1024 * 1024],
            ]
            .concat(),
            status: 413,
            says: TOO_LARGE,
        },
        Hostile {
            name: "17 KB body",
            headers: vec![FORM],
            body: vec![b'a'; 17 * 1024],
            status: 413,
            says: TOO_LARGE,
        },
    ];
    for case in &cases {
        let r = request(s.port, "POST", "/subscribe", &case.headers, &case.body);
        assert_eq!(
            r.status,
            case.status,
            "{}: {}",
            case.name,
            r.body.chars().take(300).collect::<String>()
        );
        assert!(
            r.body.contains(case.says),
            "{}: does not say {:?}: {}",
            case.name,
            case.says,
            r.body.chars().take(600).collect::<String>()
        );
        // A JSON request gets a JSON answer, whatever went wrong with it.
        if case.headers.contains(&JSON) && r.status != 413 {
            assert_eq!(
                r.header("content-type"),
                Some("application/json"),
                "{}",
                case.name
            );
        }
        for raw in ["<script>alert(1)</script>", "<img src=x onerror"] {
            assert!(
                !r.body.contains(raw),
                "{}: echoed {raw:?} unescaped",
                case.name
            );
        }
        // A line break echoed inside an HTML attribute is harmless; in a header it would not be.
        for (k, v) in &r.headers {
            assert!(
                !v.contains("victim") && !k.contains("Bcc"),
                "{}: hostile input in a header",
                case.name
            );
        }
    }
    // The input is kept (escaped) when the form is shown again.
    let r = post_form(
        s.port,
        "/subscribe",
        "email=%3Cb%3Enot-an-address&name=%22Ada%22",
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("value=\"&lt;b&gt;not-an-address\"")
            && r.body.contains("value=\"&quot;Ada&quot;\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("role=\"alert\""));
    // Nothing hostile was stored; the accepted ones were, verbatim, as pending.
    let list = app.statuses();
    assert!(
        !list.contains("victim") && !list.contains("DROP TABLE subscribers;--@"),
        "{list}"
    );
    assert!(
        list.contains("sql@example.com\tRobert'); DROP TABLE subscribers;--\tpending"),
        "{list}"
    );
    assert!(list.contains("reader@xn--bcher-kva.example"), "{list}");
    assert!(
        list.contains("fffd@example.com\tAda\u{FFFD}\tpending"),
        "{list}"
    );
    for refused in [
        "rawbytes@",
        "dup-a@",
        "dup-b@",
        "crlf@",
        "long@",
        "c@example",
    ] {
        assert!(!list.contains(refused), "{refused} was stored: {list}");
    }
    assert!(
        !list.contains("bot@example.com"),
        "the honeypot stored nothing"
    );
}

#[test]
fn tokens_expired_reused_truncated_and_forged_get_their_answers() {
    let mut app = App::new();
    app.set("MORNINGPOST_SMTP_URL", "smtp://127.0.0.1:1?tls=none");
    let s = server(&mut app);
    let p = s.port;
    // Tokens as the confirmation mail would carry them: derived from the stored id with
    // the secret key the test configured.
    post_form(p, "/subscribe", "email=ada%40example.com");
    post_form(p, "/subscribe", "email=old%40example.com");
    let key = morningpost::domain::TokenKey::from_hex(support::app::SECRET_KEY).unwrap();
    let token_for = |email: &str| -> String {
        let id = confirmation_id(&app, email);
        key.confirmation_token(id).expose().to_owned()
    };
    let ada = token_for("ada@example.com");
    let old = token_for("old@example.com");
    app.sql("UPDATE confirmation_tokens SET expires_at = 0 WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'old@example.com')");

    let forged = morningpost::domain::Token::generate();
    for (name, path, status, says) in [
        (
            "forged",
            format!("/confirm/{}", forged.expose()),
            404,
            "not valid",
        ),
        (
            "truncated",
            format!("/confirm/{}", &ada[..30]),
            404,
            "not valid",
        ),
        ("too long", format!("/confirm/{ada}x"), 404, "not valid"),
        (
            "bad characters",
            format!("/confirm/{}%2F", &ada[..42]),
            404,
            "not valid",
        ),
        ("expired", format!("/confirm/{old}"), 410, "expired"),
        ("valid", format!("/confirm/{ada}"), 200, "subscribed"),
        (
            "reused",
            format!("/confirm/{ada}"),
            200,
            "Already confirmed",
        ),
        (
            "forged unsubscribe",
            format!("/unsubscribe/{}", forged.expose()),
            404,
            "not valid",
        ),
        (
            "truncated unsubscribe",
            "/unsubscribe/abc".to_owned(),
            404,
            "not valid",
        ),
    ] {
        let r = post_form(p, &path, "");
        assert_eq!(r.status, status, "{name}");
        assert!(r.body.contains(says), "{name}: {}", r.body);
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{name}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{name}");
    }
    assert_eq!(app.status_of("ada@example.com"), "active");
    assert_eq!(
        app.status_of("old@example.com"),
        "pending",
        "an expired link changes nothing"
    );
    let expired = post_form(p, &format!("/confirm/{old}"), "");
    assert!(
        expired.body.contains("value=\"old@example.com\""),
        "the expired page offers a new link for the address"
    );
}

fn confirmation_id(app: &App, email: &str) -> uuid::Uuid {
    let ids = app.uuids("SELECT t.id FROM confirmation_tokens t JOIN subscribers s ON s.id = t.subscriber_id WHERE s.email = $1", email);
    assert_eq!(ids.len(), 1, "one confirmation token for {email}");
    ids[0]
}

#[test]
fn one_click_unsubscribe_takes_form_and_multipart_bodies() {
    let mut app = App::new();
    let s = server(&mut app);
    app.ok(&["subscribers", "add", "a@example.com"]);
    app.ok(&["subscribers", "add", "b@example.com"]);
    let key = morningpost::domain::TokenKey::from_hex(support::app::SECRET_KEY).unwrap();
    let token = |email: &str| {
        key.unsubscribe_token(subscriber_id(&app, email))
            .expose()
            .to_owned()
    };

    let page = get(s.port, &format!("/unsubscribe/{}", token("a@example.com")));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("a@example.com") && page.body.contains("method=\"post\""));
    assert_eq!(
        app.status_of("a@example.com"),
        "active",
        "GET changes nothing"
    );

    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
    let r = request(
        s.port,
        "POST",
        &format!("/unsubscribe/{}", token("b@example.com")),
        &[("Content-Type", "multipart/form-data; boundary=XyZ")],
        multipart.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.status_of("b@example.com"), "unsubscribed");
    let r = post_form(
        s.port,
        &format!("/unsubscribe/{}", token("a@example.com")),
        "List-Unsubscribe=One-Click",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("unsubscribed") && r.body.contains("action=\"/subscribe\""),
        "offers to subscribe again"
    );
    assert_eq!(app.status_of("a@example.com"), "unsubscribed");
}

fn subscriber_id(app: &App, email: &str) -> uuid::Uuid {
    app.uuids("SELECT id FROM subscribers WHERE email = $1", email)[0]
}

#[test]
fn every_response_carries_the_security_headers() {
    let mut app = App::new();
    let s = server(&mut app);
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/issues"),
        ("GET", "/healthz"),
        ("GET", "/nope"),
        ("POST", "/subscribe"),
        ("GET", "/confirm/x"),
    ] {
        let r = request(s.port, method, path, &[FORM], b"email=x");
        let csp = r.header("content-security-policy").unwrap_or_default();
        // One script may run, named by its hash (tests/time_zones.rs ties it to the page).
        let scripts = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && scripts.starts_with("script-src 'sha256-")
                && scripts.split_whitespace().count() == 2
                && csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        // Not `no-referrer`: under it browsers post our own form with `Origin: null`, which
        // the cross-site check must refuse.
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
    }
    let page = get(s.port, "/");
    assert!(
        page.body.contains("<label for=\"email\">") && page.body.contains("aria-hidden=\"true\""),
        "labels and a hidden honeypot"
    );
    assert_eq!(
        page.body.to_ascii_lowercase().matches("<script").count(),
        1,
        "one script: the time-zone filler"
    );
}

#[test]
fn the_sign_up_rate_limit_answers_429_with_retry_after() {
    let mut app = App::new();
    app.set("MORNINGPOST_SUBSCRIBE_RATE_PER_MINUTE", "3");
    let s = InProcessServer::start(&mut app, false);
    let statuses: Vec<u16> = (0..5)
        .map(|i| post_form(s.port, "/subscribe", &format!("email=r{i}%40example.com")).status)
        .collect();
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    let limited = post_form(s.port, "/subscribe", "email=late%40example.com");
    assert_eq!(limited.status, 429);
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(get(s.port, "/").status, 200, "only sign-ups are limited");
}

#[test]
fn a_form_posted_from_another_site_is_refused() {
    let mut app = App::new();
    app.set("MORNINGPOST_ALLOWED_ORIGINS", "https://blog.example.org");
    let s = server(&mut app);
    let own = format!("http://127.0.0.1:{}", s.port);
    let own_page = format!("{own}/issues");
    let other_port = "http://127.0.0.1:1".to_owned();
    // (who, headers, status); the address is made from the index.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case> = vec![
        (
            "Origin of another site",
            vec![FORM, ("Origin", "https://evil.example")],
            403,
        ),
        (
            "Referer of another site",
            vec![FORM, ("Referer", "https://evil.example/p?q=1")],
            403,
        ),
        (
            "Origin null (a sandboxed or no-referrer page)",
            vec![FORM, ("Origin", "null")],
            403,
        ),
        (
            "Origin on another port",
            vec![FORM, ("Origin", &other_port)],
            403,
        ),
        (
            "text/plain from another site",
            vec![
                ("Content-Type", "text/plain"),
                ("Origin", "https://evil.example"),
            ],
            403,
        ),
        ("our own Origin", vec![FORM, ("Origin", &own)], 200),
        ("our own Referer", vec![FORM, ("Referer", &own_page)], 200),
        (
            "an allowed origin",
            vec![FORM, ("Origin", "https://blog.example.org")],
            200,
        ),
        ("neither header (curl, old clients)", vec![FORM], 200),
    ];
    // Each form as our page would send it, filled in over five seconds.
    let stamp = form_stamp(5_000);
    for (i, (who, headers, status)) in cases.iter().enumerate() {
        let r = request(
            s.port,
            "POST",
            "/subscribe",
            headers,
            format!("email=site{i}%40example.com&form_started={stamp}").as_bytes(),
        );
        assert_eq!(r.status, *status, "{who}: {}", r.body);
        if *status == 403 {
            assert!(
                r.body.contains("sent from another site")
                    && r.body.contains("action=\"/subscribe\""),
                "{who}: explains and offers our own form: {}",
                r.body
            );
        }
    }
    assert!(
        request(
            s.port,
            "POST",
            "/subscribe",
            &[FORM, ("Origin", "https://evil.example")],
            b"email=x"
        )
        .body
        .contains("(https://evil.example)"),
        "names the site it came from"
    );
    // A JSON call is an API call: browsers do not send one across sites without CORS.
    let r = request(
        s.port,
        "POST",
        "/subscribe",
        &[JSON, ("Origin", "https://evil.example")],
        b"{\"email\":\"api@example.com\"}",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let list = app.statuses();
    for (i, (who, _, status)) in cases.iter().enumerate() {
        let stored = list.contains(&format!("site{i}@example.com\t"));
        assert_eq!(stored, *status == 200, "{who}: stored = {stored}: {list}");
    }
    assert!(list.contains("api@example.com\t"), "{list}");
}

/// A bot that fetches the form and posts it back at once, or forges its stamp, gets the same
/// answer as a person, and nothing is stored or mailed. A post from our own page without a
/// stamp was not made with our form; a script that names no site, a form embedded on an
/// allowed site and a JSON call carry none and are let through.
#[test]
fn a_form_posted_back_faster_than_a_person_could_is_answered_and_nothing_stored() {
    let mut app = App::new();
    app.set("MORNINGPOST_ALLOWED_ORIGINS", "https://blog.example.org");
    let s = server(&mut app);
    let own = format!("http://127.0.0.1:{}", s.port);
    let page = get(s.port, "/").body;
    let served = page
        .split("name=\"form_started\" type=\"hidden\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries its stamp")
        .to_owned();
    let (time, mac) = served.split_once('.').expect("TIME.MAC");
    let moved_back = format!("{}.{mac}", time.parse::<i64>().expect("ms") - 10_000);
    let human = form_stamp(3_000);
    // (who, headers, stamp or none, stored?)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>, bool);
    let cases: Vec<Case> = vec![
        (
            "posted back at once",
            vec![FORM, ("Origin", &own)],
            Some(&served),
            false,
        ),
        (
            "a stamp moved back in time",
            vec![FORM, ("Origin", &own)],
            Some(&moved_back),
            false,
        ),
        (
            "a made-up stamp",
            vec![FORM, ("Origin", &own)],
            Some("1.AAAAAAAAAAAAAAAAAAAAAA"),
            false,
        ),
        (
            "our own page without its stamp",
            vec![FORM, ("Origin", &own)],
            None,
            false,
        ),
        (
            "a person, three seconds later",
            vec![FORM, ("Origin", &own)],
            Some(&human),
            true,
        ),
        ("a script naming no site", vec![FORM], None, true),
        (
            "a form embedded on an allowed site",
            vec![FORM, ("Origin", "https://blog.example.org")],
            None,
            true,
        ),
    ];
    for (i, (who, headers, stamp, _)) in cases.iter().enumerate() {
        let mut body = format!("email=bot{i}%40example.com");
        if let Some(stamp) = stamp {
            body.push_str(&format!("&form_started={stamp}"));
        }
        let r = request(s.port, "POST", "/subscribe", headers, body.as_bytes());
        assert_eq!(r.status, 200, "{who}: {}", r.body);
        assert!(
            r.body.contains("Check your inbox"),
            "{who}: the same answer as anyone"
        );
    }
    let r = request(
        s.port,
        "POST",
        "/subscribe",
        &[JSON, ("Origin", &own)],
        b"{\"email\":\"api-bot@example.com\"}",
    );
    assert_eq!(r.status, 200, "a JSON call needs no stamp: {}", r.body);
    let list = app.statuses();
    for (i, (who, _, _, stored)) in cases.iter().enumerate() {
        assert_eq!(
            list.contains(&format!("bot{i}@example.com\t")),
            *stored,
            "{who}: {list}"
        );
    }
    assert!(list.contains("api-bot@example.com\t"), "{list}");
}
