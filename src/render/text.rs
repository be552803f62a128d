//! The plain-text twin, rendered from the same model (not scraped from the HTML), links
//! as `text <url>`.
//!
//! Lines are at most 78 columns (RFC 5322 §2.1.1), with one exception: a URL or an address
//! is never broken, since a broken link can be neither clicked nor copied. One longer than
//! a line gets a line of its own (after the indent) and runs past 78. Any other word longer
//! than a line is broken.

use std::ops::Range;

use textwrap::core::{Word, break_words};
use textwrap::word_splitters::{WordSplitter, split_words};
use textwrap::wrap_algorithms::Penalties;
use textwrap::{WordSeparator, WrapAlgorithm};
use unicode_width::UnicodeWidthStr;

use super::{RenderContext, Slot, long_date};
use crate::domain::PublicUrls;
use crate::issue::{Block, Card, Inline, Issue};

pub const WIDTH: usize = 78;

pub(super) fn render_text(issue: &Issue, ctx: &RenderContext) -> String {
    let base = &ctx.urls;
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
    out.wrap(&format!("You receive {} at", ctx.newsletter.name), "", "");
    out.line(&Slot::RecipientEmail.marker());
    out.line(&format!("because {}", Slot::Why.marker()));
    out.blank();
    out.wrap(
        "Know someone who would enjoy it? Forward this email: they can subscribe at",
        "",
        "",
    );
    out.line(&ctx.urls.home());
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

fn blocks(out: &mut Out, items: &[Block], base: &PublicUrls) {
    for block in items {
        match block {
            Block::Paragraph(inl) | Block::Dek(inl) => {
                out.wrap(&text(inl, base), "", "");
                out.blank();
            }
            Block::Kicker(k) => out.line(&format!("[{}]", k.to_uppercase())),
            Block::Headline(h) => out.heading(h, '-'),
            Block::Group(g) => {
                // The marker is an indent, like a list's: a link longer than a line stays
                // beside it, whole, on a line of its own.
                out.wrap(g, "## ", "   ");
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

fn card_text(out: &mut Out, card: &Card, base: &PublicUrls) {
    out.wrap(&format!("* {}", card.name), "", "  ");
    if !card.description.is_empty() {
        out.wrap(&text(&card.description, base), "  ", "  ");
    }
    if let Some(href) = &card.href {
        out.line(&format!("  {}", href.resolve(base)));
    }
    out.blank();
}

/// An inline run as text; links become `text <url>` (just `<url>` when the text is the URL).
fn text(items: &[Inline], base: &PublicUrls) -> String {
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

/// Optimal fit (the best-balanced lines), except that textwrap's default lets a line run one
/// column over when that spares a short line after a long word: never here.
const WRAP: WrapAlgorithm = WrapAlgorithm::OptimalFit(Penalties {
    overflow_penalty: 1_000_000_000,
    ..Penalties::new()
});

/// Wraps `s` to [`WIDTH`] columns, keeping its line breaks: `first` goes before the first
/// line, `rest` before the others. Words are split after a hyphen where that fits better,
/// and broken when longer than a line, except links (see the module comment).
fn wrap_lines(s: &str, first: &str, rest: &str) -> Vec<String> {
    let rest_width = WIDTH.saturating_sub(rest.width());
    let mut lines = Vec::new();
    for hard_line in s.split('\n') {
        let (indent, first_width) = if lines.is_empty() {
            (first, WIDTH.saturating_sub(first.width()))
        } else {
            (rest, rest_width)
        };
        let mut words = Vec::new();
        for word in WordSeparator::AsciiSpace.find_words(hard_line) {
            fragments(word, first_width.min(rest_width), &mut words);
        }
        // Widths as the 78-column promise counts them: textwrap counts a control character
        // (U+0080) as 0 columns where `UnicodeWidthStr` counts 1.
        for word in &mut words {
            word.width = word.word.width();
        }
        if words.is_empty() {
            lines.push(indent.to_owned());
            continue;
        }
        let widths = [first_width, rest_width];
        let wrapped = WRAP.wrap(&words, &widths);
        for line_words in wrapped {
            let indent = if lines.is_empty() { first } else { rest };
            let mut line = indent.to_owned();
            for (i, word) in line_words.iter().enumerate() {
                line.push_str(word.word);
                if i + 1 < line_words.len() {
                    line.push_str(word.whitespace);
                } else {
                    // What a line ending inside a split word needs: a hyphen, or nothing.
                    line.push_str(word.penalty);
                }
            }
            lines.push(line);
        }
    }
    lines
}

/// Cuts a word into what the wrapping may put on separate lines: a link stays whole, the
/// text glued to it (`(<https://…>),`) and any other word is split after its hyphens and
/// broken where longer than `width`.
fn fragments<'a>(word: Word<'a>, width: usize, out: &mut Vec<Word<'a>>) {
    // A 'static splitter: `split_words` ties its words to the splitter's lifetime.
    static HYPHENS: WordSplitter = WordSplitter::HyphenSplitter;
    let Some(link) = link_span(word.word) else {
        out.extend(break_words(split_words([word], &HYPHENS), width));
        return;
    };
    let (before, rest) = word.word.split_at(link.start);
    let (link, after) = rest.split_at(link.len());
    if !before.is_empty() {
        fragments(Word::from(before), width, out);
    }
    let mut link = Word::from(link);
    if after.is_empty() {
        link.whitespace = word.whitespace;
        out.push(link);
        return;
    }
    out.push(link);
    let mut after = Word::from(after);
    after.whitespace = word.whitespace;
    fragments(after, width, out);
}

/// Where the first link in a word is: a `<…>` holding a URL or an address (how [`text`]
/// writes links), else a bare URL from its scheme to the end of the word, else a bare
/// address (the whole word).
fn link_span(word: &str) -> Option<Range<usize>> {
    for (open, _) in word.match_indices('<') {
        let Some(len) = word[open..].find('>') else {
            break;
        };
        let inner = &word[open + 1..open + len];
        if inner.contains("://") || inner.contains('@') {
            return Some(open..open + len + 1);
        }
    }
    if let Some(scheme_end) = word.find("://") {
        let start = word[..scheme_end]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
            .map_or(0, |i| i + 1);
        return Some(start..word.len());
    }
    word.contains('@').then_some(0..word.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Before: textwrap's optimal fit ran this line to 79 columns rather than break it.
    #[test]
    fn no_line_runs_one_column_over() {
        let s = format!("{} b {}", "a".repeat(26), "e".repeat(50));
        for line in wrap_lines(&s, "", "") {
            assert!(line.width() <= WIDTH, "{line:?}");
        }
    }

    /// Before: textwrap split URLs after their hyphens, `…/that-keeps-` / `going/…`, and
    /// left long words that are not links running past 78 columns.
    #[test]
    fn links_are_never_broken_and_other_lines_fit() {
        let url =
            "https://example.com/a/path/that-keeps-going/and-going/and-going-on-and-on/index.html";
        let para = format!(
            "Read the whole story at (<{url}>)glued-on-text-that-is-not-part-of-the-link, or write to <someone-with-a-long-name@example-with-a-long-name.com> about it; \
             a-very-long-hyphenated-word-that-is-not-a-link-and-runs-on-past-the-end-of-the-line too."
        );
        for (first, rest) in [("", ""), ("- ", "  "), ("> ", "> ")] {
            let lines = wrap_lines(&para, first, rest);
            assert!(
                lines.iter().any(|l| l.contains(&format!("<{url}>"))),
                "{lines:#?}"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("<someone-with-a-long-name@example-with-a-long-name.com>")),
                "{lines:#?}"
            );
            for line in &lines {
                let over = line.width() > WIDTH;
                let words: Vec<&str> = line[rest.len()..].split_whitespace().collect();
                assert!(
                    !over || (words.len() == 1 && link_span(words[0]).is_some()),
                    "{line:?} is over {WIDTH} columns and not a single link"
                );
            }
        }
    }
}
