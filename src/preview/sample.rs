//! An issue rendered and filled for a sample recipient: what `render` writes to files and
//! what the live preview shows.

use std::sync::Arc;

use crate::config::Settings;
use crate::issue::Issue;
use crate::mail::{IssueMessage, MessageError, Recipient, message_id};
use crate::render::{RenderContext, RenderError, SlotValues, render_issue, why};

/// The sample recipient of a preview.
pub const PREVIEW_RECIPIENT: &str = "reader@example.com";
const PREVIEW_TOKEN: &str = "preview-token";

/// The issue as the sample recipient gets it.
pub struct Sample {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The whole message, headers included, as the relay would receive it.
    pub eml: Vec<u8>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("building the sample message failed")]
    Message(#[from] MessageError),
}

impl Sample {
    pub fn render(settings: &Settings, issue: &Issue) -> Result<Self, SampleError> {
        let ctx = RenderContext::from_settings(settings);
        let rendered = Arc::new(render_issue(issue, &ctx)?);
        let message = IssueMessage::new(
            rendered.clone(),
            &settings.from,
            &settings.newsletter,
            &settings.urls(),
        );
        let id = message_id(
            rendered.slug.as_str(),
            uuid::Uuid::nil(),
            settings.from.email.domain(),
        );
        let recipient = Recipient {
            email: PREVIEW_RECIPIENT,
            name: Some("Sample Reader"),
            unsubscribe_token: PREVIEW_TOKEN,
            message_id: &id,
            why: why::PREVIEW,
        };
        let unsubscribe_url = message.unsubscribe_url(PREVIEW_TOKEN);
        let view_url = ctx.issue_url(&rendered.slug);
        let values = SlotValues {
            unsubscribe_url: &unsubscribe_url,
            view_url: &view_url,
            recipient: PREVIEW_RECIPIENT,
            confirm_url: "",
            why: why::PREVIEW,
        };
        let eml = message.build(&recipient, time::OffsetDateTime::now_utc())?;
        Ok(Self {
            subject: rendered.subject.clone(),
            html: rendered.html.fill_html(&values),
            text: rendered.text.fill_text(&values),
            eml,
            warnings: rendered.warnings.clone(),
        })
    }
}
