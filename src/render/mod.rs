//! Issue model → email HTML (CSS inlined) + plain-text twin + web page, once per issue.
//! Per-recipient values are slots filled later by [`slots::Template`] (docs/architecture.md decision 1).

mod confirmation;
mod frame;
mod head;
mod html;
mod inline;
pub mod slots;
mod text;
pub mod why;

use crate::config::{Newsletter, Settings};
use crate::domain::{IssueSlug, PublicUrls};
use crate::issue::Issue;
pub use confirmation::{ConfirmationMail, render_confirmation};
pub use head::{DARK_MODE_MEDIA, document_head};
pub use slots::{Slot, SlotValues, Template, TemplatePiece};

/// Gmail clips a message body past 102 KB ("[Message clipped]") and hides what follows,
/// the unsubscribe footer included.
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;

/// What the renderer needs besides the issue: where links point and whose newsletter it is.
#[derive(Debug, Clone)]
pub struct RenderContext {
    pub urls: PublicUrls,
    pub newsletter: Newsletter,
}

impl RenderContext {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            urls: settings.urls(),
            newsletter: settings.newsletter.clone(),
        }
    }

    /// The public web address of an issue: the "view in browser" link.
    pub fn issue_url(&self, slug: &IssueSlug) -> String {
        self.urls.issue(slug)
    }
}

/// An issue rendered once, ready to be personalised for each recipient.
#[derive(Debug, Clone)]
pub struct RenderedIssue {
    pub slug: IssueSlug,
    pub subject: String,
    pub title: String,
    pub date: time::Date,
    pub html: Template,
    pub text: Template,
    /// The archive page: no slots, no recipient data.
    pub web_html: String,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("inlining the stylesheet into the email failed (a bug in the templates: report it)")]
    Inline(#[source] css_inline::InlineError),
}

pub fn render_issue(issue: &Issue, ctx: &RenderContext) -> Result<RenderedIssue, RenderError> {
    let email_html =
        inline::inline_css(&html::page(issue, ctx, html::Audience::Email).into_string())?;
    let web_html = inline::inline_css(&html::page(issue, ctx, html::Audience::Web).into_string())?;
    let text = text::render_text(issue, ctx);
    let mut warnings = Vec::new();
    if email_html.len() > GMAIL_CLIP_BYTES {
        warnings.push(format!(
            "the HTML is {} KB; Gmail clips messages past 102 KB and hides the unsubscribe footer: shorten the issue",
            email_html.len() / 1024
        ));
    }
    Ok(RenderedIssue {
        slug: issue.slug.clone(),
        subject: issue.subject.clone(),
        title: issue.title.clone(),
        date: issue.date,
        html: Template::parse(email_html),
        text: Template::parse(text),
        web_html,
        warnings,
    })
}

impl RenderedIssue {
    /// The issue's date as `YYYY-MM-DD`, as stored.
    pub fn slug_date(&self) -> String {
        crate::domain::IssueSlug::from_date(self.date).to_string()
    }
}

/// "Friday, 27 November 2026".
pub fn long_date(date: time::Date) -> String {
    let format =
        time::macros::format_description!("[weekday], [day padding:none] [month repr:long] [year]");
    date.format(&format).unwrap_or_else(|_| date.to_string())
}
