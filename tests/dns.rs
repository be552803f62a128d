//! `morningpost dns`: the records it prints are the ones receivers need (the DKIM record
//! verifies our signatures in dkimpy), and `--check` names what DNS lacks or gets wrong.

mod support;

use support::app::App;
use support::dkim::{dkim_key, dkim_verifies};
use support::dns_server::DnsServer;
use support::sink::SmtpSink;

/// The value of the printed record for `name`: its quoted strings joined.
fn printed_value(out: &str, name: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{name}.\t")))
        .unwrap_or_else(|| panic!("no record for {name} in:\n{out}"));
    line.split('"').skip(1).step_by(2).collect()
}

#[test]
fn the_printed_dkim_record_verifies_real_signatures() {
    for kind in ["ed25519", "rsa-pkcs1", "rsa-pkcs8"] {
        let mut app = App::new();
        let sink = SmtpSink::start(&app.path("sink"), &[]);
        let (key, openssl_record) = dkim_key(&app, kind);
        app.set("MORNINGPOST_SMTP_URL", &sink.url())
            .set("MORNINGPOST_DKIM_KEY_FILE", &key)
            .set("MORNINGPOST_DKIM_SELECTOR", "mp2026");
        let out = app.ok(&["dns"]);
        let record = printed_value(&out, "mp2026._domainkey.example.com");
        assert_eq!(
            record,
            std::fs::read_to_string(&openssl_record).unwrap(),
            "{kind}: the public key as openssl derives it"
        );
        let published = app.path("published.txt");
        std::fs::write(&published, &record).unwrap();
        app.ok(&["subscribers", "add", "ada@example.com"]);
        app.ok(&["send", &app.sample_issue(), "--wait"]);
        let message = sink.messages().pop().expect("one message");
        assert!(
            dkim_verifies(&app, &message, published.to_str().unwrap()),
            "{kind}: dkimpy verifies our signature with the printed record"
        );
    }
}

#[test]
fn spf_names_the_relays_and_dmarc_starts_at_none() {
    let mut app = App::new();
    app.set(
        "MORNINGPOST_SMTP_URL",
        "smtp://u:p@email-smtp.eu-west-1.amazonaws.com:587?tls=starttls smtp://203.0.113.7",
    )
    .set("MORNINGPOST_BOUNCE_ADDRESS", "bounces@mail.example.com");
    let out = app.ok(&["dns", "--rua", "reports@example.com"]);
    assert!(out.contains("no DKIM key is configured"), "{out}");
    // SPF is checked against the return path: the bounce address's domain.
    assert_eq!(
        printed_value(&out, "mail.example.com"),
        "v=spf1 include:amazonses.com ip4:203.0.113.7 ~all"
    );
    assert_eq!(
        printed_value(&out, "_dmarc.example.com"),
        "v=DMARC1; p=none; rua=mailto:reports@example.com; adkim=r; aspf=r"
    );
    assert!(!out.contains("u:p@"), "no secret is printed: {out}");
}

#[test]
fn check_names_each_record_that_is_missing_or_differs() {
    let mut app = App::new();
    let (key, record) = dkim_key(&app, "ed25519");
    let record = std::fs::read_to_string(record).unwrap();
    app.set("MORNINGPOST_DKIM_KEY_FILE", &key)
        .set("MORNINGPOST_DKIM_SELECTOR", "s1")
        .set("MORNINGPOST_SMTP_URL", "smtp://smtp.sendgrid.net:587");
    let dns = DnsServer::start();
    let server = format!("127.0.0.1:{}", dns.port);
    let check = |app: &App| app.run(&["dns", "--check", "--nameserver", &server]);

    // A key split over two strings, as zone files hold long ones; two SPF records; no DMARC.
    let (head, tail) = record.split_at(30);
    dns.publish("s1._domainkey.example.com", &[&[head, tail]]);
    dns.publish(
        "example.com",
        &[
            &["v=spf1 include:sendgrid.net ~all"],
            &["v=spf1 mx -all"],
            &["google-site-verification=abc"],
        ],
    );
    let (ok, out, err) = check(&app);
    assert!(!ok, "exit status 1 when something is wrong: {out}{err}");
    assert!(
        out.contains("DKIM   ok         s1._domainkey.example.com"),
        "{out}"
    );
    assert!(out.contains("SPF    differs    example.com"), "{out}");
    assert!(
        out.contains("2 SPF records") && out.contains("permerror"),
        "{out}"
    );
    assert!(
        out.contains("DMARC  missing    _dmarc.example.com"),
        "{out}"
    );
    assert!(
        out.contains("wanted: _dmarc.example.com.\tIN\tTXT\t\"v=DMARC1; p=none"),
        "{out}"
    );

    // Another key published, an SPF without the relay, a DMARC without reports.
    dns.publish(
        "s1._domainkey.example.com",
        &[&["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]],
    );
    dns.publish("example.com", &[&["v=spf1 mx -all"]]);
    dns.publish("_dmarc.example.com", &[&["v=DMARC1; p=reject"]]);
    let (ok, out, _) = check(&app);
    assert!(!ok);
    assert!(out.contains("a different public key is published"), "{out}");
    assert!(out.contains("does not name include:sendgrid.net"), "{out}");
    assert!(out.contains("no rua="), "{out}");

    // All as it should be: exit status 0.
    dns.publish("s1._domainkey.example.com", &[&[&record]]);
    dns.publish("example.com", &[&["v=spf1 mx include:sendgrid.net -all"]]);
    dns.publish(
        "_dmarc.example.com",
        &[&["v=DMARC1; p=quarantine; rua=mailto:d@example.com"]],
    );
    let (ok, out, err) = check(&app);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.contains(" ok ")).count(),
        3,
        "{out}"
    );
}
