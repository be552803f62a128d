//! Small text helpers shared by the report parsers: header blocks, addresses, status codes.
//! Everything works on `&str` through char or `split` iterators, never byte slicing, so no
//! input can make them panic.

/// The longest diagnostic kept, in chars.
pub const MAX_DIAGNOSTIC_CHARS: usize = 500;

/// A header block (`Name: value` lines, folded lines joined) as `(lower-case name, value)`.
/// Lines that are not headers are skipped.
pub fn header_fields(block: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                fields.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
    }
    fields
}

/// Splits a block of lines into paragraphs at blank lines.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whitespace collapsed to single spaces, trimmed, at most [`MAX_DIAGNOSTIC_CHARS`] chars.
pub fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.chars().take(MAX_DIAGNOSTIC_CHARS).collect()
}

/// An address as the reports write it (`rfc822; <User@Example.COM>`, `"x@y"`, `mailto:x@y`)
/// made plain: no type prefix, brackets or quotes, domain lower-cased. `None` when it is not
/// `local@domain`.
pub fn normalize_address(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    if let Some((kind, rest)) = s.split_once(';')
        && !kind.contains('@')
    {
        s = rest.trim();
    }
    let s = s
        .trim_start_matches("mailto:")
        .trim_start_matches("MAILTO:");
    let s = s.trim_matches(|c: char| "<>\"'()[],;:.`".contains(c) || c.is_whitespace());
    let (local, domain) = s.rsplit_once('@')?;
    let local = local.trim_start_matches(['<', '"', '\'']);
    if local.is_empty()
        || domain.is_empty()
        || local.contains(['@', '<', '>', ' ', '\t', '\\'])
        || domain.contains(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

/// Every address in a line of free text, in order.
pub fn addresses_in(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "<>()[],;\"'".contains(c))
        .filter(|token| token.contains('@'))
        .filter_map(|token| {
            // "To:<a@b>:" and "user@host:" shapes: drop a trailing colon and a leading label.
            let token = token.trim_end_matches([':', '.']);
            let token = token.rsplit_once(':').map_or(token, |(_, after)| after);
            normalize_address(token)
        })
        .collect()
}

/// The `<…>` message ids in a header value, with their brackets.
pub fn message_ids_in(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some((_, after)) = rest.split_once('<') {
        match after.split_once('>') {
            Some((id, tail)) => {
                if !id.is_empty() && !id.contains(char::is_whitespace) {
                    ids.push(format!("<{id}>"));
                }
                rest = tail;
            }
            None => break,
        }
    }
    ids
}

/// The first RFC 3463 enhanced status code (`5.1.1`, `4.7.28`) in `text`: class 2, 4 or 5,
/// subject and detail of one to three digits, not part of a longer dotted number.
pub fn find_status(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().take(64 * 1024).collect();
    let mut i = 0;
    while i < chars.len() {
        let before_ok = i == 0 || !is_number_char(chars.get(i - 1).copied());
        if before_ok
            && matches!(chars.get(i), Some('2' | '4' | '5'))
            && chars.get(i + 1) == Some(&'.')
        {
            let (subject, j) = digits(&chars, i + 2);
            if (1..=3).contains(&subject.len()) && chars.get(j) == Some(&'.') {
                let (detail, k) = digits(&chars, j + 1);
                let after = chars.get(k).copied();
                let after_ok = !is_number_char(after)
                    || (after == Some('.') && !chars.get(k + 1).is_some_and(char::is_ascii_digit));
                if (1..=3).contains(&detail.len()) && after_ok {
                    let class = chars.get(i).copied().unwrap_or('5');
                    return Some(format!("{class}.{subject}.{detail}"));
                }
            }
        }
        i += 1;
    }
    None
}

/// The first SMTP reply code (`550`, `421`) in `text`: three digits starting 2, 4 or 5, on
/// their own (followed by a space, `-`, `:` or the end), not part of a dotted number.
pub fn find_reply_code(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().take(64 * 1024).collect();
    let mut i = 0;
    while i < chars.len() {
        let before = if i == 0 {
            None
        } else {
            chars.get(i - 1).copied()
        };
        let before_ok = !before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '#');
        let (run, j) = digits(&chars, i);
        if before_ok && run.len() == 3 && matches!(run.chars().next(), Some('2' | '4' | '5')) {
            let after = chars.get(j).copied();
            if matches!(
                after,
                None | Some(' ' | '-' | ':' | '\t' | '\r' | '\n' | ')' | ']')
            ) {
                return Some(run);
            }
        }
        i += run.len().max(1);
    }
    None
}

fn digits(chars: &[char], from: usize) -> (String, usize) {
    let mut out = String::new();
    let mut j = from;
    while let Some(c) = chars.get(j).filter(|c| c.is_ascii_digit()) {
        out.push(*c);
        j += 1;
    }
    (out, j)
}

fn is_number_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit() || c == '.')
}

/// Lower-case ASCII copy for keyword matching.
pub fn lower(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(find_status("550 5.1.1 <a@b>").as_deref(), Some("5.1.1"));
        assert_eq!(find_status("550-5.7.28 rate").as_deref(), Some("5.7.28"));
        assert_eq!(find_status("(#5.1.1)").as_deref(), Some("5.1.1"));
        assert_eq!(find_status("host 192.5.1.1 said"), None);
        assert_eq!(find_status("version 5.1.1.2"), None);
        assert_eq!(find_status("ends 4.4.7.").as_deref(), Some("4.4.7"));
    }

    #[test]
    fn reply_codes() {
        assert_eq!(find_reply_code("smtp; 550 5.1.1 x").as_deref(), Some("550"));
        assert_eq!(find_reply_code("550-5.1.1 x").as_deref(), Some("550"));
        assert_eq!(
            find_reply_code("554: delivery error").as_deref(),
            Some("554")
        );
        assert_eq!(find_reply_code("192.168.1.250 x"), None);
        assert_eq!(find_reply_code("2002 at 14:09"), None);
        assert_eq!(find_reply_code("550"), Some("550".into()));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            normalize_address("rfc822; <Joe@Example.COM>").as_deref(),
            Some("Joe@example.com")
        );
        assert_eq!(normalize_address("no address"), None);
        assert_eq!(
            addresses_in("RCPT TO:<a@b.example>: 550 user unknown"),
            vec!["a@b.example".to_owned()]
        );
        assert_eq!(
            message_ids_in("<a@b> junk <c@d>"),
            vec!["<a@b>".to_owned(), "<c@d>".to_owned()]
        );
    }

    #[test]
    fn one_line_caps() {
        assert_eq!(one_line("  a\n  b\t c "), "a b c");
        assert_eq!(one_line(&"é".repeat(900)).chars().count(), 500);
    }
}
