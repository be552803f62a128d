//! Reading PEM files (RFC 7468) with rustls-pki-types' parser: the DKIM key and the CA file of
//! the SMTP relay. Its errors are put in words an operator can act on, and never repeat what
//! the file holds: a key written on one line would otherwise be echoed into the log.

use rustls_pki_types::pem::{self, PemObject, SectionKind};

/// Why a file is not well-formed PEM.
#[derive(Debug, thiserror::Error)]
pub enum PemProblem {
    #[error(
        "`-----BEGIN` and `-----END` are on one line: PEM puts the BEGIN line, the base64 \
         lines and the END line each on a line of its own"
    )]
    OneLine,
    #[error("a `-----BEGIN …-----` line has no matching `-----END …-----` line after it")]
    NoEnd,
    #[error("a `-----BEGIN` line does not end in five dashes")]
    BrokenBegin,
    #[error("the text between the BEGIN and END lines is not valid base64")]
    Base64(#[source] pem::Error),
    #[error("a PEM block is larger than 256 MB")]
    TooLarge,
}

/// Every block whose label rustls knows (keys, certificates, CRLs …), in file order.
/// Text around the blocks is ignored, as RFC 7468 §2 allows; blocks with other labels are
/// skipped.
pub fn sections(bytes: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, PemProblem> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .map(|item| item.map_err(problem))
        .collect()
}

fn problem(e: pem::Error) -> PemProblem {
    match e {
        // The "end marker" is the label of the BEGIN line; one that holds dashes is a BEGIN
        // and an END run together on one line.
        pem::Error::MissingSectionEnd { end_marker }
            if end_marker.windows(5).any(|w| w == b"-----") =>
        {
            PemProblem::OneLine
        }
        pem::Error::MissingSectionEnd { .. } => PemProblem::NoEnd,
        pem::Error::IllegalSectionStart { .. } => PemProblem::BrokenBegin,
        pem::Error::SectionTooLarge => PemProblem::TooLarge,
        other => PemProblem::Base64(other),
    }
}

/// The label a block of this kind carries, for messages.
pub fn label(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "CERTIFICATE",
        SectionKind::PublicKey => "PUBLIC KEY",
        SectionKind::RsaPrivateKey => "RSA PRIVATE KEY",
        SectionKind::PrivateKey => "PRIVATE KEY",
        SectionKind::EcPrivateKey => "EC PRIVATE KEY",
        SectionKind::Crl => "X509 CRL",
        SectionKind::Csr => "CERTIFICATE REQUEST",
        SectionKind::EchConfigList => "ECHCONFIG",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each broken shape gets its own words, and none repeats the file's text.
    #[test]
    fn broken_shapes_are_named_without_echoing_the_file() {
        let secret = "TUlJQ1NFQ1JFVA";
        for (pem, expected) in [
            (
                format!("-----BEGIN PRIVATE KEY-----{secret}-----END PRIVATE KEY-----"),
                "on one line",
            ),
            (
                "-----BEGIN PRIVATE KEY-----END PRIVATE KEY-----".to_owned(),
                "on one line",
            ),
            (
                format!("-----BEGIN PRIVATE KEY-----\n{secret}\n"),
                "no matching `-----END",
            ),
            (
                format!("-----END PRIVATE KEY-----\n{secret}\n-----BEGIN PRIVATE KEY-----\n"),
                "no matching `-----END",
            ),
            (
                format!("-----BEGIN PRIVATE KEY----\n{secret}\n-----END PRIVATE KEY-----\n"),
                "five dashes",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\n@@not*base64@@\n-----END PRIVATE KEY-----\n"
                    .to_owned(),
                "not valid base64",
            ),
        ] {
            let e = sections(pem.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(expected), "{pem:?}: {e}");
            assert!(!e.contains(secret), "{e}");
        }
    }

    #[test]
    fn text_around_blocks_and_crlf_are_accepted() {
        let pem = "comment\r\n-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\ntrailing words\r\n";
        let found = sections(pem.as_bytes()).unwrap();
        assert_eq!(found, vec![(SectionKind::Certificate, vec![0, 0, 0])]);
        assert_eq!(label(found[0].0), "CERTIFICATE");
    }
}
