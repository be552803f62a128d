//! DKIM signing (RFC 6376): RSA-SHA256 or Ed25519-SHA256 (RFC 8463), keys in PKCS#8
//! (`openssl genpkey`) or PKCS#1 (`openssl genrsa -traditional`) PEM, relaxed/relaxed.
//! mail-auth's keys make the signature itself, with aws-lc (constant-time, ~3× faster than
//! lettre's pure-Rust RSA); the canonicalization and hashing are ours (relaxed.rs): the
//! body of every copy is hashed at the speed of SHA-256, and the header is written so that
//! what is hashed is by construction what is sent.

mod relaxed;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use pkcs8::PrivateKeyInfo;
use pkcs8::der::Decode;
use pkcs8::der::asn1::AnyRef;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::EncodePublicKey;
use rustls_pki_types::pem::SectionKind;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer};

use super::pem::PemProblem;

/// The headers the signature covers (`h=`): those of docs/architecture.md decision 6 and the MIME ones.
pub const SIGNED_HEADERS: [&str; 10] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
];

#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("cannot read the DKIM key {}; check dkim_key_file (MORNINGPOST_DKIM_KEY_FILE)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the DKIM key {} is not a PEM RSA or Ed25519 private key that can sign; make one with \
         `openssl genpkey -algorithm ed25519 -out FILE` or `openssl genrsa -out FILE 2048`",
        path.display()
    )]
    BadKey {
        path: PathBuf,
        #[source]
        problem: KeyProblem,
    },
    #[error("DKIM signing failed")]
    Sign(#[source] mail_auth::Error),
}

/// What is wrong with the text of a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error("it is not well-formed PEM")]
    Pem(#[source] PemProblem),
    #[error(
        "it holds no `-----BEGIN PRIVATE KEY-----` or `-----BEGIN RSA PRIVATE KEY-----` block{}",
        found_blocks(.0)
    )]
    NoKey(Vec<&'static str>),
    #[error("it holds {0} private keys: keep only the one whose public half is in DNS")]
    SeveralKeys(usize),
    #[error("its key block has nothing between the BEGIN and END lines")]
    Empty,
    #[error("it holds an EC key, and DKIM signs only with RSA or Ed25519")]
    Ec,
    #[error("its key is not one whole DER structure (cut short, or with bytes after it)")]
    Der(#[source] pkcs8::Error),
    #[error(
        "it holds a key for algorithm {0}; DKIM signs only with RSA ({RSA_ENCRYPTION}) or \
         Ed25519 ({ED25519})"
    )]
    Algorithm(String),
    #[error("its RSA key cannot be used")]
    Rsa(#[source] mail_auth::Error),
    #[error("its Ed25519 key cannot be used")]
    Ed25519(#[source] mail_auth::Error),
    #[error("its public key cannot be written for DNS: {0}")]
    PublicKey(String),
}

/// The PKCS#8 algorithm identifiers DKIM can sign with (RFC 8017, RFC 8410).
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const ED25519: &str = "1.3.101.112";

fn found_blocks(labels: &[&str]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!(" (found: {})", labels.join(", "))
    }
}

enum Key {
    Rsa(RsaKey<Sha256>),
    Ed25519(Ed25519Key),
}

pub struct Dkim {
    key: Key,
    /// `a=`: `rsa-sha256` or `ed25519-sha256`.
    pub algorithm: &'static str,
    /// `d=` and `s=`, checked by the configuration.
    domain: String,
    selector: String,
    /// The TXT record receivers look the key up in (`v=DKIM1; k=…; p=…`).
    dns_record: String,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dkim({})", self.algorithm)
    }
}

impl Dkim {
    /// The key the settings name (`dkim_key_file`, `dkim_selector`, the From domain), or
    /// `None` when none is configured.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Option<Self>, DkimError> {
        settings
            .dkim
            .as_ref()
            .map(|d| Self::load(&d.key_file, settings.from.email.domain(), &d.selector))
            .transpose()
    }

    pub fn load(key_file: &Path, domain: &str, selector: &str) -> Result<Self, DkimError> {
        let pem = std::fs::read(key_file).map_err(|source| DkimError::Read {
            path: key_file.to_owned(),
            source,
        })?;
        Self::from_pem(&pem, domain, selector).map_err(|problem| DkimError::BadKey {
            path: key_file.to_owned(),
            problem,
        })
    }

    pub fn from_pem(pem: &[u8], domain: &str, selector: &str) -> Result<Self, KeyProblem> {
        let (kind, der) = private_key_block(pem)?;
        let rsa = |key: RsaKey<Sha256>| -> Result<Self, KeyProblem> {
            // The key pair gives its public half as PKCS#1; DNS carries it as a
            // SubjectPublicKeyInfo, as `openssl rsa -pubout` and opendkim-genkey write it.
            let unusable = |e: &dyn std::fmt::Display| KeyProblem::PublicKey(e.to_string());
            let spki = rsa::RsaPublicKey::from_pkcs1_der(&key.public_key())
                .map_err(|e| unusable(&e))?
                .to_public_key_der()
                .map_err(|e| unusable(&e))?;
            Ok(Self {
                dns_record: dns_record("rsa", spki.as_bytes()),
                key: Key::Rsa(key),
                algorithm: "rsa-sha256",
                domain: domain.to_owned(),
                selector: selector.to_owned(),
            })
        };
        if kind == SectionKind::RsaPrivateKey {
            // Strict DER first: the crypto library takes a key with bytes after it.
            AnyRef::from_der(&der).map_err(|e| KeyProblem::Der(e.into()))?;
            let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs1(
                PrivatePkcs1KeyDer::from(der.as_slice()),
            ))
            .map_err(KeyProblem::Rsa)?;
            return rsa(key);
        }
        let info = PrivateKeyInfo::try_from(der.as_slice()).map_err(KeyProblem::Der)?;
        match info.algorithm.oid.to_string().as_str() {
            RSA_ENCRYPTION => {
                let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(
                    PrivatePkcs8KeyDer::from(der.as_slice()),
                ))
                .map_err(KeyProblem::Rsa)?;
                rsa(key)
            }
            ED25519 => {
                let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(&der)
                    .map_err(KeyProblem::Ed25519)?;
                Ok(Self {
                    dns_record: dns_record("ed25519", &key.public_key()),
                    key: Key::Ed25519(key),
                    algorithm: "ed25519-sha256",
                    domain: domain.to_owned(),
                    selector: selector.to_owned(),
                })
            }
            other => Err(KeyProblem::Algorithm(other.to_owned())),
        }
    }

    /// The TXT record to publish at `SELECTOR._domainkey.DOMAIN` (RFC 6376 §3.6.1).
    pub fn dns_record(&self) -> &str {
        &self.dns_record
    }

    /// The `DKIM-Signature:` header for a message (CRLF line ends, header and body), to put
    /// in front of it.
    pub fn sign(&self, message: &[u8]) -> Result<String, DkimError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.sign_at(message, now)
    }

    fn sign_at(&self, message: &[u8], now: u64) -> Result<String, DkimError> {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let (head, body) = match memchr::memmem::find(message, b"\r\n\r\n") {
            Some(i) => (&message[..i + 2], &message[i + 4..]),
            None => (message, &message[message.len()..]),
        };
        let bh = b64(&relaxed::body_hash(body));
        // The header as it is sent, b= empty: hashing its relaxed form below is hashing
        // exactly what a verifier reconstructs from what arrives.
        let value = format!(
            " v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n t={now}; h={};\r\n bh={bh};\r\n b=",
            self.algorithm,
            self.domain,
            self.selector,
            folded_header_list()
        );
        let fields = header_fields(head);
        let mut signed = Vec::with_capacity(head.len() + value.len());
        for name in SIGNED_HEADERS {
            // The last instance of each, as verifiers take them (§5.4.2); a header the
            // message lacks is still named in h=, so that one added later breaks the
            // signature.
            if let Some((_, field)) = fields
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            {
                relaxed::header(name, field, true, &mut signed);
            }
        }
        relaxed::header("DKIM-Signature", value.as_bytes(), false, &mut signed);
        let signature = match &self.key {
            Key::Rsa(k) => k.sign(signed.as_slice()),
            Key::Ed25519(k) => k.sign(signed.as_slice()),
        }
        .map_err(DkimError::Sign)?;
        let b = b64(&signature);
        let mut header = String::with_capacity(value.len() + b.len() + 64);
        header.push_str("DKIM-Signature:");
        header.push_str(&value);
        // Folded freely: whitespace inside b= is ignored (§3.5).
        for (i, chunk) in b.as_bytes().chunks(72).enumerate() {
            if i > 0 {
                header.push_str("\r\n ");
            }
            header.push_str(&String::from_utf8_lossy(chunk));
        }
        header.push_str("\r\n");
        Ok(header)
    }

    /// The message with its signature in front.
    pub fn signed(&self, message: Vec<u8>) -> Result<Vec<u8>, DkimError> {
        let header = self.sign(&message)?;
        let mut out = Vec::with_capacity(header.len() + message.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&message);
        Ok(out)
    }
}

fn dns_record(key_type: &str, public_key: &[u8]) -> String {
    use base64::Engine as _;
    let p = base64::engine::general_purpose::STANDARD.encode(public_key);
    format!("v=DKIM1; k={key_type}; p={p}")
}

/// The `h=` list, folded after a colon once a line would pass 70 characters.
fn folded_header_list() -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, name) in SIGNED_HEADERS.iter().enumerate() {
        if i > 0 {
            out.push(':');
            line += 1;
            if line + name.len() > 70 {
                out.push_str("\r\n ");
                line = 1;
            }
        }
        out.push_str(name);
        line += name.len();
    }
    out
}

/// The fields of a header block: (name, value with its folds and line break).
fn header_fields(head: &[u8]) -> Vec<(&[u8], &[u8])> {
    // (name, value start, value end) as offsets: a continuation line extends the last.
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut pos = 0;
    while pos < head.len() {
        let end = memchr::memchr(b'\n', &head[pos..]).map_or(head.len(), |i| pos + i + 1);
        let first = head.get(pos).copied();
        if matches!(first, Some(b' ' | b'\t')) {
            if let Some(last) = spans.last_mut() {
                last.3 = end;
            }
        } else if let Some(colon) = memchr::memchr(b':', &head[pos..end]) {
            spans.push((pos, pos + colon, pos + colon + 1, end));
        }
        pos = end;
    }
    spans
        .into_iter()
        .filter_map(|(start, colon, from, to)| Some((head.get(start..colon)?, head.get(from..to)?)))
        .collect()
}

/// The one private key block of a key file: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
/// (`PRIVATE KEY`). Other blocks (a certificate kept beside the key) are ignored.
fn private_key_block(pem: &[u8]) -> Result<(SectionKind, Vec<u8>), KeyProblem> {
    let sections = super::pem::sections(pem).map_err(KeyProblem::Pem)?;
    let is_key = |kind: &SectionKind| {
        matches!(
            kind,
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey
        )
    };
    let keys = sections.iter().filter(|(kind, _)| is_key(kind)).count();
    if keys > 1 {
        return Err(KeyProblem::SeveralKeys(keys));
    }
    let Some((kind, der)) = sections.iter().find(|(kind, _)| is_key(kind)) else {
        return Err(KeyProblem::NoKey(
            sections
                .iter()
                .map(|(kind, _)| super::pem::label(*kind))
                .collect(),
        ));
    };
    if *kind == SectionKind::EcPrivateKey {
        return Err(KeyProblem::Ec);
    }
    if der.is_empty() {
        return Err(KeyProblem::Empty);
    }
    Ok((*kind, der.clone()))
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// A PKCS#8 Ed25519 key (RFC 8410) around a fixed seed, base64 of its DER.
    fn ed25519_b64(extra: &[u8]) -> String {
        let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
        der.extend_from_slice(&[7u8; 32]);
        der.extend_from_slice(extra);
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    /// The same seed as an X25519 key: well-formed PKCS#8, an algorithm DKIM cannot use.
    fn x25519_b64() -> String {
        let mut der = hex::decode("302e020100300506032b656e04220420").unwrap();
        der.extend_from_slice(&[7u8; 32]);
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    fn block(label: &str, body: &str) -> String {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    }

    fn problem(pem: &str) -> String {
        match Dkim::from_pem(pem.as_bytes(), "example.com", "s") {
            Ok(_) => panic!("accepted: {pem:?}"),
            Err(e) => {
                // The whole chain, as main prints it.
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    text.push_str(" / ");
                    text.push_str(&c.to_string());
                    cause = c.source();
                }
                text
            }
        }
    }

    #[test]
    fn a_well_formed_key_signs_whatever_its_line_ends_and_the_text_around_it() {
        let key = block("PRIVATE KEY", &ed25519_b64(&[]));
        let certificate = block("CERTIFICATE", "AAAA");
        for pem in [
            key.clone(),
            key.replace('\n', "\r\n"),
            format!("a comment line\n{key}trailing words after the END line\n"),
            format!("{certificate}{key}"),
        ] {
            let dkim = Dkim::from_pem(pem.as_bytes(), "example.com", "s")
                .unwrap_or_else(|e| panic!("{pem:?}: {e}"));
            assert_eq!(dkim.algorithm, "ed25519-sha256");
            let header = dkim.sign(b"From: a@example.com\r\n\r\nbody\r\n").unwrap();
            assert!(header.starts_with("DKIM-Signature:"), "{header}");
        }
    }

    /// Our own canonicalization and hashing agree with mail-auth's signer on the same key and
    /// message: the same bh=, and a signature its verifier's key accepts (dkimpy checks the
    /// sent mail in tests/delivery.rs and tests/dns.rs).
    #[test]
    fn the_body_hash_is_the_one_mail_auth_computes() {
        use mail_auth::common::headers::HeaderWriter;
        use mail_auth::dkim::{Canonicalization, DkimSigner};
        let der = base64::engine::general_purpose::STANDARD
            .decode(ed25519_b64(&[]))
            .unwrap();
        let theirs =
            DkimSigner::from_key(Ed25519Key::from_pkcs8_maybe_unchecked_der(&der).unwrap())
                .domain("example.com")
                .selector("s")
                .headers(SIGNED_HEADERS)
                .header_canonicalization(Canonicalization::Relaxed)
                .body_canonicalization(Canonicalization::Relaxed);
        let ours = Dkim::from_pem(
            block("PRIVATE KEY", &ed25519_b64(&[])).as_bytes(),
            "example.com",
            "s",
        )
        .unwrap();
        let bh = |header: &str| {
            let unfolded: String = header.chars().filter(|c| !c.is_whitespace()).collect();
            let start = unfolded.find("bh=").unwrap() + 3;
            unfolded[start..].split(';').next().unwrap().to_owned()
        };
        for body in [
            "plain=20text\r\n",
            "  runs \t of  space \r\n\r\n\r\n",
            "=\r\nno final break",
            "",
        ] {
            let message = format!(
                "From: a@example.com\r\nTo: b@example.com\r\nSubject:  Hello\r\n  world\r\n\r\n{body}"
            );
            let mine = ours.sign(message.as_bytes()).unwrap();
            let reference = theirs.sign(message.as_bytes()).unwrap().to_header();
            assert_eq!(bh(&mine), bh(&reference), "{body:?}");
        }
    }

    /// Each broken key file is refused with its own reason (on today's code the one-line file
    /// panicked at start-up: `end < start`).
    #[test]
    fn broken_key_files_are_refused_with_a_reason() {
        let b64 = ed25519_b64(&[]);
        let key = block("PRIVATE KEY", &b64);
        for (name, pem, reason) in [
            (
                "not PEM",
                "not a key".to_owned(),
                "no `-----BEGIN PRIVATE KEY-----`",
            ),
            (
                "one line",
                "-----BEGIN PRIVATE KEY-----END PRIVATE KEY-----".to_owned(),
                "on one line",
            ),
            (
                "one line with a body",
                format!("-----BEGIN PRIVATE KEY-----{b64}-----END PRIVATE KEY-----"),
                "on one line",
            ),
            (
                "END before BEGIN",
                format!("-----END PRIVATE KEY-----\n{b64}\n-----BEGIN PRIVATE KEY-----\n"),
                "no matching `-----END",
            ),
            (
                "no END",
                format!("-----BEGIN PRIVATE KEY-----\n{b64}\n"),
                "no matching `-----END",
            ),
            (
                "END of another label",
                format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END RSA PRIVATE KEY-----\n"),
                "no matching `-----END",
            ),
            (
                "bad base64",
                block("PRIVATE KEY", "MC4C*AQAw"),
                "not valid base64",
            ),
            (
                "empty body",
                "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n".to_owned(),
                "nothing between",
            ),
            (
                "wrong label",
                block("CERTIFICATE", "AAAA"),
                "(found: CERTIFICATE)",
            ),
            (
                "public key",
                block("PUBLIC KEY", "AAAA"),
                "(found: PUBLIC KEY)",
            ),
            ("EC key", block("EC PRIVATE KEY", "AAAA"), "EC key"),
            ("two keys", format!("{key}{key}"), "holds 2 private keys"),
            (
                "not a key inside",
                block("PRIVATE KEY", "AAAA"),
                "not one whole DER structure",
            ),
            (
                "garbage after the key's DER",
                block("PRIVATE KEY", &ed25519_b64(b"garbage")),
                "not one whole DER structure",
            ),
            (
                "PKCS#1 key with garbage after it",
                block("RSA PRIVATE KEY", &ed25519_b64(b"garbage")),
                "not one whole DER structure",
            ),
            (
                "PKCS#1 label, not PKCS#1 inside",
                block("RSA PRIVATE KEY", &b64),
                "RSA key cannot be used",
            ),
            (
                "an X25519 key",
                block("PRIVATE KEY", &x25519_b64()),
                "algorithm 1.3.101.110",
            ),
        ] {
            let e = problem(&pem);
            assert!(e.contains(reason), "{name}: expected {reason:?} in {e}");
        }
    }

    #[test]
    fn errors_print_each_cause_once_and_keep_the_chain() {
        let e = Dkim::load(Path::new("/nonexistent/dkim.pem"), "example.com", "s").unwrap_err();
        assert!(matches!(e, DkimError::Read { .. }));
        let top = e.to_string();
        let source = std::error::Error::source(&e)
            .expect("the io error is kept")
            .to_string();
        assert!(
            top.contains("/nonexistent/dkim.pem") && top.contains("dkim_key_file"),
            "{top}"
        );
        assert!(
            !top.contains(&source),
            "the cause is printed by main, not twice: {top}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, "-----BEGIN PRIVATE KEY-----END PRIVATE KEY-----").unwrap();
        let e = Dkim::load(&path, "example.com", "s").unwrap_err();
        let DkimError::BadKey { problem, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(
            matches!(problem, KeyProblem::Pem(PemProblem::OneLine)),
            "{problem:?}"
        );
        assert!(!e.to_string().contains(&problem.to_string()), "{e}");
        assert!(
            e.to_string().contains("openssl genpkey"),
            "says what to do: {e}"
        );
    }
}
