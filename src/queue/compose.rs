//! One claimed delivery → envelope + signed message bytes. Render once, personalise per
//! recipient: only slot filling, header formatting and DKIM run here; the issue's parts are
//! quoted-printable-encoded once per worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lettre::address::Envelope;
use lettre::message::Mailbox;

use crate::config::{Newsletter, Settings};
use crate::domain::{IssueSlug, PublicUrls, SubscriberEmail, TokenKey};
use crate::mail::dkim::Dkim;
use crate::mail::encode::mailbox;
use crate::mail::{IssueMessage, MessageHeaders, Recipient, assemble, message_id};
use crate::render::{ConfirmationMail, RenderedIssue, SlotValues, Template};
use crate::store::{Claimed, MessageKind, Store, StoredMessage};

/// Why a delivery's message could not be built. Only [`ComposeError::Load`] may go away by
/// itself (the database comes back); the others fail the delivery.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("the stored address {address:?} is not a valid recipient")]
    BadAddress {
        address: String,
        #[source]
        source: crate::domain::SubscriberEmailError,
    },
    #[error("the envelope cannot be built")]
    Envelope(#[source] lettre::error::Error),
    #[error("the message cannot be written")]
    Message(#[source] crate::mail::message::MessageError),
    #[error("DKIM signing failed")]
    Sign(#[source] crate::mail::dkim::DkimError),
    #[error("a confirmation mail without its token")]
    MissingToken,
    #[error("message {0} does not exist")]
    MissingMessage(uuid::Uuid),
    #[error("the stored issue {slug:?} is corrupt: {what}")]
    CorruptIssue { slug: String, what: &'static str },
    #[error("cannot load the message")]
    Load(#[source] crate::store::StoreError),
}

impl ComposeError {
    /// Whether trying again later cannot help.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, ComposeError::Load(_))
    }
}

pub struct Composer {
    store: Store,
    from: Mailbox,
    newsletter: Newsletter,
    urls: PublicUrls,
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
            urls: settings.urls(),
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
        let to = SubscriberEmail::parse(&c.email).map_err(|source| ComposeError::BadAddress {
            address: c.email.clone(),
            source,
        })?;
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
                    .map_err(ComposeError::Message)?;
                (id, bytes)
            }
            Prepared::Confirmation(mail) => self.confirmation(&mail, c, &to, name, now)?,
        };
        if let Some(dkim) = &self.dkim {
            bytes = dkim.signed(bytes).map_err(ComposeError::Sign)?;
        }
        let envelope = Envelope::new(Some(self.from.email.clone()), vec![to.to_lettre()])
            .map_err(ComposeError::Envelope)?;
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
        let token_id = c.token_id.ok_or(ComposeError::MissingToken)?;
        let token = self.key.confirmation_token(token_id);
        let confirm_url = self.urls.confirm(token.expose());
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
        .map_err(ComposeError::Message)?;
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
            .map_err(ComposeError::Load)?
            .ok_or(ComposeError::MissingMessage(id))?;
        let prepared = match stored.kind {
            MessageKind::Issue => {
                let rendered = rendered_from_stored(stored)?;
                Prepared::Issue(Arc::new(IssueMessage::new(
                    Arc::new(rendered),
                    &self.from,
                    &self.newsletter,
                    &self.urls,
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
    let stored_slug = m.slug.as_deref().unwrap_or_default();
    let corrupt = |what| ComposeError::CorruptIssue {
        slug: stored_slug.to_owned(),
        what,
    };
    let slug = IssueSlug::parse(stored_slug).map_err(|_| corrupt("its slug is not valid"))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(m.issue_date.as_deref().unwrap_or_default(), format)
        .map_err(|_| corrupt("its date is not YYYY-MM-DD"))?;
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
