//! The confirmation mail of double opt-in: rendered once per process with two slots
//! (confirmation link, recipient), in the newsletter's look.

use maud::{DOCTYPE, html};

use super::frame::email_body;
use super::head::document_head;
use super::{RenderContext, RenderError, Slot, Template, inline};

/// The confirmation mail: subject, HTML and text with slots.
#[derive(Debug, Clone)]
pub struct ConfirmationMail {
    pub subject: String,
    pub html: Template,
    pub text: Template,
}

pub fn render_confirmation(
    ctx: &RenderContext,
    valid_hours: u64,
) -> Result<ConfirmationMail, RenderError> {
    let name = &ctx.newsletter.name;
    let subject = format!("Confirm your subscription to {name}");
    let markup = html! {
        (DOCTYPE)
        html lang="en" "xmlns:v"="urn:schemas-microsoft-com:vml" "xmlns:o"="urn:schemas-microsoft-com:office:office" {
            (document_head(&subject, "", None))
            (email_body(None, html! {
                tr { td class="masthead" {
                    p class="masthead-name" { (name) }
                    p class="tagline" { (ctx.newsletter.tagline) }
                } }
                tr { td class="story" {
                    h1 class="headline" { "One click to confirm" }
                    p { "Someone, hopefully you, asked to receive " (name) " at " (Slot::RecipientEmail.marker()) ". Confirm and the next issue is on its way:" }
                    p { a class="button" href=(Slot::ConfirmUrl.marker()) { "Confirm my subscription" } }
                    p { "The link works for " (valid_hours) " hours. If you did not ask, ignore this mail: you will not hear from us again." }
                } }
                tr { td class="footer" { p { span class="address" { (ctx.newsletter.postal_address) } } } }
            }))
        }
    };
    let html = inline::inline_css(&markup.into_string())?;
    let text = format!(
        "{name}\n\nSomeone, hopefully you, asked to receive {name} at\n{recipient}\n\nConfirm your subscription by opening this link:\n{confirm}\n\n\
         The link works for {valid_hours} hours. If you did not ask, ignore this mail:\nyou will not hear from us again.\n\n{address}\n",
        recipient = Slot::RecipientEmail.marker(),
        confirm = Slot::ConfirmUrl.marker(),
        address = ctx.newsletter.postal_address,
    );
    Ok(ConfirmationMail {
        subject,
        html: Template::parse(html),
        text: Template::parse(text),
    })
}
