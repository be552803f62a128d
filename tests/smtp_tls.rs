//! TLS and AUTH against a real SMTP server (aiosmtpd) with a certificate from a test CA made
//! at test time: STARTTLS and implicit TLS, AUTH PLAIN and LOGIN with a password full of URL
//! delimiters, and the failures an operator must hear of at once (untrusted certificate,
//! refused login) classified as relay problems.

mod support;

use std::io::Read;
use std::time::Duration;

use morningpost::mail::transport::SendFailure;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use support::app::App;
use support::tls::{Login, TestPki, TlsMode, TlsSmtpServer};

/// A user name and password with every character that broke or could break the URL.
const USER: &str = "ops+mail&co%:@/Jürgen";
const PASSWORD: &str = "p+a&s%s:w@o/r#d?ß€ 1";

fn url(scheme: &str, port: u16, user: &str, password: &str, query: &str) -> String {
    format!(
        "{scheme}://{}:{}@127.0.0.1:{port}{query}",
        utf8_percent_encode(user, NON_ALPHANUMERIC),
        utf8_percent_encode(password, NON_ALPHANUMERIC)
    )
}

fn login(mechanisms: &'static [&'static str]) -> Option<Login<'static>> {
    Some(Login {
        user: USER,
        password: PASSWORD,
        mechanisms,
    })
}

/// Sends one small message through the transport the environment names.
fn send(env: &[(&str, &str)]) -> Result<String, SendFailure> {
    let mut env = env.to_vec();
    env.extend([
        ("MORNINGPOST_SMTP_TIMEOUT_SECONDS", "5"),
        ("MORNINGPOST_LEASE_SECONDS", "30"),
    ]);
    support::send_one::send_one(&support::settings(&env))
}

#[test]
fn starttls_and_implicit_tls_deliver_with_a_private_ca_and_either_login_mechanism() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = TestPki::new(&dir.path().join("pki"));
    let ca = pki.ca.display().to_string();
    for (i, (mode, mechanisms, scheme, query)) in [
        (TlsMode::StartTls, &["PLAIN"][..], "smtp", "?tls=starttls"),
        (TlsMode::StartTls, &["LOGIN"][..], "smtp", ""),
        (TlsMode::Implicit, &["LOGIN"][..], "smtps", ""),
        (TlsMode::Implicit, &["PLAIN"][..], "smtps", ""),
    ]
    .into_iter()
    .enumerate()
    {
        let server = TlsSmtpServer::start(
            &dir.path().join(format!("server{i}")),
            mode,
            &pki.server_cert,
            &pki.server_key,
            login(mechanisms),
        );
        let url = url(scheme, server.port, USER, PASSWORD, query);
        let reply = send(&[
            ("MORNINGPOST_SMTP_URL", &url),
            ("MORNINGPOST_SMTP_CA_FILE", &ca),
        ])
        .unwrap_or_else(|e| panic!("{mode:?} {mechanisms:?}: {}", e.reply()));
        assert!(reply.starts_with("250 2.0.0"), "{reply}");
        let messages = server.messages();
        assert_eq!(messages.len(), 1, "{mode:?} {mechanisms:?}");
        let m = &messages[0];
        assert!(m.contains("X-TLS: yes\r\n"), "{m}");
        assert!(
            m.contains(&format!("X-Auth-Mechanism: {}\r\n", mechanisms[0])),
            "{m}"
        );
        assert!(m.contains(&format!("X-Auth-User: {USER}\r\n")), "{m}");
    }
}

#[test]
fn an_untrusted_certificate_is_a_relay_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = TestPki::new(&dir.path().join("pki"));
    let ca = pki.ca.display().to_string();
    // (mode, certificate, CA file given, why)
    for (i, (mode, cert, key, ca_file)) in [
        // Signed by a CA nobody told us to trust.
        (TlsMode::StartTls, &pki.server_cert, &pki.server_key, None),
        (TlsMode::Implicit, &pki.server_cert, &pki.server_key, None),
        // Self-signed, though a (different) CA is trusted.
        (
            TlsMode::StartTls,
            &pki.self_signed_cert,
            &pki.self_signed_key,
            Some(ca.as_str()),
        ),
        (
            TlsMode::Implicit,
            &pki.self_signed_cert,
            &pki.self_signed_key,
            Some(ca.as_str()),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let server = TlsSmtpServer::start(&dir.path().join(format!("s{i}")), mode, cert, key, None);
        let url = match mode {
            TlsMode::StartTls => format!("smtp://127.0.0.1:{}?tls=starttls", server.port),
            TlsMode::Implicit => format!("smtps://127.0.0.1:{}", server.port),
        };
        let mut env = vec![("MORNINGPOST_SMTP_URL", url.as_str())];
        if let Some(ca) = ca_file {
            env.push(("MORNINGPOST_SMTP_CA_FILE", ca));
        }
        let failure = send(&env).expect_err("an untrusted certificate is refused");
        assert!(
            matches!(failure, SendFailure::Relay { .. }),
            "{mode:?} {i}: {failure:?}"
        );
        // UnknownIssuer for the unknown CA; CaUsedAsEndEntity for openssl's self-signed one.
        let reply = failure.reply();
        assert!(
            reply.contains("invalid peer certificate"),
            "{mode:?} {i}: {reply}"
        );
        assert_eq!(
            reply.matches("Connection error").count(),
            1,
            "each cause once: {reply}"
        );
        assert!(server.messages().is_empty(), "nothing was sent in clear");
    }
}

#[test]
fn a_refused_login_is_a_relay_problem_in_the_servers_words() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = TestPki::new(&dir.path().join("pki"));
    let server = TlsSmtpServer::start(
        &dir.path().join("server"),
        TlsMode::StartTls,
        &pki.server_cert,
        &pki.server_key,
        login(&[]),
    );
    let ca = pki.ca.display().to_string();
    // The password as today's code decoded it: `+` as a space, cut at `&`.
    for wrong in ["p a", "p+a&s%s:w@o/r#d?ß€ 2"] {
        let url = url("smtp", server.port, USER, wrong, "?tls=starttls");
        let failure = send(&[
            ("MORNINGPOST_SMTP_URL", &url),
            ("MORNINGPOST_SMTP_CA_FILE", &ca),
        ])
        .expect_err("a wrong password is refused");
        assert!(matches!(failure, SendFailure::Relay { .. }), "{failure:?}");
        assert_eq!(
            failure.reply(),
            "535 5.7.8 Authentication credentials invalid (in reply to AUTH)"
        );
    }
    assert!(server.messages().is_empty());
}

/// End to end: the worker keeps the delivery queued, records the server's words, and logs
/// the relay problem at ERROR at once (on today's code: a debug line, for three days).
#[test]
fn the_worker_retries_a_relay_problem_and_logs_it_at_error() {
    let mut app = App::new();
    let pki = TestPki::new(&app.path("pki"));
    let server = TlsSmtpServer::start(
        &app.path("server"),
        TlsMode::StartTls,
        &pki.server_cert,
        &pki.server_key,
        login(&[]),
    );
    app.set(
        "MORNINGPOST_SMTP_URL",
        &url("smtp", server.port, USER, "hunter2", "?tls=starttls"),
    )
    .set("MORNINGPOST_SMTP_CA_FILE", &pki.ca.display().to_string());
    app.ok(&["subscribers", "add", "ada@example.com"]);
    app.ok(&["send", &app.sample_issue()]);
    let mut worker = app.spawn(&["worker", "--until-done"]);
    let mut status = String::new();
    for _ in 0..100 {
        status = app.ok(&["status", "2026-11-27"]);
        if status.contains("(of which retrying: 1)") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = worker.kill();
    let _ = worker.wait();
    let mut log = String::new();
    if let Some(mut err) = worker.stderr.take() {
        let _ = err.read_to_string(&mut log);
    }
    assert!(
        status.contains("(of which retrying: 1)") && status.contains("535 5.7.8"),
        "{status}"
    );
    let line = log
        .lines()
        .find(|l| l.contains("535 5.7.8"))
        .unwrap_or_else(|| panic!("the relay problem is logged: {log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        !log.contains("hunter2"),
        "the password is never logged: {log}"
    );
}
