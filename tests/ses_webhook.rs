//! `POST /webhooks/ses` on both backends, against the in-process server: SNS notifications
//! signed in the test with a key whose self-signed certificate sits in `ses_certificate_dir`
//! under the name its `SigningCertURL` gives. A valid signed bounce is applied once (a replay
//! changes nothing), a changed message or a certificate from elsewhere is refused (401), a
//! foreign topic 403, a malformed body 400, and the route is 404 while `ses_webhook` is off.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use morningpost::config::Settings;
use morningpost::store::{BounceCounts, Store, SubscriberStatus};
use serde_json::json;
use support::app::{App, path_str};
use support::http::{Response, request};
use support::in_process::InProcessServer;
use uuid::Uuid;

const SLUG: &str = "2026-11-27";
const BOUNCES: &str = "bounces@news.example.com";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ses-events";
const CERT_FILE: &str = "SimpleNotificationService-0123456789abcdef.pem";

fn cert_url() -> String {
    format!("https://sns.us-east-1.amazonaws.com/{CERT_FILE}")
}

/// An RSA-2048 key and its self-signed certificate, made by the openssl command.
fn make_key(dir: &Path, certificates: &Path) -> PathBuf {
    std::fs::create_dir_all(certificates).unwrap();
    let key = dir.join("sns-key.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=sns.amazonaws.com", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(certificates.join(CERT_FILE))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success(), "openssl made the test certificate");
    key
}

/// The base64 signature of `text` (SHA1withRSA for version 1, SHA256withRSA for 2).
fn sign(key: &Path, version: &str, text: &str) -> String {
    let digest = if version == "1" { "-sha1" } else { "-sha256" };
    let mut child = Command::new("openssl")
        .args(["dgst", digest, "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl signed");
    base64::engine::general_purpose::STANDARD.encode(out.stdout)
}

struct Notification {
    id: String,
    message: String,
    version: &'static str,
    topic: String,
    cert_url: String,
    subject: Option<&'static str>,
}

impl Notification {
    fn new(id: &str, message: serde_json::Value) -> Self {
        Self {
            id: id.to_owned(),
            message: message.to_string(),
            version: "1",
            topic: TOPIC.to_owned(),
            cert_url: cert_url(),
            subject: Some("Amazon SES Email Event Notification"),
        }
    }

    /// The posted JSON, signed with `key` over AWS's canonical string.
    fn signed(&self, key: &Path) -> serde_json::Value {
        let timestamp = "2026-11-27T08:00:00.000Z";
        let mut canonical = format!("Message\n{}\nMessageId\n{}\n", self.message, self.id);
        if let Some(subject) = self.subject {
            canonical.push_str(&format!("Subject\n{subject}\n"));
        }
        canonical.push_str(&format!(
            "Timestamp\n{timestamp}\nTopicArn\n{}\nType\nNotification\n",
            self.topic
        ));
        let mut body = json!({
            "Type": "Notification",
            "MessageId": self.id,
            "TopicArn": self.topic,
            "Message": self.message,
            "Timestamp": timestamp,
            "SignatureVersion": self.version,
            "Signature": sign(key, self.version, &canonical),
            "SigningCertURL": self.cert_url,
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        });
        if let Some(subject) = self.subject {
            body["Subject"] = json!(subject);
        }
        body
    }
}

/// An SES bounce event about `recipient`'s copy, sent from `return_path`.
fn bounce(return_path: &str, recipient: &str, kind: &str, sub_type: &str) -> serde_json::Value {
    json!({
        "notificationType": "Bounce",
        "mail": {
            "source": return_path,
            "destination": [recipient],
            "headers": [{"name": "Message-ID", "value": "<not.ours@elsewhere.example>"}],
            "commonHeaders": {"messageId": "<not.ours@elsewhere.example>"}
        },
        "bounce": {
            "bounceType": kind,
            "bounceSubType": sub_type,
            "bouncedRecipients": [{
                "emailAddress": recipient,
                "action": "failed",
                "status": if kind == "Permanent" { "5.1.1" } else { "4.2.2" },
                "diagnosticCode": if kind == "Permanent" {
                    "smtp; 550 5.1.1 user unknown"
                } else {
                    "smtp; 452 4.2.2 mailbox full"
                }
            }]
        }
    })
}

fn complaint(return_path: &str, recipient: &str) -> serde_json::Value {
    json!({
        "eventType": "Complaint",
        "mail": {"source": return_path, "destination": [recipient]},
        "complaint": {
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse"
        }
    })
}

fn post(port: u16, body: &[u8]) -> Response {
    request(
        port,
        "POST",
        "/webhooks/ses",
        &[("Content-Type", "text/plain; charset=UTF-8")],
        body,
    )
}

fn post_json(port: u16, body: &serde_json::Value) -> Response {
    post(port, body.to_string().as_bytes())
}

struct Fixture {
    app: App,
    store: Store,
    issue: Uuid,
    /// The return path of each reader's copy, r0…r3.
    return_paths: Vec<String>,
    signing_key: PathBuf,
}

/// Four readers, one issue sent to each (each with its own return path); the SES webhook on.
async fn fixture() -> Fixture {
    let mut app = App::new();
    let certificates = app.dir.path().join("ses-certs");
    let signing_key = make_key(app.dir.path(), &certificates);
    app.set("MORNINGPOST_BOUNCE_ADDRESS", BOUNCES)
        .set("MORNINGPOST_SES_WEBHOOK", "true")
        .set(
            "MORNINGPOST_SES_TOPIC_ARNS",
            &format!("{TOPIC}, arn:aws:sns:eu-west-1:1:other"),
        )
        .set("MORNINGPOST_SES_CERTIFICATE_DIR", path_str(&certificates));
    let settings = Settings::from_sources(None, &app.env).expect("valid settings");
    let key = settings.token_key().expect("the test key");
    let store = Store::connect(&app.database_url()).await.unwrap();
    let readers = support::seed::active_subscribers(&store, &key, 4).await;
    let issue = support::seed::sent_issue(&store, SLUG, 10).await;
    let address = settings
        .bounces
        .address
        .clone()
        .expect("bounce_address set");
    let mut return_paths = Vec::new();
    for reader in readers {
        let d = store
            .issue_delivery(SLUG, reader)
            .await
            .unwrap()
            .expect("the reader's delivery");
        return_paths.push(address.return_path(&key, d.delivery_id));
    }
    Fixture {
        app,
        store,
        issue,
        return_paths,
        signing_key,
    }
}

impl Fixture {
    async fn status(&self, i: usize) -> SubscriberStatus {
        self.store
            .subscriber_by_email(&format!("r{i}@example.com"))
            .await
            .unwrap()
            .expect("subscriber")
            .status
    }

    async fn counts(&self) -> BounceCounts {
        self.store.bounce_counts(self.issue).await.unwrap()
    }
}

fn body_json(r: &Response) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test]
async fn signed_notifications_are_applied_once_and_others_change_nothing() {
    let mut f = fixture().await;
    let server = InProcessServer::start(&mut f.app, false);
    let port = server.port;

    // A valid signed permanent bounce for r0's copy, matched by its VERP return path.
    let hard = Notification::new(
        "b0-0001",
        bounce(&f.return_paths[0], "r0@example.com", "Permanent", "General"),
    )
    .signed(&f.signing_key);
    let r = post_json(port, &hard);
    assert_eq!(r.status, 200, "{}", r.body);
    let summary = body_json(&r);
    assert_eq!(summary["recorded"]["hard"], 1, "{summary}");
    assert_eq!(summary["suppressed"], 1, "{summary}");
    assert_eq!(f.status(0).await, SubscriberStatus::Bounced);
    let once = BounceCounts {
        hard: 1,
        ..Default::default()
    };
    assert_eq!(f.counts().await, once);

    // SNS delivers it again: recorded once.
    let r = post_json(port, &hard);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(body_json(&r)["duplicates"], 1, "{}", r.body);
    assert_eq!(f.counts().await, once, "a replay changes nothing");

    // A changed Message no longer matches its signature.
    let mut tampered = Notification::new(
        "b1-0001",
        bounce(&f.return_paths[1], "r1@example.com", "Permanent", "General"),
    )
    .signed(&f.signing_key);
    tampered["Message"] =
        json!(bounce(&f.return_paths[2], "r2@example.com", "Permanent", "General").to_string());
    assert_eq!(post_json(port, &tampered).status, 401);
    // A certificate from another host is never fetched nor believed, signed or not.
    let mut elsewhere = Notification::new(
        "b1-0002",
        bounce(&f.return_paths[1], "r1@example.com", "Permanent", "General"),
    );
    elsewhere.cert_url = format!("https://sns.us-east-1.amazonaws.com.evil.example/{CERT_FILE}");
    assert_eq!(
        post_json(port, &elsewhere.signed(&f.signing_key)).status,
        401
    );
    // An SNS address whose certificate the operator has not downloaded.
    let mut unknown = Notification::new(
        "b1-0003",
        bounce(&f.return_paths[1], "r1@example.com", "Permanent", "General"),
    );
    unknown.cert_url =
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-other.pem".into();
    assert_eq!(post_json(port, &unknown.signed(&f.signing_key)).status, 401);
    assert_eq!(f.status(1).await, SubscriberStatus::Active);
    assert_eq!(f.status(2).await, SubscriberStatus::Active);
    assert_eq!(f.counts().await, once, "refused posts change nothing");

    // SignatureVersion 2 (SHA256withRSA), no Subject: a full mailbox is soft, r1 stays.
    let mut soft = Notification::new(
        "b1-0004",
        bounce(
            &f.return_paths[1],
            "r1@example.com",
            "Transient",
            "MailboxFull",
        ),
    );
    soft.version = "2";
    soft.subject = None;
    let r = post_json(port, &soft.signed(&f.signing_key));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(body_json(&r)["recorded"]["soft"], 1, "{}", r.body);
    assert_eq!(f.status(1).await, SubscriberStatus::Active);

    // A complaint marks r2 complained.
    let r = post_json(
        port,
        &Notification::new("c2-0001", complaint(&f.return_paths[2], "r2@example.com"))
            .signed(&f.signing_key),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(f.status(2).await, SubscriberStatus::Complained);
    assert_eq!(
        f.counts().await,
        BounceCounts {
            hard: 1,
            soft: 1,
            complaints: 1,
            ..Default::default()
        }
    );

    // A topic not in ses_topic_arns, properly signed: 403, nothing recorded.
    let mut foreign = Notification::new(
        "b3-0001",
        bounce(&f.return_paths[3], "r3@example.com", "Permanent", "General"),
    );
    foreign.topic = "arn:aws:sns:us-east-1:999999999999:someone-else".into();
    assert_eq!(post_json(port, &foreign.signed(&f.signing_key)).status, 403);
    assert_eq!(f.status(3).await, SubscriberStatus::Active);

    // Malformed bodies: 400.
    assert_eq!(post(port, b"{not json").status, 400);
    assert_eq!(
        post_json(port, &json!({"Type": "Notification"})).status,
        400
    );
    // The route takes bodies up to 256 KiB (forms only 16 KiB); past it, 413.
    assert_eq!(post(port, &vec![b' '; 100 * 1024]).status, 400);
    assert_eq!(post(port, &vec![b' '; 300 * 1024]).status, 413);
    assert_eq!(f.status(3).await, SubscriberStatus::Active);

    // A subscription confirmation (signed over its own fields) is answered 200.
    let url = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t0k";
    let canonical = format!(
        "Message\nYou have chosen to subscribe\nMessageId\ns-1\nSubscribeURL\n{url}\n\
         Timestamp\n2026-11-27T08:00:00.000Z\nToken\nt0k\nTopicArn\n{TOPIC}\n\
         Type\nSubscriptionConfirmation\n"
    );
    let confirmation = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "s-1",
        "Token": "t0k",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe",
        "SubscribeURL": url,
        "Timestamp": "2026-11-27T08:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": sign(&f.signing_key, "1", &canonical),
        "SigningCertURL": cert_url(),
    });
    assert_eq!(post_json(port, &confirmation).status, 200);

    assert!(server.stop(), "the server stopped cleanly");
}

#[tokio::test]
async fn the_webhook_answers_404_while_it_is_off() {
    let mut f = fixture().await;
    f.app.set("MORNINGPOST_SES_WEBHOOK", "false");
    let server = InProcessServer::start(&mut f.app, false);
    let hard = Notification::new(
        "b0-0001",
        bounce(&f.return_paths[0], "r0@example.com", "Permanent", "General"),
    )
    .signed(&f.signing_key);
    assert_eq!(post_json(server.port, &hard).status, 404);
    assert_eq!(f.status(0).await, SubscriberStatus::Active);
    assert!(server.stop());
}
