//! The plain-text twin, rendered from the same model (not scraped from the HTML):
//! lines of at most 78 columns (RFC 5322 §2.1.1), links as `text <url>`.

use unicode_width::UnicodeWidthStr;

use super::{RenderContext, Slot, long_date};
use crate::issue::{Block, Card, Inline, Issue};

pub const WIDTH: usize = 78;

pub(super) fn render_text(issue: &Issue, ctx: &RenderContext) -> String {
    let base = ctx.base_url.as_str();
    let mut out = Out::default();
    out.line(&ctx.newsletter.name.to_uppercase());
    out.wrap(&ctx.newsletter.tagline, "", "");
    out.line(&long_date(issue.date));
    out.blank();
    out.line("View in your browser:");
    out.line(&Slot::ViewUrl.marker());
    out.blank();
    out.rule('=');
    out.blank();
    out.heading(&issue.title, '=');
    blocks(&mut out, &issue.lead, base);
    for section in &issue.sections {
        out.rule('-');
        out.wrap(&section.title.to_uppercase(), "", "");
        out.rule('-');
        out.blank();
        blocks(&mut out, &section.blocks, base);
    }
    out.rule('=');
    out.blank();
    out.wrap(
        &format!(
            "You receive this because you subscribed to {} and confirmed by email, as:",
            ctx.newsletter.name
        ),
        "",
        "",
    );
    out.line(&Slot::RecipientEmail.marker());
    out.blank();
    out.line("Unsubscribe:");
    out.line(&Slot::UnsubscribeUrl.marker());
    out.blank();
    out.line("View in your browser:");
    out.line(&Slot::ViewUrl.marker());
    out.blank();
    out.wrap(&ctx.newsletter.postal_address, "", "");
    out.0
}

fn blocks(out: &mut Out, items: &[Block], base: &str) {
    for block in items {
        match block {
            Block::Paragraph(inl) | Block::Dek(inl) => {
                out.wrap(&text(inl, base), "", "");
                out.blank();
            }
            Block::Kicker(k) => out.line(&format!("[{}]", k.to_uppercase())),
            Block::Headline(h) => out.heading(h, '-'),
            Block::Group(g) => {
                out.wrap(&format!("## {g}"), "", "   ");
                out.blank();
            }
            Block::Cards(cards) => {
                for card in cards {
                    card_text(out, card, base);
                }
            }
            Block::List { ordered, items } => {
                for (i, item) in items.iter().enumerate() {
                    let marker = if *ordered {
                        format!("{}. ", i + 1)
                    } else {
                        "- ".to_owned()
                    };
                    let indent = " ".repeat(marker.len());
                    out.wrap(&text(item, base), &marker, &indent);
                }
                out.blank();
            }
            Block::Quote(paras) => {
                for para in paras {
                    out.wrap(&text(para, base), "> ", "> ");
                }
                out.blank();
            }
            Block::Code(code) => {
                for line in code.lines() {
                    out.wrap(line, "    ", "    ");
                }
                out.blank();
            }
            Block::Rule => {
                out.line("* * *");
                out.blank();
            }
        }
    }
}

fn card_text(out: &mut Out, card: &Card, base: &str) {
    // Card names can be one long token (a model id); break it rather than overflow.
    for l in wrap_lines_with(&format!("* {}", card.name), "", "  ", true) {
        out.line(&l);
    }
    if !card.description.is_empty() {
        out.wrap(&text(&card.description, base), "  ", "  ");
    }
    if let Some(href) = &card.href {
        out.line(&format!("  {}", href.resolve(base)));
    }
    out.blank();
}

/// An inline run as text; links become `text <url>` (just `<url>` when the text is the URL).
fn text(items: &[Inline], base: &str) -> String {
    let mut s = String::new();
    for item in items {
        match item {
            Inline::Text(t) => s.push_str(t),
            Inline::Code(t) => {
                s.push('`');
                s.push_str(t);
                s.push('`');
            }
            Inline::Emphasis(c) | Inline::Strong(c) => s.push_str(&text(c, base)),
            Inline::Link { href, children } => {
                let label = text(children, base);
                let url = href.resolve(base);
                let url_shown = url.strip_prefix("mailto:").unwrap_or(&url);
                if label.trim() == url || label.trim() == url_shown {
                    s.push_str(&format!("<{url_shown}>"));
                } else {
                    s.push_str(&format!("{label} <{url_shown}>"));
                }
            }
            Inline::LineBreak => s.push('\n'),
        }
    }
    s
}

#[derive(Default)]
struct Out(String);

impl Out {
    fn line(&mut self, s: &str) {
        self.0.push_str(s.trim_end());
        self.0.push('\n');
    }

    fn blank(&mut self) {
        if !self.0.ends_with("\n\n") {
            self.0.push('\n');
        }
    }

    fn rule(&mut self, c: char) {
        self.line(&c.to_string().repeat(WIDTH));
    }

    fn heading(&mut self, s: &str, underline: char) {
        let lines = wrap_lines(s, "", "");
        let width = lines
            .iter()
            .map(|l| l.width())
            .max()
            .unwrap_or(0)
            .min(WIDTH);
        for l in &lines {
            self.line(l);
        }
        self.line(&underline.to_string().repeat(width));
        self.blank();
    }

    fn wrap(&mut self, s: &str, first: &str, rest: &str) {
        for l in wrap_lines(s, first, rest) {
            self.line(&l);
        }
    }
}

/// Words longer than the width (long URLs) are never broken: they get a line of their own.
fn wrap_lines(s: &str, first: &str, rest: &str) -> Vec<String> {
    wrap_lines_with(s, first, rest, false)
}

fn wrap_lines_with(s: &str, first: &str, rest: &str, break_words: bool) -> Vec<String> {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(break_words)
        .word_separator(textwrap::WordSeparator::AsciiSpace);
    textwrap::wrap(s, options)
        .into_iter()
        .map(|c| c.into_owned())
        .collect()
}
