//! The message as SMTP's DATA carries it (RFC 5321 section 4.5.2): every line that begins with
//! a period gets a second one, then the end-of-data line.
//!
//! lettre's `message()` does the same one byte at a time, pushing each into a vector: at the
//! sample issue's 48 KB that was a quarter of the worker's CPU (`perf record` on a 300,000
//! send: 22% in `ClientCodec::encode`). Here the periods are found with `memchr`'s substring
//! search and the lines between are copied whole. The bytes are the ones lettre writes: a
//! line starts after CR LF and at the start of the message, and the end-of-data line follows
//! the message as `CR LF . CR LF`.

use std::fmt;

/// The whole DATA content of a message, ready to be written as it is; see
/// [`smtp_session::transaction`](super::smtp_session) for how it is sent.
pub(super) struct DataLines(String);

impl DataLines {
    /// `None` when the message is not UTF-8 (it then goes through lettre's own encoder).
    pub fn of(message: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(message).ok()?;
        let mut out = String::with_capacity(text.len() + 64);
        if text.starts_with('.') {
            out.push('.');
        }
        let mut start = 0;
        for at in memchr::memmem::find_iter(message, b"\r\n.") {
            // `at + 3` ends on the period, an ASCII byte: a char boundary.
            out.push_str(text.get(start..at + 3)?);
            out.push('.');
            start = at + 3;
        }
        out.push_str(text.get(start..)?);
        out.push_str("\r\n.\r\n");
        Some(Self(out))
    }
}

impl fmt::Display for DataLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::DataLines;

    /// lettre's transparency encoder (0.11, `ClientCodec::encode`) and its end-of-data line,
    /// byte by byte: what `DataLines` must equal.
    fn lettre_way(message: &[u8]) -> Vec<u8> {
        #[derive(Clone, Copy, PartialEq)]
        enum At {
            LineStart,
            AfterCr,
            Middle,
        }
        let mut at = At::LineStart;
        let mut out = Vec::new();
        for &b in message {
            out.push(b);
            at = match (b, at) {
                (b'\r', _) => At::AfterCr,
                (b'\n', At::AfterCr) => At::LineStart,
                (b'.', At::LineStart) => {
                    out.push(b'.');
                    At::Middle
                }
                (_, At::AfterCr | At::LineStart) => At::Middle,
                (_, other) => other,
            };
        }
        out.extend_from_slice(b"\r\n.\r\n");
        out
    }

    fn same(message: &[u8]) {
        let ours = DataLines::of(message).expect("UTF-8");
        assert_eq!(
            ours.0.as_bytes(),
            lettre_way(message).as_slice(),
            "{:?}",
            String::from_utf8_lossy(message)
        );
    }

    #[test]
    fn periods_that_begin_a_line_are_doubled_as_lettre_does() {
        for message in [
            "",
            ".",
            "..",
            ".\r\n.",
            "a\r\n.b\r\n..c\r\n",
            "\r\n.\r\n.\r\n.",
            "\r\r\n.x",
            "a\n.b",
            "a\r.b",
            "é\r\n.é",
            "Subject: x\r\n\r\n.hidden\r\nlast line",
        ] {
            same(message.as_bytes());
        }
    }

    #[test]
    fn any_mix_of_line_breaks_and_periods_comes_out_as_lettre_writes_it() {
        // Every string of up to 7 characters over the bytes that matter.
        let alphabet = [b'\r', b'\n', b'.', b'a'];
        for len in 0..=7u32 {
            for n in 0..alphabet.len().pow(len) {
                let mut rest = n;
                let message: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[rest % alphabet.len()];
                        rest /= alphabet.len();
                        b
                    })
                    .collect();
                same(&message);
            }
        }
    }

    #[test]
    fn a_message_that_is_not_utf8_is_left_to_lettre() {
        assert!(DataLines::of(b"\xff\r\n.").is_none());
    }
}
