//! Double opt-in's mail, for every way an address asks for one: the sign-up form and JSON
//! call (`http::subscribe`), and an import's `--send-confirmations`. One template stored
//! per content, one way to build a sign-up request.

use uuid::Uuid;

use crate::clock::{millis, now_ms};
use crate::config::{Settings, SubscriptionSettings};
use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName, TokenKey};
use crate::render::{RenderContext, RenderError, render_confirmation};
use crate::store::{
    MessageKind, NewConfirmation, NewMessage, Source, Store, StoreError, SubscribeRequest,
};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot render the confirmation mail")]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Renders the confirmation mail and stores it (once per content); its id.
pub async fn store_template(settings: &Settings, store: &Store) -> Result<Uuid, TemplateError> {
    let ctx = RenderContext::from_settings(settings);
    let hours = settings.subscriptions.confirm_valid.as_secs() / 3600;
    let mail = render_confirmation(&ctx, hours)?;
    let template = NewMessage {
        id: Uuid::now_v7(),
        kind: MessageKind::Confirmation,
        slug: None,
        subject: &mail.subject,
        title: &mail.subject,
        issue_date: None,
        html: mail.html.source(),
        text: mail.text.source(),
        web_html: None,
        source_hash: NewMessage::content_hash(
            &mail.subject,
            mail.html.source(),
            mail.text.source(),
        ),
        now: now_ms(),
    };
    Ok(store.ensure_template(&template).await?)
}

/// What every sign-up request shares: the key, the rules, the stored template.
#[derive(Debug, Clone)]
pub struct Signups {
    pub key: TokenKey,
    pub rules: SubscriptionSettings,
    pub template: Uuid,
}

impl Signups {
    /// A request to subscribe `email`: a new subscriber gets the ids made here; a known one
    /// is decided by its state (`store::rules`).
    pub fn request(
        &self,
        email: SubscriberEmail,
        name: Option<SubscriberName>,
        time_zone: Option<TimeZoneName>,
        source: Source,
    ) -> SubscribeRequest {
        let now = now_ms();
        let new_id = Uuid::now_v7();
        let confirmation_id = Uuid::new_v4();
        SubscribeRequest {
            new_id,
            new_unsubscribe_hash: self.key.unsubscribe_token(new_id).hash(),
            email_hash: self.key.email_hash(&email),
            source,
            email,
            name,
            time_zone,
            confirmation: NewConfirmation {
                id: confirmation_id,
                hash: self.key.confirmation_token(confirmation_id).hash(),
                expires_at: now + millis(self.rules.confirm_valid),
            },
            confirmation_message: self.template,
            resend_after_ms: millis(self.rules.resend_after),
            allow_bounced: self.rules.allow_bounced,
            now,
        }
    }
}
