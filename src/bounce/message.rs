//! The MIME walk: which parts of a report matter and what they hold. mail-parser does the
//! MIME work (encodings, boundaries, nested messages); this keeps only what the report
//! parsers read.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::text::{addresses_in, header_fields, message_ids_in};

/// At most this much body text is kept for the legacy parser.
const MAX_BODY_CHARS: usize = 256 * 1024;

/// The parts of one message that say something about a bounce.
#[derive(Debug, Default)]
pub struct Parts {
    /// Top-level header fields, lower-case names, unfolded values.
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub from: String,
    /// `message/delivery-status` (and `message/global-delivery-status`) bodies.
    pub delivery_status: Vec<String>,
    /// `message/feedback-report` bodies.
    pub feedback: Vec<String>,
    /// The text/plain parts of the report itself (or its HTML, tags removed, when it has no
    /// plain text).
    pub body: String,
    pub original_message_ids: Vec<String>,
    pub original_recipients: Vec<String>,
}

impl Parts {
    pub fn read(raw: &[u8]) -> Option<Parts> {
        let message = MessageParser::default().parse(raw)?;
        let mut parts = Parts {
            headers: header_fields(&header_text(&message)),
            subject: message.subject().unwrap_or("").to_owned(),
            ..Parts::default()
        };
        parts.from = parts.field("from").unwrap_or("").to_owned();
        let mut html = String::new();
        for part in &message.parts {
            let (ctype, subtype) =
                part.content_type()
                    .map_or(("text".to_owned(), "plain".to_owned()), |ct| {
                        (
                            ct.ctype().to_ascii_lowercase(),
                            ct.subtype().unwrap_or("").to_ascii_lowercase(),
                        )
                    });
            match (ctype.as_str(), subtype.as_str(), &part.body) {
                ("message", "delivery-status" | "global-delivery-status", _) => {
                    parts
                        .delivery_status
                        .push(String::from_utf8_lossy(part.contents()).into_owned());
                }
                ("message", "feedback-report", _) => {
                    parts
                        .feedback
                        .push(String::from_utf8_lossy(part.contents()).into_owned());
                }
                ("text" | "message", "rfc822-headers", _) => {
                    parts.add_original_headers(&String::from_utf8_lossy(part.contents()));
                }
                (_, _, PartType::Message(original)) => {
                    parts.add_original_headers(&header_text(original));
                }
                (_, _, PartType::Text(text))
                    if part.attachment_name().is_none() && parts.body.len() < MAX_BODY_CHARS =>
                {
                    parts.body.push_str(text);
                    parts.body.push('\n');
                }
                (_, _, PartType::Html(text)) if html.len() < MAX_BODY_CHARS => {
                    html.push_str(&strip_tags(text));
                }
                _ => {}
            }
        }
        if parts.body.trim().is_empty() {
            parts.body = html;
        }
        if parts.original_message_ids.is_empty() {
            parts.add_quoted_original();
        }
        Some(parts)
    }

    /// The first value of a top-level header.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Where the report was sent: To, Delivered-To, X-Original-To, Envelope-To, in that order,
    /// each address once.
    pub fn report_addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in ["to", "delivered-to", "x-original-to", "envelope-to"] {
            for (_, value) in self.headers.iter().filter(|(n, _)| n == name) {
                for address in addresses_in(value) {
                    if !out.contains(&address) {
                        out.push(address);
                    }
                }
            }
        }
        out
    }

    /// The sender is a mail system, not a person.
    pub fn sent_by_daemon(&self) -> bool {
        let from = self.from.to_ascii_lowercase();
        from.contains("mailer-daemon")
            || from.contains("postmaster")
            || self.field("return-path").is_some_and(|r| r.trim() == "<>")
    }

    fn add_original_headers(&mut self, text: &str) {
        for (name, value) in header_fields(text) {
            match name.as_str() {
                "message-id" => push_new(&mut self.original_message_ids, message_ids_in(&value)),
                "to" => push_new(&mut self.original_recipients, addresses_in(&value)),
                _ => {}
            }
        }
    }

    /// A copy of the original quoted in the text: its `Message-ID:` and `To:` lines, read
    /// only after a line that begins a header block (`Received:`, `Return-Path:`, `From:`,
    /// `Message-ID:`), so the report's own sentences are not taken for them.
    fn add_quoted_original(&mut self) {
        let mut in_headers = false;
        let mut ids = Vec::new();
        let mut tos = Vec::new();
        for line in self.body.lines().take(20_000) {
            let l = line.trim_start().to_ascii_lowercase();
            if ["received:", "return-path:", "from:", "message-id:", "date:"]
                .iter()
                .any(|h| l.starts_with(h))
            {
                in_headers = true;
            }
            if !in_headers {
                continue;
            }
            if l.starts_with("message-id:") {
                if let Some((_, value)) = line.split_once(':') {
                    ids.extend(message_ids_in(value));
                }
            } else if l.starts_with("to:")
                && let Some((_, value)) = line.split_once(':')
            {
                tos.extend(addresses_in(value));
            }
        }
        push_new(&mut self.original_message_ids, ids);
        push_new(&mut self.original_recipients, tos);
    }
}

fn push_new(into: &mut Vec<String>, items: Vec<String>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// A message's own header block as text, from the raw bytes mail-parser kept.
fn header_text(message: &Message<'_>) -> String {
    let raw = message.raw_message();
    let root = message.root_part();
    let start = root.raw_header_offset() as usize;
    let end = root.raw_body_offset() as usize;
    let bytes = raw.get(start..end).unwrap_or(&[]);
    String::from_utf8_lossy(bytes).into_owned()
}

/// HTML as text: tags dropped, block ends made line breaks, common entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag.trim_start_matches('/').to_ascii_lowercase();
                if ["br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"]
                    .iter()
                    .any(|t| name.split([' ', '/']).next() == Some(t))
                {
                    out.push('\n');
                }
            }
            (true, c) => {
                if tag.len() < 16 {
                    tag.push(c);
                }
            }
            (false, c) => out.push(c),
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
