//! DKIM signing (RFC 6376) with mail-auth: RSA-SHA256 or Ed25519-SHA256, keys in PKCS#8
//! (`openssl genpkey`) or PKCS#1 (`openssl genrsa -traditional`) PEM. mail-auth signs with
//! aws-lc (constant-time, ~3× faster than lettre's pure-Rust RSA).

use std::path::{Path, PathBuf};

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
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

enum Signer {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

pub struct Dkim {
    signer: Signer,
    pub algorithm: &'static str,
    /// The TXT record receivers look the key up in (`v=DKIM1; k=…; p=…`).
    dns_record: String,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dkim({})", self.algorithm)
    }
}

impl Dkim {
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
                signer: Signer::Rsa(configure(DkimSigner::from_key(key), domain, selector)),
                algorithm: "rsa-sha256",
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
                    signer: Signer::Ed25519(configure(DkimSigner::from_key(key), domain, selector)),
                    algorithm: "ed25519-sha256",
                })
            }
            other => Err(KeyProblem::Algorithm(other.to_owned())),
        }
    }

    /// The TXT record to publish at `SELECTOR._domainkey.DOMAIN` (RFC 6376 §3.6.1).
    pub fn dns_record(&self) -> &str {
        &self.dns_record
    }

    /// The `DKIM-Signature:` header line(s) for a message, to put in front of it.
    pub fn sign(&self, message: &[u8]) -> Result<String, DkimError> {
        let signature = match &self.signer {
            Signer::Rsa(s) => s.sign(message),
            Signer::Ed25519(s) => s.sign(message),
        }
        .map_err(DkimError::Sign)?;
        Ok(signature.to_header())
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

fn configure<T: mail_auth::common::crypto::SigningKey>(
    s: DkimSigner<T, mail_auth::dkim::NeedDomain>,
    domain: &str,
    selector: &str,
) -> DkimSigner<T, Done> {
    s.domain(domain)
        .selector(selector)
        .headers(SIGNED_HEADERS)
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
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
