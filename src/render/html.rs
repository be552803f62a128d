//! The maud layout shared by the email and the web archive page.

use maud::{DOCTYPE, Markup, html};

use super::frame::email_body;
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
    let feed = (audience == Audience::Web).then(|| ctx.urls.feed());
    html! {
        (DOCTYPE)
        html lang="en" "xmlns:v"="urn:schemas-microsoft-com:vml" "xmlns:o"="urn:schemas-microsoft-com:office:office" {
            (document_head(&issue.subject, "", feed.as_deref()))
            (email_body(issue.preheader.as_deref(), html! {
                @if audience == Audience::Email {
                    tr { td class="topbar" { a href=(Slot::ViewUrl.marker()) { "View in browser" } } }
                }
                tr { td class="masthead" {
                    h1 class="masthead-name" { (ctx.newsletter.name) }
                    p class="tagline" { (ctx.newsletter.tagline) }
                    // A span, so the reset for dates a client turns into links has a hold.
                    p class="dateline" { span { (long_date(issue.date)) } }
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
            }))
        }
    }
}

fn footer(ctx: &RenderContext, audience: Audience) -> Markup {
    let name = &ctx.newsletter.name;
    html! {
        @match audience {
            Audience::Email => {
                p { "You receive " (name) " at " (Slot::RecipientEmail.marker()) " because " (Slot::Why.marker()) }
                // The reader is subscribed: invite them to pass it on, not to subscribe.
                p { "Know someone who would enjoy it? Forward this email: they can " a href=(ctx.urls.home()) { "subscribe here" } "." }
                p class="footer-links" {
                    a href=(Slot::UnsubscribeUrl.marker()) { "Unsubscribe" }
                    " · "
                    a href=(Slot::ViewUrl.marker()) { "View in browser" }
                }
            }
            Audience::Web => {
                p { "Enjoyed this issue? " a href=(ctx.urls.home()) { "Subscribe to " (name) } " to get it every morning." }
                p class="footer-links" { a href=(ctx.urls.archive()) { "Past issues" } }
            }
        }
        p { span class="address" { (ctx.newsletter.postal_address) } }
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
            @for card in cards {
                tr { td class="card-slot" {
                    table class="card-box" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                        tr { td class="card" {
                            p class="card-name" {
                                @match &card.href {
                                    Some(href) => {
                                        a href=(href.resolve(base)) { (card.name) }
                                        // Where the link leads, shown (a card's name is often a bare project name).
                                        @if let Some(host) = href.host() { " " span class="card-host" { (host) } }
                                    }
                                    None => (card.name),
                                }
                            }
                            @if !card.description.is_empty() {
                                p class="card-desc" { (inlines(&card.description, base)) }
                            }
                        } }
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
