//! The encodings a message needs, written for the hot path: quoted-printable bodies
//! (RFC 2045 §6.7) and RFC 2047 encoded words / RFC 5322 folding for headers.

use base64::Engine;

use crate::render::slots::escape_html_into;
use crate::render::{Slot, SlotValues, Template, TemplatePiece};

/// Quoted-printable with CRLF line ends; `\n` in the input is a hard line break. A `.` that
/// starts a line is encoded, so no line of the body can end an SMTP DATA section.
pub fn quoted_printable(input: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(input.len() + input.len() / 16);
    for (n, line) in input.split('\n').enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let bytes = line.strip_suffix('\r').unwrap_or(line).as_bytes();
        let mut col = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let mut literal = match b {
                b' ' | b'\t' => !last,
                b'=' => false,
                33..=126 => true,
                _ => false,
            };
            let width = if literal { 1 } else { 3 };
            if col + width > 75 {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if b == b'.' && col == 0 {
                literal = false;
            }
            if literal {
                out.push(b);
                col += 1;
            } else {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                col += 3;
            }
        }
    }
}

/// A template with its literal pieces quoted-printable-encoded once (DESIGN.md decision 1):
/// filling it for a recipient copies bytes and encodes only the short slot values. Each piece
/// that does not end a line is closed with a soft line break, so every piece and every value
/// starts at column 0 and no line passes 76 characters.
#[derive(Debug, Clone)]
pub struct QpTemplate {
    pieces: Vec<QpPiece>,
    literal_len: usize,
}

#[derive(Debug, Clone)]
enum QpPiece {
    Literal(Vec<u8>),
    Slot(Slot),
}

impl QpTemplate {
    pub fn new(template: &Template) -> Self {
        let pieces: Vec<TemplatePiece<'_>> = template.pieces().collect();
        let last = pieces.len().saturating_sub(1);
        let mut out = Vec::with_capacity(pieces.len());
        for (i, piece) in pieces.into_iter().enumerate() {
            match piece {
                TemplatePiece::Literal(text) => {
                    let mut bytes = Vec::with_capacity(text.len() + text.len() / 8);
                    quoted_printable(text, &mut bytes);
                    if i != last && !text.ends_with('\n') {
                        bytes.extend_from_slice(b"=\r\n");
                    }
                    out.push(QpPiece::Literal(bytes));
                }
                TemplatePiece::Slot(slot) => out.push(QpPiece::Slot(slot)),
            }
        }
        let literal_len = out
            .iter()
            .map(|p| {
                if let QpPiece::Literal(b) = p {
                    b.len()
                } else {
                    0
                }
            })
            .sum();
        Self {
            pieces: out,
            literal_len,
        }
    }

    pub fn encoded_len_hint(&self) -> usize {
        self.literal_len + 1024
    }

    /// Appends the encoded part for one recipient; `html` escapes the values first.
    pub fn fill_into(&self, values: &SlotValues<'_>, html: bool, out: &mut Vec<u8>) {
        let last = self.pieces.len().saturating_sub(1);
        let mut scratch = String::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                QpPiece::Literal(bytes) => out.extend_from_slice(bytes),
                QpPiece::Slot(slot) => {
                    let value = values.get(*slot);
                    let value = if html {
                        scratch.clear();
                        escape_html_into(value, &mut scratch);
                        scratch.as_str()
                    } else {
                        value
                    };
                    quoted_printable(value, out);
                    if i != last {
                        out.extend_from_slice(b"=\r\n");
                    }
                }
            }
        }
    }
}

/// A header line `Name: value\r\n`, the value folded at spaces to keep lines near 78 columns.
/// Non-ASCII values become RFC 2047 encoded words.
pub fn header(name: &str, value: &str, out: &mut String) {
    out.push_str(name);
    out.push(':');
    let mut col = name.len() + 1;
    if value.is_ascii() {
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            if col + 1 + word.len() > 78 && col > name.len() + 1 {
                out.push_str("\r\n");
                col = 0;
            }
            out.push(' ');
            out.push_str(word);
            col += 1 + word.len();
        }
    } else {
        for (i, word) in encoded_words(value).iter().enumerate() {
            if i > 0 {
                out.push_str("\r\n");
            }
            out.push(' ');
            out.push_str(word);
        }
    }
    out.push_str("\r\n");
}

/// `=?utf-8?B?…?=` words of at most 75 characters, split between characters.
pub fn encoded_words(value: &str) -> Vec<String> {
    const MAX_RAW: usize = 45; // 45 bytes → 60 base64 characters + 12 of framing
    let mut words = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_len = 0;
    for (i, c) in value.char_indices() {
        if chunk_len + c.len_utf8() > MAX_RAW {
            words.push(encoded_word(&value[chunk_start..i]));
            chunk_start = i;
            chunk_len = 0;
        }
        chunk_len += c.len_utf8();
    }
    if chunk_start < value.len() || words.is_empty() {
        words.push(encoded_word(&value[chunk_start..]));
    }
    words
}

fn encoded_word(s: &str) -> String {
    format!(
        "=?utf-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s)
    )
}

/// A display name as an RFC 5322 phrase: a quoted string when ASCII, encoded words otherwise.
/// Names are checked for control characters before they get here.
pub fn display_name(name: &str) -> String {
    if name.is_ascii() {
        let mut q = String::with_capacity(name.len() + 2);
        q.push('"');
        for c in name.chars().filter(|c| !c.is_ascii_control()) {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        encoded_words(name).join(" ")
    }
}

/// `"Name" <address>` or `<address>`.
pub fn mailbox(name: Option<&str>, address: &str) -> String {
    match name.filter(|n| !n.trim().is_empty()) {
        Some(n) => format!("{} <{address}>", display_name(n)),
        None => format!("<{address}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(s: &str) -> String {
        let mut out = Vec::new();
        quoted_printable(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoted_printable_escapes_and_wraps() {
        assert_eq!(qp("a=b\nc"), "a=3Db\r\nc");
        assert_eq!(qp("trailing \nx"), "trailing=20\r\nx");
        assert_eq!(qp(".start\n.x"), "=2Estart\r\n=2Ex");
        assert_eq!(qp("é"), "=C3=A9");
        let long = "x".repeat(200);
        let encoded = qp(&long);
        assert!(encoded.split("\r\n").all(|l| l.len() <= 76), "{encoded}");
        assert_eq!(encoded.replace("=\r\n", ""), long);
    }

    #[test]
    fn a_precomputed_template_decodes_to_the_filled_text() {
        let source = format!(
            "{}<a href=\"{}\">x</a>\n.dot {} tail é\n{}",
            "word ".repeat(40),
            Slot::UnsubscribeUrl.marker(),
            Slot::RecipientEmail.marker(),
            Slot::ViewUrl.marker()
        );
        let template = Template::parse(source);
        let values = SlotValues::issue(
            "https://x.example/unsubscribe/a&b=c",
            "https://x.example/issues/1",
            "a@example.com",
        );
        for html in [false, true] {
            let mut encoded = Vec::new();
            QpTemplate::new(&template).fill_into(&values, html, &mut encoded);
            let text = String::from_utf8(encoded.clone()).unwrap();
            assert!(
                text.split("\r\n")
                    .all(|l| l.len() <= 76 && !l.starts_with('.')),
                "{text}"
            );
            let decoded = decode_qp(&text);
            let expected = if html {
                template.fill_html(&values)
            } else {
                template.fill_text(&values)
            };
            assert_eq!(decoded, expected.replace('\n', "\r\n"));
        }
    }

    /// A small decoder for the tests: soft breaks removed, =XX decoded.
    fn decode_qp(s: &str) -> String {
        let joined = s.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn headers_fold_and_encode() {
        let mut h = String::new();
        header("Subject", &"word ".repeat(30), &mut h);
        assert!(h.split("\r\n").all(|l| l.len() <= 78), "{h}");
        let mut h = String::new();
        header("Subject", "Grüße aus München", &mut h);
        assert_eq!(h, "Subject: =?utf-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\r\n");
    }

    #[test]
    fn display_names_are_quoted_or_encoded() {
        assert_eq!(
            mailbox(Some("Ada \"The\" L."), "a@example.com"),
            "\"Ada \\\"The\\\" L.\" <a@example.com>"
        );
        assert_eq!(mailbox(None, "a@example.com"), "<a@example.com>");
        assert!(mailbox(Some("Zoë"), "z@example.com").starts_with("=?utf-8?B?"));
    }
}
