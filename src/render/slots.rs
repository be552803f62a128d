//! Per-recipient slots in a rendered part, filled by plain string splicing: no re-render,
//! no CSS inlining per recipient (docs/architecture.md decision 1).
//!
//! A slot is written as U+FDD0 NAME U+FDD1. Those are Unicode noncharacters, and the issue
//! parser rejects them in input, written or decoded (`issue::reserved`), so no content can
//! forge a slot.

use std::ops::Range;

pub(crate) use crate::issue::reserved::{CLOSE, OPEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    UnsubscribeUrl,
    ViewUrl,
    RecipientEmail,
    ConfirmUrl,
    /// Why this reader receives the mail: their recorded basis (`render::why`).
    Why,
}

impl Slot {
    const ALL: [Slot; 5] = [
        Slot::UnsubscribeUrl,
        Slot::ViewUrl,
        Slot::RecipientEmail,
        Slot::ConfirmUrl,
        Slot::Why,
    ];

    fn name(self) -> &'static str {
        match self {
            Slot::UnsubscribeUrl => "unsubscribe_url",
            Slot::ViewUrl => "view_url",
            Slot::RecipientEmail => "recipient",
            Slot::ConfirmUrl => "confirm_url",
            Slot::Why => "why",
        }
    }

    /// The marker the templates write where the value goes.
    pub fn marker(self) -> String {
        format!("{OPEN}{}{CLOSE}", self.name())
    }
}

/// One recipient's values.
#[derive(Debug, Clone, Copy)]
pub struct SlotValues<'a> {
    pub unsubscribe_url: &'a str,
    pub view_url: &'a str,
    pub recipient: &'a str,
    pub confirm_url: &'a str,
    pub why: &'a str,
}

impl<'a> SlotValues<'a> {
    /// Values for an issue (no confirmation link).
    pub const fn issue(
        unsubscribe_url: &'a str,
        view_url: &'a str,
        recipient: &'a str,
        why: &'a str,
    ) -> Self {
        Self {
            unsubscribe_url,
            view_url,
            recipient,
            confirm_url: "",
            why,
        }
    }

    pub fn get(&self, slot: Slot) -> &str {
        match slot {
            Slot::UnsubscribeUrl => self.unsubscribe_url,
            Slot::ViewUrl => self.view_url,
            Slot::RecipientEmail => self.recipient,
            Slot::ConfirmUrl => self.confirm_url,
            Slot::Why => self.why,
        }
    }
}

/// A piece of a template, as [`Template::pieces`] hands it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePiece<'a> {
    Literal(&'a str),
    Slot(Slot),
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(Range<usize>),
    Slot(Slot),
}

/// A rendered part with its slots located once.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
    literal_len: usize,
}

impl Template {
    /// Locates the slots of a rendered part. An unknown marker is kept as literal text.
    pub fn parse(source: String) -> Self {
        let mut pieces = Vec::new();
        let mut literal_start = 0;
        let mut search = 0;
        while let Some(rel) = source[search..].find(OPEN) {
            let open = search + rel;
            let name_start = open + OPEN.len_utf8();
            let Some(close_rel) = source[name_start..].find(CLOSE) else {
                break;
            };
            let name = &source[name_start..name_start + close_rel];
            let end = name_start + close_rel + CLOSE.len_utf8();
            if let Some(slot) = Slot::ALL.iter().find(|s| s.name() == name) {
                if open > literal_start {
                    pieces.push(Piece::Literal(literal_start..open));
                }
                pieces.push(Piece::Slot(*slot));
                literal_start = end;
            }
            search = end;
        }
        if literal_start < source.len() {
            pieces.push(Piece::Literal(literal_start..source.len()));
        }
        let literal_len = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(r) => r.len(),
                Piece::Slot(_) => 0,
            })
            .sum();
        Self {
            source,
            pieces,
            literal_len,
        }
    }

    /// The text with its markers, as stored.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The pieces in order, for encoders that precompute per piece (quoted-printable).
    pub fn pieces(&self) -> impl Iterator<Item = TemplatePiece<'_>> {
        self.pieces.iter().map(|p| match p {
            Piece::Literal(range) => TemplatePiece::Literal(&self.source[range.clone()]),
            Piece::Slot(slot) => TemplatePiece::Slot(*slot),
        })
    }

    pub fn has_slot(&self, slot: Slot) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Slot(s) if *s == slot))
    }

    /// Fills the slots for HTML: values are escaped for text and attribute context.
    pub fn fill_html(&self, values: &SlotValues<'_>) -> String {
        self.fill(values, true)
    }

    /// Fills the slots for plain text: values verbatim.
    pub fn fill_text(&self, values: &SlotValues<'_>) -> String {
        self.fill(values, false)
    }

    fn fill(&self, values: &SlotValues<'_>, escape: bool) -> String {
        let slots_len: usize = Slot::ALL.iter().map(|s| values.get(*s).len() * 2).sum();
        let mut out = String::with_capacity(self.literal_len + slots_len);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(range) => out.push_str(&self.source[range.clone()]),
                Piece::Slot(slot) if escape => escape_html_into(values.get(*slot), &mut out),
                Piece::Slot(slot) => out.push_str(values.get(*slot)),
            }
        }
        out
    }
}

/// HTML-escapes a slot value (text and attribute context).
pub fn escape_html_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: SlotValues<'static> = SlotValues {
        unsubscribe_url: "https://x.example/unsubscribe/abc?a=1&b=\"2\"",
        view_url: "https://x.example/issues/2026-11-27",
        recipient: "<ada@example.com>",
        confirm_url: "",
        why: "you & me.",
    };

    #[test]
    fn fills_every_slot_and_escapes_only_html() {
        let src = format!(
            "<a href=\"{}\">u</a> {} {}",
            Slot::UnsubscribeUrl.marker(),
            Slot::RecipientEmail.marker(),
            Slot::ViewUrl.marker()
        );
        let t = Template::parse(src);
        assert_eq!(
            t.fill_html(&VALUES),
            "<a href=\"https://x.example/unsubscribe/abc?a=1&amp;b=&quot;2&quot;\">u</a> \
             &lt;ada@example.com&gt; https://x.example/issues/2026-11-27"
        );
        assert_eq!(
            t.fill_text(&VALUES),
            "<a href=\"https://x.example/unsubscribe/abc?a=1&b=\"2\"\">u</a> \
             <ada@example.com> https://x.example/issues/2026-11-27"
        );
    }

    #[test]
    fn unknown_or_unclosed_markers_stay_literal() {
        let src = format!("a{OPEN}nope{CLOSE}b{OPEN}unclosed");
        assert_eq!(Template::parse(src.clone()).fill_text(&VALUES), src);
    }

    #[test]
    fn a_template_without_slots_is_its_source() {
        let t = Template::parse("plain".to_owned());
        assert!(!t.has_slot(Slot::UnsubscribeUrl));
        assert_eq!(t.fill_html(&VALUES), "plain");
    }
}
