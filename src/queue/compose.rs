//! One claimed delivery → envelope + signed message bytes. Render once, personalise per
//! recipient: only slot filling, header formatting and DKIM run here; the issue's parts are
//! quoted-printable-encoded once per worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lettre::address::Envelope;
use lettre::message::Mailbox;

use crate::config::{Newsletter, Settings};
use crate::domain::{IssueSlug, SubscriberEmail, TokenKey};
use crate::mail::dkim::Dkim;
use crate::mail::encode::mailbox;
use crate::mail::{IssueMessage, MessageHeaders, Recipient, assemble, message_id};
use crate::render::{ConfirmationMail, RenderedIssue, SlotValues, Template};
use crate::store::{Claimed, MessageKind, Store, StoredMessage};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The message can never be built: failed, not retried.
    #[error("cannot build the message: {0}")]
    Bad(String),
    /// The message row could not be read now: the delivery is retried.
    #[error("cannot load the message: {0}")]
    Load(String),
}

pub struct Composer {
    store: Store,
    from: Mailbox,
    newsletter: Newsletter,
    base_url: String,
    key: TokenKey,
    dkim: Option<Dkim>,
    cache: Mutex<HashMap<uuid::Uuid, Prepared>>,
}

/// A stored message, ready to be personalised.
#[derive(Clone)]
enum Prepared {
    Issue(Arc<IssueMessage>),
    Confirmation(Arc<ConfirmationMail>),
}

/// A message ready for the transport.
pub struct Composed {
    pub envelope: Envelope,
    pub message_id: String,
    pub bytes: Vec<u8>,
}

impl Composer {
    pub fn new(store: Store, settings: &Settings, key: TokenKey, dkim: Option<Dkim>) -> Self {
        Self {
            store,
            from: settings.from.clone(),
            newsletter: settings.newsletter.clone(),
            base_url: settings.base_url.clone(),
            key,
            dkim,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    pub async fn compose(
        &self,
        c: &Claimed,
        now: time::OffsetDateTime,
    ) -> Result<Composed, ComposeError> {
        let to = SubscriberEmail::parse(&c.email)
            .map_err(|e| ComposeError::Bad(format!("stored address {:?}: {e}", c.email)))?;
        let name = c
            .name
            .as_deref()
            .filter(|n| !n.chars().any(char::is_control));
        let (message_id, mut bytes) = match self.prepared(c.message_id).await? {
            Prepared::Issue(message) => {
                let id = message_id(
                    message.issue().slug.as_str(),
                    c.subscriber_id,
                    self.domain(),
                );
                let token = self.key.unsubscribe_token(c.subscriber_id);
                let recipient = Recipient {
                    email: to.as_str(),
                    name,
                    unsubscribe_token: token.expose(),
                    message_id: &id,
                };
                let bytes = message
                    .build(&recipient, now)
                    .map_err(|e| ComposeError::Bad(e.to_string()))?;
                (id, bytes)
            }
            Prepared::Confirmation(mail) => self.confirmation(&mail, c, &to, name, now)?,
        };
        if let Some(dkim) = &self.dkim {
            bytes = dkim
                .signed(bytes)
                .map_err(|e| ComposeError::Bad(e.to_string()))?;
        }
        let envelope = Envelope::new(Some(self.from.email.clone()), vec![to.to_lettre()])
            .map_err(|e| ComposeError::Bad(e.to_string()))?;
        Ok(Composed {
            envelope,
            message_id,
            bytes,
        })
    }

    /// A transactional mail: no list headers, the link of this confirmation token.
    fn confirmation(
        &self,
        mail: &ConfirmationMail,
        c: &Claimed,
        to: &SubscriberEmail,
        name: Option<&str>,
        now: time::OffsetDateTime,
    ) -> Result<(String, Vec<u8>), ComposeError> {
        let token_id = c
            .token_id
            .ok_or_else(|| ComposeError::Bad("a confirmation mail without its token".into()))?;
        let token = self.key.confirmation_token(token_id);
        let confirm_url = format!("{}/confirm/{}", self.base_url, token.expose());
        let values = SlotValues {
            confirm_url: &confirm_url,
            ..SlotValues::issue("", "", to.as_str())
        };
        let id = format!("<confirm.{}@{}>", token_id.simple(), self.domain());
        let headers = MessageHeaders {
            from: &mailbox(self.from.name.as_deref(), self.from.email.as_ref()),
            to: &mailbox(name, to.as_str()),
            subject: &mail.subject,
            date: now,
            message_id: &id,
            list: None,
        };
        let bytes = assemble(
            &headers,
            &mail.text.fill_text(&values),
            &mail.html.fill_html(&values),
        )
        .map_err(|e| ComposeError::Bad(e.to_string()))?;
        Ok((id, bytes))
    }

    async fn prepared(&self, id: uuid::Uuid) -> Result<Prepared, ComposeError> {
        if let Some(m) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(m.clone());
        }
        let stored = self
            .store
            .message(id)
            .await
            .map_err(|e| ComposeError::Load(e.to_string()))?
            .ok_or_else(|| ComposeError::Bad(format!("message {id} does not exist")))?;
        let prepared = match stored.kind {
            MessageKind::Issue => {
                let rendered = rendered_from_stored(stored)?;
                Prepared::Issue(Arc::new(IssueMessage::new(
                    Arc::new(rendered),
                    &self.from,
                    &self.newsletter,
                    &self.base_url,
                )))
            }
            MessageKind::Confirmation => Prepared::Confirmation(Arc::new(ConfirmationMail {
                subject: stored.subject,
                html: Template::parse(stored.html),
                text: Template::parse(stored.text),
            })),
        };
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, prepared.clone());
        Ok(prepared)
    }
}

fn rendered_from_stored(m: StoredMessage) -> Result<RenderedIssue, ComposeError> {
    let slug = IssueSlug::parse(m.slug.as_deref().unwrap_or_default())
        .map_err(|e| ComposeError::Bad(e.to_string()))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(m.issue_date.as_deref().unwrap_or_default(), format)
        .map_err(|e| ComposeError::Bad(e.to_string()))?;
    Ok(RenderedIssue {
        slug,
        subject: m.subject,
        title: m.title,
        date,
        html: Template::parse(m.html),
        text: Template::parse(m.text),
        web_html: m.web_html.unwrap_or_default(),
        warnings: Vec::new(),
    })
}
