//! Amazon SES events that Amazon SNS posts to `POST /webhooks/ses` (docs/architecture.md
//! decision 28): the SNS message is believed only when its signature verifies with the
//! certificate its `SigningCertURL` names — an `https://sns.<region>.amazonaws.com/….pem`
//! address whose file the operator downloaded once into `ses_certificate_dir` (there is no
//! HTTP client here). A notification's SES event becomes a [`bounce::Report`] and is recorded
//! by [`Ingest::record`] under the SNS `MessageId`, so a notification delivered twice (SNS
//! retries) changes nothing the second time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem as _, Encode as _};

use super::{Ingest, ReportSummary};
use crate::bounce::{self, Class, Kind, Recipient, Report};
use crate::config::Settings;
use crate::domain::TokenKey;
use crate::store::{Store, StoreError};

/// What went wrong with one posted notification; the HTTP layer answers by variant.
#[derive(Debug, thiserror::Error)]
pub enum SesError {
    #[error("the body is not an SNS message ({0}); post the notification as SNS sends it")]
    Malformed(String),
    #[error(
        "SignatureVersion {0:?} is not supported; SNS signs with 1 (SHA1withRSA) or 2 (SHA256withRSA)"
    )]
    SignatureVersion(String),
    #[error(
        "the signing certificate URL {url:?} is not Amazon SNS's ({why}); only https://sns.<region>.amazonaws.com/….pem is trusted"
    )]
    CertificateUrl { url: String, why: &'static str },
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(
        "the signature does not match the message (SignatureVersion {0}); it was changed on the way or not signed by SNS"
    )]
    BadSignature(String),
    #[error("topic {0} is not in ses_topic_arns; add it there to accept its notifications")]
    Topic(String),
    #[error("recording the SES event failed")]
    Store(#[from] StoreError),
}

/// Why a signing certificate could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(
        "the SNS signing certificate {path} cannot be read ({source}); download it once: curl -fsS -o {path} {url}"
    )]
    Missing {
        path: PathBuf,
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the SNS signing certificate for {url} is not a PEM certificate with an RSA key ({why}); download it again: curl -fsS -o FILE {url}"
    )]
    Unreadable { url: String, why: String },
}

/// The PEM bytes of a signing certificate, given its (already checked) URL.
pub type CertificateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<u8>, CertificateError>> + Send + 'a>>;

/// Where signing certificates come from. The one implementation reads a folder; one that
/// downloads them would be another.
pub trait CertificateSource: Send + Sync {
    /// The certificate that `url` (checked by [`certificate_file`]) names, as PEM.
    fn certificate<'a>(&'a self, url: &'a str) -> CertificateFuture<'a>;
}

/// Certificates the operator downloaded into `ses_certificate_dir`, each under the last
/// segment of its URL (`SimpleNotificationService-….pem`).
pub struct CertificateFolder {
    dir: PathBuf,
}

impl CertificateFolder {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

impl CertificateSource for CertificateFolder {
    fn certificate<'a>(&'a self, url: &'a str) -> CertificateFuture<'a> {
        Box::pin(async move {
            let name = certificate_file(url).map_err(|e| CertificateError::Unreadable {
                url: url.to_owned(),
                why: e.to_string(),
            })?;
            let path = self.dir.join(name);
            tokio::fs::read(&path)
                .await
                .map_err(|source| CertificateError::Missing {
                    path,
                    url: url.to_owned(),
                    source,
                })
        })
    }
}

/// An SNS HTTP(S) message, as posted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    #[serde(rename = "SubscribeURL", default)]
    pub subscribe_url: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

impl Envelope {
    pub fn parse(body: &[u8]) -> Result<Self, SesError> {
        serde_json::from_slice(body).map_err(|e| SesError::Malformed(e.to_string()))
    }
}

/// The string SNS signs: `name\nvalue\n` for each field, in AWS's documented order
/// (Notification: Message, MessageId, Subject when present, Timestamp, TopicArn, Type;
/// the confirmations: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).
pub fn canonical_string(e: &Envelope) -> Result<String, SesError> {
    fn push(out: &mut String, name: &str, value: &str) {
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    let mut out = String::with_capacity(e.message.len() + 512);
    match e.kind.as_str() {
        "Notification" => {
            push(&mut out, "Message", &e.message);
            push(&mut out, "MessageId", &e.message_id);
            if let Some(subject) = &e.subject {
                push(&mut out, "Subject", subject);
            }
            push(&mut out, "Timestamp", &e.timestamp);
            push(&mut out, "TopicArn", &e.topic_arn);
            push(&mut out, "Type", &e.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let missing = |field: &str| SesError::Malformed(format!("{} lacks {field}", e.kind));
            let subscribe_url = e
                .subscribe_url
                .as_deref()
                .ok_or_else(|| missing("SubscribeURL"))?;
            let token = e.token.as_deref().ok_or_else(|| missing("Token"))?;
            push(&mut out, "Message", &e.message);
            push(&mut out, "MessageId", &e.message_id);
            push(&mut out, "SubscribeURL", subscribe_url);
            push(&mut out, "Timestamp", &e.timestamp);
            push(&mut out, "Token", token);
            push(&mut out, "TopicArn", &e.topic_arn);
            push(&mut out, "Type", &e.kind);
        }
        other => {
            return Err(SesError::Malformed(format!(
                "Type {other:?} is none of Notification, SubscriptionConfirmation, UnsubscribeConfirmation"
            )));
        }
    }
    Ok(out)
}

/// The file name a signing certificate URL names, when the URL is Amazon SNS's:
/// `https://sns.<region>.amazonaws.com[.cn]/….pem`, nothing else.
pub fn certificate_file(url: &str) -> Result<String, SesError> {
    let refuse = |why| SesError::CertificateUrl {
        url: url.to_owned(),
        why,
    };
    let parsed = url::Url::parse(url).map_err(|_| refuse("not a URL"))?;
    if parsed.scheme() != "https" {
        return Err(refuse("not https"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.port().is_some() {
        return Err(refuse("it carries a user or a port"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("it carries a query"));
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(host)) => host,
        _ => return Err(refuse("no domain name")),
    };
    let region = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
        .and_then(|rest| rest.strip_prefix("sns."))
        .ok_or_else(|| refuse("the host is not sns.<region>.amazonaws.com"))?;
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(refuse("the host is not sns.<region>.amazonaws.com"));
    }
    let name = parsed
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default();
    let name_ok = name.len() > ".pem".len()
        && name.ends_with(".pem")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !name_ok {
        return Err(refuse("the path does not end in a .pem file name"));
    }
    Ok(name.to_owned())
}

/// The RSA public key of a PEM certificate.
pub fn public_key(pem: &[u8], url: &str) -> Result<RsaPublicKey, CertificateError> {
    let unreadable = |why: String| CertificateError::Unreadable {
        url: url.to_owned(),
        why,
    };
    let certificate = Certificate::from_pem(pem).map_err(|e| unreadable(e.to_string()))?;
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| unreadable(e.to_string()))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| unreadable(e.to_string()))
}

/// DER DigestInfo prefixes of PKCS#1 v1.5 signatures (RFC 8017 §9.2 note 1).
const SHA1_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The hash and padding of a SignatureVersion.
fn scheme(version: &str, signed: &[u8]) -> Result<(Vec<u8>, Pkcs1v15Sign), SesError> {
    let (hashed, prefix): (Vec<u8>, &[u8]) = match version {
        "1" => (
            <sha1::Sha1 as sha1::Digest>::digest(signed).to_vec(),
            &SHA1_PREFIX,
        ),
        "2" => (
            <sha2::Sha256 as sha2::Digest>::digest(signed).to_vec(),
            &SHA256_PREFIX,
        ),
        other => return Err(SesError::SignatureVersion(other.to_owned())),
    };
    let padding = Pkcs1v15Sign {
        hash_len: Some(hashed.len()),
        prefix: prefix.into(),
    };
    Ok((hashed, padding))
}

/// At most this many certificates' keys are kept (SNS rotates its certificate rarely).
const MAX_CACHED_KEYS: usize = 16;

/// What a verified message came to.
#[derive(Debug)]
pub enum Handled {
    /// A notification, recorded (or recorded before: the summary counts duplicates).
    Recorded(ReportSummary),
    /// A subscription awaits confirmation at this URL (logged for the operator).
    SubscriptionConfirmation {
        subscribe_url: String,
    },
    UnsubscribeConfirmation,
}

/// The SES webhook: verifies, checks the topic, records.
pub struct SesWebhook {
    ingest: Ingest,
    certificates: Arc<dyn CertificateSource>,
    topic_arns: Vec<String>,
    /// Keys of certificates that verified a message, by URL.
    keys: Mutex<HashMap<String, RsaPublicKey>>,
}

impl SesWebhook {
    pub fn new(
        ingest: Ingest,
        certificates: Arc<dyn CertificateSource>,
        topic_arns: Vec<String>,
    ) -> Self {
        Self {
            ingest,
            certificates,
            topic_arns,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// From the `ses_*` settings, certificates from `ses_certificate_dir`.
    pub fn from_settings(settings: &Settings, store: Store, key: TokenKey) -> Self {
        Self::new(
            Ingest::new(settings, store, key),
            Arc::new(CertificateFolder::new(settings.ses.certificate_dir.clone())),
            settings.ses.topic_arns.clone(),
        )
    }

    /// One posted SNS message.
    pub async fn handle(&self, body: &[u8]) -> Result<Handled, SesError> {
        let envelope = Envelope::parse(body)?;
        let canonical = canonical_string(&envelope)?;
        self.verify(&envelope, canonical.as_bytes()).await?;
        if !self.topic_arns.is_empty() && !self.topic_arns.contains(&envelope.topic_arn) {
            return Err(SesError::Topic(envelope.topic_arn));
        }
        match envelope.kind.as_str() {
            "SubscriptionConfirmation" => {
                let subscribe_url = envelope.subscribe_url.unwrap_or_default();
                tracing::warn!(
                    topic = %envelope.topic_arn,
                    url = %subscribe_url,
                    "an SNS subscription awaits confirmation: open this URL once to confirm the subscription"
                );
                Ok(Handled::SubscriptionConfirmation { subscribe_url })
            }
            "UnsubscribeConfirmation" => {
                tracing::warn!(
                    topic = %envelope.topic_arn,
                    "SNS says this endpoint was unsubscribed from the topic; subscribe it again to keep receiving SES events"
                );
                Ok(Handled::UnsubscribeConfirmation)
            }
            _ => {
                let report = report_of(&envelope.message)?;
                let identity = [b"ses:".as_slice(), envelope.message_id.as_bytes()].concat();
                Ok(Handled::Recorded(
                    self.ingest.record(&report, &identity).await?,
                ))
            }
        }
    }

    async fn verify(&self, e: &Envelope, canonical: &[u8]) -> Result<(), SesError> {
        let (hashed, padding) = scheme(&e.signature_version, canonical)?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(e.signature.trim())
            .map_err(|_| SesError::BadSignature(e.signature_version.clone()))?;
        certificate_file(&e.signing_cert_url)?;
        let url = e.signing_cert_url.as_str();
        let cached = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned();
        let key = match &cached {
            Some(key) => key.clone(),
            None => {
                let pem = self.certificates.certificate(url).await?;
                public_key(&pem, url)?
            }
        };
        key.verify(padding, &hashed, &signature)
            .map_err(|_| SesError::BadSignature(e.signature_version.clone()))?;
        if cached.is_none() {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if keys.len() >= MAX_CACHED_KEYS {
                keys.clear();
            }
            keys.insert(url.to_owned(), key);
        }
        Ok(())
    }
}

/// SES's event JSON (a notification's `Message`), as much as we read of it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    notification_type: Option<String>,
    event_type: Option<String>,
    mail: Mail,
    bounce: Option<SesBounce>,
    complaint: Option<SesComplaint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    source: Option<String>,
    return_path: Option<String>,
    #[serde(default)]
    destination: Vec<String>,
    #[serde(default)]
    headers: Vec<Header>,
    common_headers: Option<CommonHeaders>,
}

#[derive(Debug, Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonHeaders {
    message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesBounce {
    bounce_type: Option<String>,
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<BouncedRecipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BouncedRecipient {
    email_address: String,
    action: Option<String>,
    status: Option<String>,
    diagnostic_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesComplaint {
    #[serde(default)]
    complained_recipients: Vec<ComplainedRecipient>,
    complaint_feedback_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplainedRecipient {
    email_address: String,
}

/// The report an SES event makes: a bounce or complaint with its recipients; a delivery
/// (`delivered`, recorded as ignored); any other event `unknown`.
pub fn report_of(message: &str) -> Result<Report, SesError> {
    let event: Event = serde_json::from_str(message)
        .map_err(|e| SesError::Malformed(format!("the Message is not an SES event: {e}")))?;
    let kind_name = event
        .event_type
        .as_deref()
        .or(event.notification_type.as_deref())
        .ok_or_else(|| {
            SesError::Malformed("the SES event has neither notificationType nor eventType".into())
        })?;
    let mail = event.mail;
    let mut message_ids: Vec<String> = mail
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Message-ID"))
        .map(|h| h.value.trim().to_owned())
        .collect();
    if let Some(id) = mail.common_headers.and_then(|c| c.message_id) {
        let id = id.trim().to_owned();
        if !message_ids.contains(&id) {
            message_ids.push(id);
        }
    }
    let mut report_addresses: Vec<String> = mail.source.into_iter().collect();
    if let Some(return_path) = mail.return_path
        && !report_addresses.contains(&return_path)
    {
        report_addresses.push(return_path);
    }
    let (kind, recipients, feedback_type) = match kind_name {
        "Bounce" => {
            let b = event.bounce.ok_or_else(|| {
                SesError::Malformed("a Bounce event without its bounce object".into())
            })?;
            let recipients = b
                .bounced_recipients
                .into_iter()
                .map(|r| {
                    let class = bounce_class(
                        b.bounce_type.as_deref(),
                        b.bounce_sub_type.as_deref(),
                        r.status.as_deref(),
                        r.diagnostic_code.as_deref(),
                    );
                    Recipient {
                        address: Some(r.email_address.trim().to_owned()),
                        status: r.status,
                        reply_code: None,
                        diagnostic: r.diagnostic_code.map(|d| one_line(&d)),
                        action: r.action,
                        class,
                    }
                })
                .collect();
            (Kind::Bounce, recipients, None)
        }
        "Complaint" => {
            let c = event.complaint.ok_or_else(|| {
                SesError::Malformed("a Complaint event without its complaint object".into())
            })?;
            let feedback_type = c.complaint_feedback_type.map(|t| t.trim().to_lowercase());
            let class = bounce::complaint_class(feedback_type.as_deref());
            let addresses: Vec<String> = if c.complained_recipients.is_empty() {
                mail.destination.clone()
            } else {
                c.complained_recipients
                    .into_iter()
                    .map(|r| r.email_address)
                    .collect()
            };
            let recipients = addresses
                .into_iter()
                .map(|address| Recipient::complained(address.trim().to_owned(), class))
                .collect();
            (Kind::Complaint, recipients, feedback_type)
        }
        "Delivery" => (Kind::Delivered, Vec::new(), None),
        _ => (Kind::Unknown, Vec::new(), None),
    };
    Ok(Report {
        kind,
        recipients,
        feedback_type,
        report_addresses,
        original_message_ids: message_ids,
        original_recipients: mail.destination,
    })
}

/// SES's bounce type decides where it is clear; the classifier (decision 27) reads the rest.
fn bounce_class(
    bounce_type: Option<&str>,
    sub_type: Option<&str>,
    status: Option<&str>,
    diagnostic: Option<&str>,
) -> Class {
    let by_text = || bounce::classify(status, None, diagnostic.unwrap_or(""));
    match (bounce_type, sub_type) {
        // A message SES or the receiver refused, whatever its address: never suppresses.
        (_, Some("MessageTooLarge" | "ContentRejected" | "AttachmentRejected")) => Class::Refused,
        // Suppressed: SES itself no longer sends to the address.
        (
            Some("Permanent"),
            Some("General" | "NoEmail" | "Suppressed" | "OnAccountSuppressionList"),
        ) => Class::Hard,
        (Some("Transient"), Some("MailboxFull")) => Class::Soft,
        (Some("Transient"), _) => match by_text() {
            Class::Refused => Class::Refused,
            _ => Class::Soft,
        },
        _ => by_text(),
    }
}

/// The remote server's words on one line, at most 500 characters.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(500)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str, subject: Option<&str>) -> Envelope {
        Envelope {
            kind: kind.into(),
            message_id: "m-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:123:ses".into(),
            subject: subject.map(Into::into),
            message: "{\"a\":1}".into(),
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            signature_version: "1".into(),
            signature: String::new(),
            signing_cert_url: String::new(),
            subscribe_url: Some("https://sns.us-east-1.amazonaws.com/?Action=Confirm".into()),
            token: Some("tok".into()),
        }
    }

    #[test]
    fn the_canonical_string_follows_aws_order() {
        assert_eq!(
            canonical_string(&envelope("Notification", Some("Hi"))).unwrap(),
            "Message\n{\"a\":1}\nMessageId\nm-1\nSubject\nHi\nTimestamp\n2026-01-01T00:00:00.000Z\n\
             TopicArn\narn:aws:sns:us-east-1:123:ses\nType\nNotification\n"
        );
        assert_eq!(
            canonical_string(&envelope("Notification", None)).unwrap(),
            "Message\n{\"a\":1}\nMessageId\nm-1\nTimestamp\n2026-01-01T00:00:00.000Z\n\
             TopicArn\narn:aws:sns:us-east-1:123:ses\nType\nNotification\n",
            "no Subject line without a Subject"
        );
        assert_eq!(
            canonical_string(&envelope("SubscriptionConfirmation", Some("ignored"))).unwrap(),
            "Message\n{\"a\":1}\nMessageId\nm-1\n\
             SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=Confirm\n\
             Timestamp\n2026-01-01T00:00:00.000Z\nToken\ntok\n\
             TopicArn\narn:aws:sns:us-east-1:123:ses\nType\nSubscriptionConfirmation\n"
        );
        let mut no_token = envelope("UnsubscribeConfirmation", None);
        no_token.token = None;
        assert!(matches!(
            canonical_string(&no_token),
            Err(SesError::Malformed(_))
        ));
        assert!(matches!(
            canonical_string(&envelope("Other", None)),
            Err(SesError::Malformed(_))
        ));
    }

    #[test]
    fn only_sns_certificate_urls_are_trusted() {
        for (url, file) in [
            (
                "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc123.pem",
                "SimpleNotificationService-abc123.pem",
            ),
            (
                "https://sns.cn-north-1.amazonaws.com.cn/x/SimpleNotificationService-1.pem",
                "SimpleNotificationService-1.pem",
            ),
        ] {
            assert_eq!(certificate_file(url).unwrap(), file, "{url}");
        }
        for url in [
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-abc.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/a.pem",
            "https://sns.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns..amazonaws.com/a.pem",
            "https://sns.US-EAST-1.evil.com/a.pem",
            "https://xsns.us-east-1.amazonaws.com/a.pem",
            "https://sns.us_east-1.amazonaws.com/a.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.txt",
            "https://sns.us-east-1.amazonaws.com/.pem",
            "https://sns.us-east-1.amazonaws.com/",
            "https://sns.us-east-1.amazonaws.com/a.pem?x=1",
            "https://user@sns.us-east-1.amazonaws.com/a.pem",
            "https://sns.us-east-1.amazonaws.com:8443/a.pem",
            "https://sns.us-east-1.amazonaws.com/..%2F..%2Fetc%2Fpasswd.pem",
            "not a url",
        ] {
            assert!(
                matches!(certificate_file(url), Err(SesError::CertificateUrl { .. })),
                "{url} must be refused"
            );
        }
    }

    fn bounce_event(bounce_type: &str, sub_type: &str, status: &str, diagnostic: &str) -> String {
        serde_json::json!({
            "notificationType": "Bounce",
            "mail": {
                "source": "bounces+d7-0011223344556677@news.example.com",
                "destination": ["r0@example.com"],
                "headers": [{"name": "Message-ID", "value": "<a.b@example.com>"}],
                "commonHeaders": {"messageId": "<a.b@example.com>"}
            },
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": sub_type,
                "bouncedRecipients": [{
                    "emailAddress": "r0@example.com",
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": diagnostic
                }]
            }
        })
        .to_string()
    }

    fn class(bounce_type: &str, sub_type: &str, status: &str, diagnostic: &str) -> Class {
        report_of(&bounce_event(bounce_type, sub_type, status, diagnostic))
            .unwrap()
            .recipients[0]
            .class
    }

    #[test]
    fn ses_types_decide_where_clear_and_the_classifier_reads_the_rest() {
        assert_eq!(
            class("Permanent", "General", "5.0.0", "smtp; 550"),
            Class::Hard
        );
        assert_eq!(class("Permanent", "Suppressed", "5.1.1", ""), Class::Hard);
        assert_eq!(
            class("Transient", "MailboxFull", "4.2.2", "over quota"),
            Class::Soft
        );
        assert_eq!(
            class("Transient", "ContentRejected", "5.7.1", ""),
            Class::Refused
        );
        assert_eq!(
            class("Transient", "General", "4.0.0", "try again later"),
            Class::Soft
        );
        assert_eq!(
            class(
                "Transient",
                "General",
                "4.7.0",
                "rate limit exceeded, blocked"
            ),
            Class::Refused
        );
        assert_eq!(
            class(
                "Undetermined",
                "Undetermined",
                "5.1.1",
                "smtp; 550 5.1.1 user unknown"
            ),
            Class::Hard
        );
        let report = report_of(&bounce_event("Permanent", "General", "5.1.1", "x")).unwrap();
        assert_eq!(report.kind, Kind::Bounce);
        assert_eq!(
            report.report_addresses,
            ["bounces+d7-0011223344556677@news.example.com"]
        );
        assert_eq!(report.original_message_ids, ["<a.b@example.com>"]);
        assert_eq!(report.original_recipients, ["r0@example.com"]);
    }

    #[test]
    fn complaints_deliveries_and_other_events() {
        let complaint = |feedback: &str| {
            report_of(
                &serde_json::json!({
                    "eventType": "Complaint",
                    "mail": {"source": "b@example.com", "destination": ["r0@example.com"]},
                    "complaint": {
                        "complainedRecipients": [{"emailAddress": "r0@example.com"}],
                        "complaintFeedbackType": feedback
                    }
                })
                .to_string(),
            )
            .unwrap()
        };
        let abuse = complaint("abuse");
        assert_eq!(abuse.kind, Kind::Complaint);
        assert_eq!(abuse.recipients[0].class, Class::Complaint);
        assert_eq!(abuse.feedback_type.as_deref(), Some("abuse"));
        assert_eq!(complaint("not-spam").recipients[0].class, Class::Ignore);
        let delivery = report_of(r#"{"notificationType":"Delivery","mail":{}}"#).unwrap();
        assert_eq!(delivery.kind, Kind::Delivered);
        let other = report_of(r#"{"eventType":"Open","mail":{}}"#).unwrap();
        assert_eq!(other.kind, Kind::Unknown);
        for bad in [
            "not json",
            r#"{"mail":{}}"#,
            r#"{"notificationType":"Bounce"}"#,
            r#"{"notificationType":"Bounce","mail":{}}"#,
        ] {
            assert!(
                matches!(report_of(bad), Err(SesError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
