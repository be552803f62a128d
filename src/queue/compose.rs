//! One claimed delivery → envelope + signed message bytes. Render once, personalise per
//! recipient: the stored message is loaded and its parts quoted-printable-encoded once per
//! worker; [`CopyWriter`] fills the slots, writes the headers and signs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::copy_writer::{Composed, CopyWriter};
use crate::domain::{IssueSlug, SubscriberEmail};
use crate::mail::IssueMessage;
use crate::render::{ConfirmationMail, RenderedIssue, Template};
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
    #[error("the return path (from bounce_address) is not an address lettre accepts")]
    ReturnPath(#[source] lettre::address::AddressError),
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
    writer: CopyWriter,
    cache: Mutex<HashMap<uuid::Uuid, Prepared>>,
}

/// A stored message, ready to be personalised.
#[derive(Clone)]
enum Prepared {
    Issue {
        message: Arc<IssueMessage>,
        /// Its slug, as the metrics label it.
        label: Arc<str>,
    },
    Confirmation(Arc<ConfirmationMail>),
}

impl Composer {
    pub fn new(store: Store, writer: CopyWriter) -> Self {
        Self {
            store,
            writer,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn domain(&self) -> &str {
        self.writer.domain()
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
        match self.prepared(c.message_id).await? {
            Prepared::Issue { message, .. } => self.writer.issue_copy(
                &message,
                &to,
                name,
                (c.subscriber_id, c.consent),
                c.delivery_id,
                now,
            ),
            Prepared::Confirmation(mail) => {
                let token_id = c.token_id.ok_or(ComposeError::MissingToken)?;
                self.writer
                    .confirmation_copy(&mail, &to, name, token_id, c.delivery_id, now)
            }
        }
    }

    /// The metrics' issue label of a message: the issue's slug, `confirmation`, or
    /// `unknown` when it cannot be loaded. Made once per message, with what is cached.
    pub async fn label(&self, id: uuid::Uuid) -> Arc<str> {
        match self.prepared(id).await {
            Ok(Prepared::Issue { label, .. }) => label,
            Ok(Prepared::Confirmation(_)) => Arc::from("confirmation"),
            Err(_) => Arc::from("unknown"),
        }
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
                Prepared::Issue {
                    label: Arc::from(rendered.slug.as_str()),
                    message: Arc::new(self.writer.issue_message(Arc::new(rendered))),
                }
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
