//! What an issue is once parsed: the renderer's only input.

use crate::domain::{IssueSlug, PublicUrls};

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub title: String,
    pub date: time::Date,
    /// The mail's Subject; the title unless the front matter sets one.
    pub subject: String,
    /// The inbox preview line, hidden in the body.
    pub preheader: Option<String>,
    pub slug: IssueSlug,
    /// The lead story: everything above the first `##`. Its headline is the title.
    pub lead: Vec<Block>,
    pub sections: Vec<Section>,
}

/// A `##` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    /// A short bold line just above a headline ("Deep Dive").
    Kicker(String),
    /// A `###` story headline.
    Headline(String),
    /// The standfirst: an all-italic paragraph first in the lead or under a headline.
    Dek(Vec<Inline>),
    /// A `####` group heading inside a section (e.g. "GitHub" under "Trending").
    Group(String),
    /// A list whose every item is `name — description`.
    Cards(Vec<Card>),
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
    Quote(Vec<Vec<Inline>>),
    Code(String),
    Rule,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub name: String,
    pub href: Option<Href>,
    pub description: Vec<Inline>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Emphasis(Vec<Inline>),
    Strong(Vec<Inline>),
    Code(String),
    Link { href: Href, children: Vec<Inline> },
    LineBreak,
}

/// A checked link target. Only these three kinds exist, so the renderer can never emit a
/// `javascript:` or plain-http link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Href {
    Https(String),
    Mailto(String),
    /// A path on the newsletter's own site, resolved against the configured base URL.
    SitePath(String),
}

impl Href {
    /// The absolute URL, site paths below the newsletter's public base URL.
    pub fn resolve(&self, urls: &PublicUrls) -> String {
        match self {
            Href::Https(u) | Href::Mailto(u) => u.clone(),
            Href::SitePath(p) => urls.absolute(p),
        }
    }

    /// The host a web link leads to, without a leading `www.`: shown beside a card's name.
    /// Site paths and mail addresses have none worth showing.
    pub fn host(&self) -> Option<String> {
        match self {
            Href::Https(u) => {
                let url = url::Url::parse(u).ok()?;
                let host = url.host_str()?;
                Some(host.strip_prefix("www.").unwrap_or(host).to_owned())
            }
            Href::Mailto(_) | Href::SitePath(_) => None,
        }
    }
}

impl Inline {
    /// The text of an inline run without any markup.
    pub fn plain_text(inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            match inline {
                Inline::Text(t) | Inline::Code(t) => out.push_str(t),
                Inline::Emphasis(c) | Inline::Strong(c) | Inline::Link { children: c, .. } => {
                    out.push_str(&Inline::plain_text(c))
                }
                Inline::LineBreak => out.push(' '),
            }
        }
        out
    }
}
