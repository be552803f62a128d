//! The Markdown body → lead blocks and `##` sections.
//!
//! Raw HTML is kept as text (escaped when rendered), never passed through: the archive is public.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::error::Problem;
use super::model::{Block, Card, Href, Inline, Section};
use super::reserved::find_reserved;

type Located<T> = Result<T, (usize, Problem)>;

/// A kicker ("Deep Dive") is a short label; longer bold paragraphs stay paragraphs.
const MAX_KICKER_CHARS: usize = 40;

pub(super) fn parse_body(body: &str) -> Located<(Vec<Block>, Vec<Section>)> {
    let mut p = BodyParser {
        events: Parser::new_ext(body, Options::empty()).into_offset_iter(),
    };
    let mut lead = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    while let Some((event, range)) = p.next()? {
        let block = match event {
            Event::Start(Tag::Heading { level, .. }) => {
                let text = p.heading(level, range.start)?;
                match level {
                    HeadingLevel::H1 => return Err((range.start, Problem::TopHeading)),
                    HeadingLevel::H2 => {
                        sections.push(Section {
                            title: text,
                            blocks: Vec::new(),
                        });
                        continue;
                    }
                    HeadingLevel::H3 => Block::Headline(text),
                    _ => Block::Group(text),
                }
            }
            Event::Start(Tag::Paragraph) => Block::Paragraph(p.inlines(TagEnd::Paragraph)?),
            Event::Start(Tag::List(first)) => p.list(first.is_some())?,
            Event::Start(Tag::BlockQuote(_)) => p.quote()?,
            Event::Start(Tag::CodeBlock(_)) => Block::Code(p.verbatim(TagEnd::CodeBlock)?),
            Event::Start(Tag::HtmlBlock) => Block::Paragraph(vec![Inline::Text(
                p.verbatim(TagEnd::HtmlBlock)?.trim_end().to_owned(),
            )]),
            Event::Rule => Block::Rule,
            _ => continue,
        };
        match sections.last_mut() {
            Some(section) => section.blocks.push(block),
            None => lead.push(block),
        }
    }
    let lead = classify(lead, true);
    let sections = sections
        .into_iter()
        .map(|s| Section {
            title: s.title,
            blocks: classify(s.blocks, false),
        })
        .collect();
    Ok((lead, sections))
}

struct BodyParser<'a> {
    events: pulldown_cmark::OffsetIter<'a>,
}

impl<'a> BodyParser<'a> {
    /// The next event, refused if it carries a slot character: Markdown decodes entities
    /// (`&#xFDD0;`) after the check of the raw file, so the decoded text is checked here.
    fn next(&mut self) -> Located<Option<(Event<'a>, Range<usize>)>> {
        let Some((event, range)) = self.events.next() else {
            return Ok(None);
        };
        if let Some((_, c)) = texts_of(&event).into_iter().find_map(find_reserved) {
            return Err((range.start, Problem::ReservedCharacter(c)));
        }
        Ok(Some((event, range)))
    }

    fn heading(&mut self, level: HeadingLevel, start: usize) -> Located<String> {
        let text = Inline::plain_text(&self.inlines(TagEnd::Heading(level))?);
        let text = text.trim();
        if text.is_empty() {
            return Err((start, Problem::EmptyHeading));
        }
        Ok(text.to_owned())
    }

    /// Inline content up to `end`. Paragraphs inside loose list items are joined by line breaks.
    fn inlines(&mut self, end: TagEnd) -> Located<Vec<Inline>> {
        let mut out = Vec::new();
        while let Some((event, range)) = self.next()? {
            let inline = match event {
                Event::End(e) if e == end => break,
                Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                    Inline::Text(t.into_string())
                }
                Event::Code(t) => Inline::Code(t.into_string()),
                Event::SoftBreak => Inline::Text(" ".to_owned()),
                Event::HardBreak => Inline::LineBreak,
                Event::Start(Tag::Emphasis) => Inline::Emphasis(self.inlines(TagEnd::Emphasis)?),
                Event::Start(Tag::Strong) => Inline::Strong(self.inlines(TagEnd::Strong)?),
                Event::Start(Tag::Link { dest_url, .. }) => {
                    let href = check_href(&dest_url).map_err(|p| (range.start, p))?;
                    Inline::Link {
                        href,
                        children: self.inlines(TagEnd::Link)?,
                    }
                }
                // Images become links to the image: readable with images off, no remote fetch.
                Event::Start(Tag::Image { dest_url, .. }) => {
                    let href = check_href(&dest_url).map_err(|p| (range.start, p))?;
                    Inline::Link {
                        href,
                        children: self.inlines(TagEnd::Image)?,
                    }
                }
                Event::Start(Tag::List(_)) => return Err((range.start, Problem::NestedList)),
                Event::Start(Tag::Paragraph) => {
                    if !out.is_empty() {
                        out.push(Inline::LineBreak);
                    }
                    out.extend(self.inlines(TagEnd::Paragraph)?);
                    continue;
                }
                _ => continue,
            };
            out.push(inline);
        }
        Ok(merge_text(out))
    }

    fn list(&mut self, ordered: bool) -> Located<Block> {
        let mut items = Vec::new();
        while let Some((event, _)) = self.next()? {
            match event {
                Event::Start(Tag::Item) => items.push(self.inlines(TagEnd::Item)?),
                Event::End(TagEnd::List(_)) => break,
                _ => {}
            }
        }
        let cards: Option<Vec<Card>> = items.iter().map(|i| as_card(i)).collect();
        Ok(match cards {
            Some(cards) if !ordered && !cards.is_empty() => Block::Cards(cards),
            _ => Block::List { ordered, items },
        })
    }

    fn quote(&mut self) -> Located<Block> {
        let mut paragraphs = Vec::new();
        let mut depth = 1;
        while let Some((event, _)) = self.next()? {
            match event {
                Event::Start(Tag::Paragraph) => paragraphs.push(self.inlines(TagEnd::Paragraph)?),
                Event::Start(Tag::BlockQuote(_)) => depth += 1,
                Event::End(TagEnd::BlockQuote(_)) => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        Ok(Block::Quote(paragraphs))
    }

    fn verbatim(&mut self, end: TagEnd) -> Located<String> {
        let mut text = String::new();
        while let Some((event, _)) = self.next()? {
            match event {
                Event::End(e) if e == end => break,
                Event::Text(t) | Event::Html(t) => text.push_str(&t),
                _ => {}
            }
        }
        Ok(text)
    }
}

/// Every piece of text an event carries, decoded: what could end up in the output.
fn texts_of<'e>(event: &'e Event<'_>) -> Vec<&'e str> {
    match event {
        Event::Text(t)
        | Event::Code(t)
        | Event::Html(t)
        | Event::InlineHtml(t)
        | Event::InlineMath(t)
        | Event::DisplayMath(t)
        | Event::FootnoteReference(t) => vec![t],
        Event::Start(
            Tag::Link {
                dest_url,
                title,
                id,
                ..
            }
            | Tag::Image {
                dest_url,
                title,
                id,
                ..
            },
        ) => vec![dest_url, title, id],
        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => vec![info],
        Event::Start(Tag::Heading {
            id, classes, attrs, ..
        }) => id
            .iter()
            .chain(classes)
            .chain(attrs.iter().flat_map(|(k, v)| std::iter::once(k).chain(v)))
            .map(|s| &**s)
            .collect(),
        Event::Start(Tag::FootnoteDefinition(label)) => vec![label],
        _ => Vec::new(),
    }
}

/// A link target as the issue may use it, or the problem with it: a site path must name a
/// page the server answers (a dead `/archive` is caught here, at render, not by a reader).
fn check_href(url: &CowStr<'_>) -> Result<Href, Problem> {
    let url = url.trim();
    if url.starts_with('/') && !url.starts_with("//") {
        if !crate::domain::is_linkable_path(url) {
            return Err(Problem::NoSuchPage(url.to_owned()));
        }
        return Ok(Href::SitePath(url.to_owned()));
    }
    let bad = || Problem::BadLink(url.to_owned());
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    match parsed.scheme() {
        "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(Href::Https(parsed.to_string()))
        }
        "mailto" if parsed.path().contains('@') => Ok(Href::Mailto(parsed.to_string())),
        _ => Err(bad()),
    }
}

/// pulldown-cmark splits text at every special character; join the pieces back.
fn merge_text(inlines: Vec<Inline>) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::with_capacity(inlines.len());
    for inline in inlines {
        if let (Inline::Text(next), Some(Inline::Text(prev))) = (&inline, out.last_mut()) {
            prev.push_str(next);
            continue;
        }
        out.push(inline);
    }
    out
}

/// `[Name](url) — description` or `**Name** — description`.
fn as_card(item: &[Inline]) -> Option<Card> {
    let (first, rest) = item.split_first()?;
    let (name, href) = match first {
        Inline::Link { href, children } => (Inline::plain_text(children), Some(href.clone())),
        Inline::Strong(children) => (Inline::plain_text(children), None),
        _ => return None,
    };
    let (Inline::Text(sep_and_text), more) = rest.split_first()? else {
        return None;
    };
    let after = sep_and_text.trim_start();
    let after = after
        .strip_prefix('—')
        .or_else(|| after.strip_prefix('–'))?;
    let mut description = Vec::with_capacity(rest.len());
    let lead = after.trim_start();
    if !lead.is_empty() {
        description.push(Inline::Text(lead.to_owned()));
    }
    description.extend(more.iter().cloned());
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(Card {
        name,
        href,
        description,
    })
}

/// Turns all-italic paragraphs under headlines into deks and short bold lines above
/// headlines into kickers.
fn classify(blocks: Vec<Block>, is_lead: bool) -> Vec<Block> {
    let mut out = Vec::with_capacity(blocks.len());
    let mut dek_allowed = is_lead;
    let mut blocks = blocks.into_iter().peekable();
    while let Some(block) = blocks.next() {
        let next_is_headline = matches!(blocks.peek(), Some(Block::Headline(_)));
        let block = match block {
            Block::Paragraph(inl)
                if dek_allowed && only(&inl, |i| matches!(i, Inline::Emphasis(_))) =>
            {
                Block::Dek(unwrap_single(inl))
            }
            Block::Paragraph(inl)
                if next_is_headline && only(&inl, |i| matches!(i, Inline::Strong(_))) =>
            {
                let text = Inline::plain_text(&inl).trim().to_owned();
                if text.chars().count() <= MAX_KICKER_CHARS {
                    Block::Kicker(text)
                } else {
                    Block::Paragraph(inl)
                }
            }
            other => other,
        };
        dek_allowed = matches!(block, Block::Headline(_));
        out.push(block);
    }
    out
}

/// True when the run is exactly one inline matching `pred` (blank text around it ignored).
fn only(inlines: &[Inline], pred: impl Fn(&Inline) -> bool) -> bool {
    let mut significant = inlines
        .iter()
        .filter(|i| !matches!(i, Inline::Text(t) if t.trim().is_empty()));
    matches!((significant.next(), significant.next()), (Some(i), None) if pred(i))
}

fn unwrap_single(inlines: Vec<Inline>) -> Vec<Inline> {
    inlines
        .into_iter()
        .find_map(|i| match i {
            Inline::Emphasis(children) => Some(children),
            _ => None,
        })
        .unwrap_or_default()
}
