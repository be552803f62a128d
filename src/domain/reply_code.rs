//! The code of an SMTP reply as failures are grouped by it: the basic code (RFC 5321,
//! `550`) and, when the reply has one, the enhanced status (RFC 3463, `5.1.1`). Read from the
//! reply text wherever it sits (`gave up after 3 tries: 451 4.2.2 Mailbox full`), so that
//! one reply per address ("550 5.1.1 <ada@…>: no such user") becomes one group.

/// `550 5.1.1`, `421`, or `None` when the text holds no reply code (a connection failure).
pub fn reply_code(reply: &str) -> Option<String> {
    let mut words = reply
        .split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')' || c == '-')
        .filter(|w| !w.is_empty());
    let code = words.by_ref().find(|w| is_basic(w))?;
    let enhanced = words.next().filter(|w| is_enhanced(w, code));
    Some(match enhanced {
        Some(e) => format!("{code} {e}"),
        None => code.to_owned(),
    })
}

fn is_basic(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() == 3
        && matches!(b.first(), Some(b'2' | b'4' | b'5'))
        && b.iter().all(u8::is_ascii_digit)
}

/// `class.subject.detail`, its class the basic code's.
fn is_enhanced(w: &str, code: &str) -> bool {
    let parts: Vec<&str> = w.split('.').collect();
    parts.len() == 3
        && parts.first() == code.get(..1).as_ref()
        && parts
            .iter()
            .skip(1)
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_found_wherever_it_sits() {
        for (reply, code) in [
            (
                "550 5.1.1 <ada@example.com>: Recipient address rejected",
                Some("550 5.1.1"),
            ),
            (
                "550-5.1.1 The email account does not exist",
                Some("550 5.1.1"),
            ),
            (
                "gave up after 3 tries: 451 4.2.2 Mailbox full",
                Some("451 4.2.2"),
            ),
            (
                "454 Throttling failure: Maximum sending rate exceeded",
                Some("454"),
            ),
            ("421 4.7.0 Try again later", Some("421 4.7.0")),
            ("550 4.1.1 mismatched class", Some("550")),
            ("connection refused (os error 111)", None),
            ("", None),
        ] {
            assert_eq!(reply_code(reply).as_deref(), code, "{reply}");
        }
    }
}
