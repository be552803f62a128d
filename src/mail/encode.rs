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

/// A template with its literal pieces quoted-printable-encoded once (docs/architecture.md decision 1):
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

/// RFC 5322 §2.1.1: a header line should stay within 78 characters.
const LINE: usize = 78;
/// RFC 2047 §2: a line that holds an encoded word stays within 76 characters.
const ENCODED_LINE: usize = 76;
/// The framing of an encoded word: `=?utf-8?B?` and `?=`.
const FRAMING: usize = 12;

/// An unstructured header (Subject): `Name: text\r\n`, folded at spaces within 78 characters.
/// Text that is not ASCII, that has a word too long for a line of its own, or that a reader
/// would take for an encoded word becomes RFC 2047 encoded words, the first one fitted on the
/// line after the name, so that no line passes 76 characters.
pub fn header(name: &str, value: &str, out: &mut String) {
    // A word fits when it fits a continuation line: a space and the word.
    let plain = value.is_ascii()
        && value
            .split(' ')
            .all(|w| w.len() < LINE && !looks_encoded(w));
    if plain {
        structured_header(name, value, out);
        return;
    }
    out.push_str(name);
    out.push(':');
    // Every encoded word after the first starts a continuation line of its own.
    let mut col = name.len() + 1;
    let mut rest = value;
    loop {
        if raw_room(col) < 4 {
            // Not even one character fits after the name: start on a line of its own.
            out.push_str("\r\n");
            col = 0;
        }
        let (chunk, after) = split_at_most(rest, raw_room(col));
        out.push(' ');
        out.push_str(&encoded_word(chunk));
        rest = after;
        if rest.is_empty() {
            break;
        }
        // Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
        out.push_str("\r\n");
        col = 0;
    }
    out.push_str("\r\n");
}

/// A structured header (addresses, ids, dates): `Name: value\r\n`, folded at spaces within
/// 78 characters, or 76 on a line that holds an encoded word. The value is ASCII by
/// construction (display names come encoded from `display_name`).
pub fn structured_header(name: &str, value: &str, out: &mut String) {
    out.push_str(name);
    out.push(':');
    let mut col = name.len() + 1;
    let mut line_has_encoded = false;
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        let encoded = looks_encoded(word);
        let limit = if encoded || line_has_encoded {
            ENCODED_LINE
        } else {
            LINE
        };
        if col + 1 + word.len() > limit && col > name.len() + 1 {
            out.push_str("\r\n");
            col = 0;
            line_has_encoded = false;
        }
        out.push(' ');
        out.push_str(word);
        col += 1 + word.len();
        line_has_encoded |= encoded;
    }
    out.push_str("\r\n");
}

/// A decoder may take `=?…` for the start of an encoded word: such text is encoded itself.
fn looks_encoded(word: &str) -> bool {
    word.contains("=?")
}

/// How many bytes of text an encoded word after a space at column `col` can hold: base64
/// writes 3 bytes as 4 characters.
fn raw_room(col: usize) -> usize {
    ENCODED_LINE.saturating_sub(col + 1 + FRAMING) / 4 * 3
}

/// The longest start of `s` of at most `max` bytes that ends between characters (at least one
/// character, so that every call makes progress), and the rest.
fn split_at_most(s: &str, max: usize) -> (&str, &str) {
    let end = s
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|end| *end <= max)
        .last()
        .or_else(|| s.chars().next().map(char::len_utf8))
        .unwrap_or(0);
    s.split_at_checked(end).unwrap_or((s, ""))
}

/// `=?utf-8?B?…?=` words of at most 60 characters, split between characters: short enough
/// that one fits after any header name we write on a line of 76.
fn encoded_words(value: &str) -> Vec<String> {
    const MAX_RAW: usize = 36; // 36 bytes → 48 base64 characters + 12 of framing
    let mut words = Vec::new();
    let mut rest = value;
    loop {
        let (chunk, after) = split_at_most(rest, MAX_RAW);
        words.push(encoded_word(chunk));
        rest = after;
        if rest.is_empty() {
            return words;
        }
    }
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
            "you signed up.",
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

    /// On today's code a 1,200-character word made one 1,210-octet line, and the first line of
    /// an encoded Subject was 81 characters (the name was not counted).
    #[test]
    fn no_header_line_passes_its_limit_whatever_the_text() {
        for value in [
            "x".repeat(1200),
            "Grüße ".repeat(200),
            "😀".repeat(300),
            format!("short {} words", "y".repeat(90)),
        ] {
            for name in [
                "Subject",
                "X-A-Rather-Long-Header-Name-Of-Sixty-Characters-For-Testing",
            ] {
                let mut h = String::new();
                header(name, &value, &mut h);
                assert!(h.ends_with("\r\n"), "{h}");
                for line in h.trim_end_matches("\r\n").split("\r\n") {
                    assert!(
                        line.len() <= 76,
                        "{name}: {} characters: {line}",
                        line.len()
                    );
                }
            }
        }
    }

    #[test]
    fn text_a_reader_would_decode_is_encoded() {
        let mut h = String::new();
        header("Subject", "Try =?utf-8?B?SGk=?= now", &mut h);
        assert!(!h.contains("SGk=?= now"), "{h}");
        assert!(h.starts_with("Subject: =?utf-8?B?"), "{h}");
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
