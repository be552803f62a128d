//! RFC 6376 §3.4 "relaxed" canonicalization, written for speed: a 48 KB issue is hashed once
//! per recipient, and a byte-at-a-time canonicalizer spent more time on it than the RSA
//! signature. A line that canonicalization leaves as it is (no tab, no run of spaces, no
//! trailing space: every line our quoted-printable writes) is hashed whole; only other lines
//! are rewritten, into a scratch buffer. SHA-256 runs on the CPU's SHA extensions where it
//! has them (the `sha2` crate detects them).

use sha2::{Digest, Sha256};

/// SHA-256 of the relaxed canonical form of a message body (§3.4.4): runs of spaces and
/// tabs become one space, spaces and tabs at line ends go, empty lines at the end go, and a
/// body that does not end with a line break gets one.
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    match already_canonical(body) {
        Some(canonical) => {
            let mut hash = Sha256::new();
            hash.update(canonical);
            if !canonical.is_empty() && !canonical.ends_with(b"\r\n") {
                hash.update(b"\r\n");
            }
            hash.finalize().into()
        }
        None => line_by_line(body),
    }
}

/// The body without its empty lines at the end, when that is all relaxed canonicalization
/// would change (every line ends in CRLF; no tab, run of spaces or space before a line end
/// anywhere): then the whole body is hashed in one call. Our quoted-printable bodies are.
fn already_canonical(body: &[u8]) -> Option<&[u8]> {
    let clean = memchr::memchr(b'\t', body).is_none()
        && DOUBLE_SPACE.find(body).is_none()
        && SPACE_CRLF.find(body).is_none()
        && !body.ends_with(b" ")
        && memchr::memchr_iter(b'\n', body).all(|i| i > 0 && body.get(i - 1) == Some(&b'\r'))
        && memchr::memchr_iter(b'\r', body).all(|i| body.get(i + 1) == Some(&b'\n'));
    if !clean {
        return None;
    }
    let mut end = body.len();
    // Empty lines at the end go: keep one line break.
    while end >= 4 && body.get(end - 4..end) == Some(&b"\r\n\r\n"[..]) {
        end -= 2;
    }
    if end == 2 && body.starts_with(b"\r\n") {
        end = 0;
    }
    body.get(..end)
}

static DOUBLE_SPACE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));
static SPACE_CRLF: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" \r\n"));

/// The general case, one line at a time.
fn line_by_line(body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    // Empty lines seen but not yet hashed: only hashed if a non-empty line follows.
    let mut empty_lines = 0usize;
    let mut scratch = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line: &[u8] = if needs_rewrite(line) {
            scratch.clear();
            compress_whitespace(line, &mut scratch);
            &scratch
        } else {
            line
        };
        if line.is_empty() {
            empty_lines += 1;
            continue;
        }
        for _ in 0..empty_lines {
            hash.update(b"\r\n");
        }
        empty_lines = 0;
        hash.update(line);
        hash.update(b"\r\n");
    }
    hash.finalize().into()
}

/// Whether relaxed canonicalization changes a line (its line break removed).
fn needs_rewrite(line: &[u8]) -> bool {
    matches!(line.last(), Some(b' ' | b'\t'))
        || memchr::memchr(b'\t', line).is_some()
        || DOUBLE_SPACE.find(line).is_some()
}

/// A line's spaces and tabs as relaxed canonicalization wants them: runs become one space,
/// and none at the end.
fn compress_whitespace(line: &[u8], out: &mut Vec<u8>) {
    let mut pending_space = false;
    for &b in line {
        if b == b' ' || b == b'\t' {
            pending_space = true;
        } else {
            // A run becomes one space, at the start of a line too.
            if pending_space {
                out.push(b' ');
            }
            pending_space = false;
            out.push(b);
        }
    }
}

/// One header as relaxed canonicalization writes it (§3.4.2): the name in lower case, a colon,
/// the value unfolded with its runs of whitespace made one space and none at either end,
/// then CRLF (`with_crlf`: the DKIM-Signature header itself is hashed without it).
pub fn header(name: &str, value: &[u8], with_crlf: bool, out: &mut Vec<u8>) {
    out.extend(name.trim().bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b':');
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = true,
            _ => {
                if pending_space && started {
                    out.push(b' ');
                }
                pending_space = false;
                started = true;
                out.push(b);
            }
        }
    }
    if with_crlf {
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical body, written the slow way straight from RFC 6376 §3.4.4, to hash.
    fn reference(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| {
                let mut s = String::new();
                let mut ws = false;
                for c in l.chars() {
                    if c == ' ' || c == '\t' {
                        ws = true;
                    } else {
                        if ws {
                            s.push(' ');
                        }
                        ws = false;
                        s.push(c);
                    }
                }
                s
            })
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        let mut out = String::new();
        for l in lines {
            out.push_str(&l);
            out.push_str("\r\n");
        }
        out.into_bytes()
    }

    #[test]
    fn the_fast_hash_is_the_hash_of_the_canonical_form() {
        for body in [
            &b""[..],
            b"\r\n\r\n",
            b"one line",
            b"one line\r\n",
            b"trailing  \r\nspaces\t\r\n",
            b"  leading and  inner\t\truns \r\n",
            b"a\r\n\r\n\r\nb\r\n\r\n \r\n\t\r\n",
            b"=\r\nquoted=20printable=\r\n lines\r\n--=_b--\r\n",
            b"no final break",
            b"clean\r\nlines\r\n\r\n\r\n",
            b"\r\n",
            b"clean but\nbare line feeds\r\n",
            b"a bare\rcarriage return\r\n",
            b"ends in a space ",
        ] {
            let want: [u8; 32] = Sha256::digest(reference(body)).into();
            assert_eq!(body_hash(body), want, "{:?}", String::from_utf8_lossy(body));
            assert_eq!(
                line_by_line(body),
                want,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn headers_are_unfolded_and_their_whitespace_compressed() {
        let mut out = Vec::new();
        header("Subject", b" Hello\r\n  \tworld  ", true, &mut out);
        assert_eq!(out, b"subject:Hello world\r\n");
        out.clear();
        header("DKIM-Signature", b" v=1; b=", false, &mut out);
        assert_eq!(out, b"dkim-signature:v=1; b=");
    }
}
