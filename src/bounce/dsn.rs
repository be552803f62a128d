//! RFC 3464 delivery status notifications: the `message/delivery-status` part, one block of
//! per-message fields, then one block per recipient.

use super::text::{
    find_reply_code, find_status, header_fields, normalize_address, one_line, paragraphs,
};

/// One per-recipient block, as written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    pub original: Option<String>,
    pub final_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub reply_code: Option<String>,
}

impl DsnRecipient {
    /// The address we sent to: Original-Recipient when the MTA kept it, else Final-Recipient.
    pub fn address(&self) -> Option<String> {
        self.original
            .clone()
            .or_else(|| self.final_recipient.clone())
    }

    fn is_empty(&self) -> bool {
        self.original.is_none() && self.final_recipient.is_none() && self.action.is_none()
    }
}

/// The recipients of a delivery-status part, in order.
pub fn recipients(fields_text: &str) -> Vec<DsnRecipient> {
    let mut out = Vec::new();
    for block in paragraphs(fields_text) {
        let mut current = DsnRecipient::default();
        for (name, value) in header_fields(&block) {
            let starts_new = match name.as_str() {
                "original-recipient" => {
                    current.original.is_some() || current.final_recipient.is_some()
                }
                "final-recipient" => current.final_recipient.is_some(),
                _ => false,
            };
            if starts_new && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            match name.as_str() {
                "original-recipient" => current.original = normalize_address(&value),
                "final-recipient" => current.final_recipient = normalize_address(&value),
                "action" => {
                    current.action = value
                        .split_whitespace()
                        .next()
                        .map(|a| a.trim_end_matches(';').to_ascii_lowercase());
                }
                "status" => current.status = find_status(&value),
                "diagnostic-code" => {
                    // "smtp; 550 5.1.1 …": the text after the type.
                    let text = value.split_once(';').map_or(value.as_str(), |(_, t)| t);
                    let text = one_line(text);
                    current.reply_code = find_reply_code(&text);
                    if !text.is_empty() {
                        current.diagnostic = Some(text);
                    }
                }
                _ => {}
            }
        }
        if current.final_recipient.is_some() || current.original.is_some() {
            out.push(current);
        }
    }
    merge_repeats(out)
}

/// Some MTAs repeat a recipient's block (or split it in two): one recipient per address,
/// the later blocks filling what the first left out.
fn merge_repeats(all: Vec<DsnRecipient>) -> Vec<DsnRecipient> {
    let mut out: Vec<DsnRecipient> = Vec::new();
    for r in all {
        let same = out.iter_mut().find(|o| {
            o.address()
                .is_some_and(|a| Some(a.to_lowercase()) == r.address().map(|b| b.to_lowercase()))
        });
        match same {
            Some(o) => {
                o.action = o.action.take().or(r.action);
                o.status = o.status.take().or(r.status);
                o.diagnostic = o.diagnostic.take().or(r.diagnostic);
                o.reply_code = o.reply_code.take().or(r.reply_code);
            }
            None => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_recipients_and_folding() {
        let text = "Reporting-MTA: dns; mx.example.net\n\n\
            Final-Recipient: rfc822; a@Example.COM\nAction: failed\nStatus: 5.1.1\n\
            Diagnostic-Code: smtp; 550 5.1.1 <a@example.com>:\n  user unknown\n\n\
            Original-Recipient: rfc822;b@example.com\nFinal-Recipient: rfc822;c@example.com\n\
            Action: delayed\nStatus: 4.4.7\n";
        let r = recipients(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].address().as_deref(), Some("a@example.com"));
        assert_eq!(r[0].reply_code.as_deref(), Some("550"));
        assert_eq!(
            r[0].diagnostic.as_deref(),
            Some("550 5.1.1 <a@example.com>: user unknown")
        );
        assert_eq!(r[1].address().as_deref(), Some("b@example.com"));
        assert_eq!(r[1].action.as_deref(), Some("delayed"));
    }

    #[test]
    fn recipients_run_together_in_one_block() {
        let text = "Final-Recipient: rfc822; a@x.example\nAction: failed\nStatus: 5.0.0\n\
            Final-Recipient: rfc822; b@x.example\nAction: failed\nStatus: 5.0.0\n";
        assert_eq!(recipients(text).len(), 2);
    }
}
