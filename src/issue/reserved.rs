//! The characters the renderer marks its per-recipient slots with (`render::slots`) are
//! reserved: they may not appear in an issue, not written in the file and not decoded from it
//! either (`&#xFDD0;` in Markdown, `\uFDD0` in TOML), or issue text could forge a slot and
//! every reader's address and unsubscribe URL would be spliced into it. They are defined here,
//! in the lower layer, so the parser need not depend on the renderer.

/// Opens a slot: a Unicode noncharacter, never in text meant for people.
pub const OPEN: char = '\u{FDD0}';
/// Closes a slot.
pub const CLOSE: char = '\u{FDD1}';

/// The first slot character in `text`, with its byte offset.
pub(super) fn find_reserved(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|(_, c)| *c == OPEN || *c == CLOSE)
}

/// The byte offset of the first TOML escape in `toml` that decodes to a slot character, so
/// that the error points at it (`\uFDD0`, `\U0000FDD1`, any case).
pub(super) fn reserved_escape(toml: &str) -> Option<usize> {
    // ASCII lower-casing keeps every byte offset.
    let lower = toml.to_ascii_lowercase();
    [OPEN, CLOSE]
        .iter()
        .flat_map(|c| {
            let hex = format!("{:x}", u32::from(*c));
            [format!("\\u{hex:0>4}"), format!("\\u{hex:0>8}")]
        })
        .filter_map(|escape| lower.find(&escape))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_found_in_any_case_and_length() {
        assert_eq!(reserved_escape(r#"title = "a\uFDD0""#), Some(10));
        assert_eq!(reserved_escape(r#"title = "\U0000fdd1""#), Some(9));
        assert_eq!(reserved_escape(r#"title = "\u00e9""#), None);
        assert_eq!(find_reserved("ab\u{FDD1}"), Some((2, '\u{FDD1}')));
        assert_eq!(find_reserved("\u{FDD2}"), None);
    }
}
