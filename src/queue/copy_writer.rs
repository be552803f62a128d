//! One recipient's copy of a message: slots filled, headers, DKIM, envelope. It needs no
//! database: the worker's [`Composer`](super::Composer) loads stored messages and hands them
//! here, and `send --test` hands a freshly rendered issue straight here, so a test copy is
//! written by the very code that writes every reader's copy.

use std::sync::Arc;

use lettre::address::Envelope;
use lettre::message::Mailbox;

use super::ComposeError;
use super::setup::SetupError;
use crate::config::{Newsletter, Settings};
use crate::domain::{BounceAddress, PublicUrls, SubscriberEmail, TokenKey};
use crate::mail::dkim::Dkim;
use crate::mail::encode::mailbox;
use crate::mail::{IssueMessage, MessageHeaders, Recipient, assemble, message_id};
use crate::render::{ConfirmationMail, RenderedIssue, SlotValues, why};
use crate::store::Consent;

/// What a test copy's subject starts with, so the operator tells it from the real issue.
pub const TEST_SUBJECT_PREFIX: &str = "[Test] ";

/// A message ready for the transport.
pub struct Composed {
    pub envelope: Envelope,
    pub message_id: String,
    pub bytes: Vec<u8>,
}

/// Writes and signs copies: the sender, the links, the token key and the DKIM key.
pub struct CopyWriter {
    from: Mailbox,
    newsletter: Newsletter,
    urls: PublicUrls,
    key: TokenKey,
    dkim: Option<Dkim>,
    /// Where bounces go (VERP); `None`: the From address, as before.
    bounces: Option<BounceAddress>,
}

/// An issue prepared for test copies: `[Test] ` before its subject. Only
/// [`CopyWriter::test_issue`] makes one, so a test copy cannot carry the real subject.
pub struct TestIssue(IssueMessage);

impl TestIssue {
    pub fn issue(&self) -> &RenderedIssue {
        self.0.issue()
    }
}

impl CopyWriter {
    pub fn new(settings: &Settings, key: TokenKey, dkim: Option<Dkim>) -> Self {
        Self {
            from: settings.from.clone(),
            newsletter: settings.newsletter.clone(),
            urls: settings.urls(),
            key,
            dkim,
            bounces: settings.bounces.address.clone(),
        }
    }

    /// The writer the settings describe: loads the secret key and the DKIM key.
    pub fn from_settings(settings: &Settings) -> Result<Self, SetupError> {
        let dkim = Dkim::from_settings(settings)?;
        Ok(Self::new(settings, settings.token_key()?, dkim))
    }

    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// What every copy of an issue shares, computed once per issue.
    pub fn issue_message(&self, issue: Arc<RenderedIssue>) -> IssueMessage {
        IssueMessage::new(issue, &self.from, &self.newsletter, &self.urls)
    }

    /// One subscriber's copy of an issue: their own unsubscribe token and the stable
    /// Message-ID (docs/architecture.md decision 5).
    pub fn issue_copy(
        &self,
        message: &IssueMessage,
        to: &SubscriberEmail,
        name: Option<&str>,
        subscriber: (uuid::Uuid, Option<Consent>),
        delivery_id: i64,
        now: time::OffsetDateTime,
    ) -> Result<Composed, ComposeError> {
        let (subscriber_id, consent) = subscriber;
        let id = message_id(message.issue().slug.as_str(), subscriber_id, self.domain());
        let token = self.key.unsubscribe_token(subscriber_id);
        let recipient = Recipient {
            email: to.as_str(),
            name,
            unsubscribe_token: token.expose(),
            message_id: &id,
            why: why::why_you_receive_this(consent),
        };
        let bytes = message
            .build(&recipient, now)
            .map_err(ComposeError::Message)?;
        self.finish(id, bytes, to, Some(delivery_id))
    }

    /// The issue as test copies carry it (docs/architecture.md decision 25).
    pub fn test_issue(&self, mut issue: RenderedIssue) -> TestIssue {
        issue.subject = format!("{TEST_SUBJECT_PREFIX}{}", issue.subject);
        TestIssue(self.issue_message(Arc::new(issue)))
    }

    /// A test copy for any address: what a reader gets, but its unsubscribe links carry the
    /// test copies' token, which changes nobody, and its Message-ID is its own
    /// (`<test.SLUG.RANDOM@domain>`), never a reader's.
    pub fn test_copy(
        &self,
        test: &TestIssue,
        to: &SubscriberEmail,
        now: time::OffsetDateTime,
    ) -> Result<Composed, ComposeError> {
        let id = format!(
            "<test.{}.{}@{}>",
            test.issue().slug,
            uuid::Uuid::new_v4().simple(),
            self.domain()
        );
        let token = self.key.test_copy_token();
        let recipient = Recipient {
            email: to.as_str(),
            name: None,
            unsubscribe_token: token.expose(),
            message_id: &id,
            why: why::TEST_COPY,
        };
        let bytes = test
            .0
            .build(&recipient, now)
            .map_err(ComposeError::Message)?;
        self.finish(id, bytes, to, None)
    }

    /// A transactional mail: no list headers, the link of this confirmation token.
    pub fn confirmation_copy(
        &self,
        mail: &ConfirmationMail,
        to: &SubscriberEmail,
        name: Option<&str>,
        token_id: uuid::Uuid,
        delivery_id: i64,
        now: time::OffsetDateTime,
    ) -> Result<Composed, ComposeError> {
        let token = self.key.confirmation_token(token_id);
        let confirm_url = self.urls.confirm(token.expose());
        let values = SlotValues {
            confirm_url: &confirm_url,
            ..SlotValues::issue("", "", to.as_str(), "")
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
        self.finish(id, bytes, to, Some(delivery_id))
    }

    /// Signs (with a DKIM key) and addresses the envelope to `to` alone, from the
    /// delivery's own return path when bounces are collected (a test copy's bounce goes to
    /// the bounce address untagged: it matches no delivery).
    fn finish(
        &self,
        message_id: String,
        mut bytes: Vec<u8>,
        to: &SubscriberEmail,
        delivery_id: Option<i64>,
    ) -> Result<Composed, ComposeError> {
        if let Some(dkim) = &self.dkim {
            bytes = dkim.signed(bytes).map_err(ComposeError::Sign)?;
        }
        let sender = match (&self.bounces, delivery_id) {
            (Some(b), Some(id)) => b
                .return_path(&self.key, id)
                .parse()
                .map_err(ComposeError::ReturnPath)?,
            (Some(b), None) => b.to_string().parse().map_err(ComposeError::ReturnPath)?,
            (None, _) => self.from.email.clone(),
        };
        let envelope =
            Envelope::new(Some(sender), vec![to.to_lettre()]).map_err(ComposeError::Envelope)?;
        Ok(Composed {
            envelope,
            message_id,
            bytes,
        })
    }
}
