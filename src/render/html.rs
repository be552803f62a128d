//! The maud layout shared by the email and the web archive page.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::head::document_head;
use super::{RenderContext, Slot, long_date};
use crate::domain::PublicUrls;
use crate::issue::{Block, Card, Inline, Issue};

/// The email carries slots and the unsubscribe footer; the web page carries neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    Email,
    Web,
}

pub(super) fn page(issue: &Issue, ctx: &RenderContext, audience: Audience) -> Markup {
    let base = &ctx.urls;
    html! {
        (DOCTYPE)
        html lang="en" {
            (document_head(&issue.subject, ""))
            body {
                @if let Some(pre) = &issue.preheader {
                    // Hidden inbox preview; the padding keeps clients from pulling body text after it.
                    div class="preheader" { (pre) (PreEscaped("&#8199;&#65279;&#847;".repeat(30))) }
                }
                table class="wrapper" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                    tr { td align="center" {
                        table class="container" role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" {
                            @if audience == Audience::Email {
                                tr { td class="topbar" { a href=(Slot::ViewUrl.marker()) { "View in browser" } } }
                            }
                            tr { td class="masthead" {
                                h1 class="masthead-name" { (ctx.newsletter.name) }
                                p class="tagline" { (ctx.newsletter.tagline) }
                                p class="dateline" { (long_date(issue.date)) }
                            } }
                            tr { td class="story" {
                                h2 class="lead-headline" { (issue.title) }
                                (blocks(&issue.lead, base))
                            } }
                            @for section in &issue.sections {
                                tr { td class="section" {
                                    h2 class="section-title" { (section.title) }
                                    (blocks(&section.blocks, base))
                                } }
                            }
                            tr { td class="footer" { (footer(ctx, audience)) } }
                        }
                    } }
                }
            }
        }
    }
}

fn footer(ctx: &RenderContext, audience: Audience) -> Markup {
    let name = &ctx.newsletter.name;
    html! {
        @match audience {
            Audience::Email => {
                p { "You receive " (name) " at " (Slot::RecipientEmail.marker()) " because " (Slot::Why.marker()) }
                p {
                    a href=(Slot::UnsubscribeUrl.marker()) { "Unsubscribe" }
                    " · "
                    a href=(Slot::ViewUrl.marker()) { "View in browser" }
                }
            }
            Audience::Web => {
                p { "Enjoyed this issue? " a href=(ctx.urls.home()) { "Subscribe to " (name) } " to get it every morning." }
            }
        }
        p { (ctx.newsletter.postal_address) }
    }
}

fn blocks(items: &[Block], base: &PublicUrls) -> Markup {
    html! {
        @for block in items {
            @match block {
                Block::Paragraph(inl) => p { (inlines(inl, base)) },
                Block::Kicker(text) => p class="kicker" { (text) },
                Block::Headline(text) => h3 class="headline" { (text) },
                Block::Dek(inl) => p class="dek" { (inlines(inl, base)) },
                Block::Group(text) => h4 class="group" { (text) },
                Block::Cards(cards) => (card_list(cards, base)),
                Block::List { ordered: true, items } => ol { @for i in items { li { (inlines(i, base)) } } },
                Block::List { ordered: false, items } => ul { @for i in items { li { (inlines(i, base)) } } },
                Block::Quote(paras) => blockquote { @for para in paras { p { (inlines(para, base)) } } },
                Block::Code(code) => pre { code { (code) } },
                Block::Rule => hr;
            }
        }
    }
}

fn card_list(cards: &[Card], base: &PublicUrls) -> Markup {
    html! {
        table class="cards" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
            @for (i, card) in cards.iter().enumerate() {
                @if i > 0 { tr { td class="card-gap" { (PreEscaped("&nbsp;")) } } }
                tr { td class="card" {
                    p class="card-name" {
                        @match &card.href {
                            Some(href) => a href=(href.resolve(base)) { (card.name) },
                            None => (card.name),
                        }
                    }
                    @if !card.description.is_empty() {
                        p class="card-desc" { (inlines(&card.description, base)) }
                    }
                } }
            }
        }
    }
}

fn inlines(items: &[Inline], base: &PublicUrls) -> Markup {
    html! {
        @for item in items {
            @match item {
                Inline::Text(t) => (t),
                Inline::Emphasis(c) => em { (inlines(c, base)) },
                Inline::Strong(c) => strong { (inlines(c, base)) },
                Inline::Code(t) => code { (t) },
                Inline::Link { href, children } => a href=(href.resolve(base)) { (inlines(children, base)) },
                Inline::LineBreak => br;
            }
        }
    }
}
