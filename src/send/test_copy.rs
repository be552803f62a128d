//! `send ISSUE --test ADDR…`: the issue, rendered and sent now to the given addresses only,
//! through the configured transport, written by the same code as every reader's copy
//! ([`CopyWriter`]). Nothing touches the database (no issue, delivery or subscriber is
//! written, none is read), so it works before `init`; the copy's unsubscribe links carry the
//! test copies' token, which changes nobody (docs/architecture.md decision 25).

use std::path::Path;

use crate::config::Settings;
use crate::domain::{SubscriberEmail, SubscriberEmailError};
use crate::issue::IssueError;
use crate::mail::transport::{Transport, TransportError};
use crate::queue::{CopyWriter, SetupError};
use crate::render::{RenderContext, RenderError, render_issue};
use crate::report::Chain;

#[derive(Debug, thiserror::Error)]
pub enum TestSendError {
    #[error(
        "{address:?} is not an address a test copy can go to; nothing was sent: fix it and run the command again"
    )]
    BadAddress {
        address: String,
        #[source]
        source: SubscriberEmailError,
    },
    #[error("cannot read the issue file; nothing was sent")]
    Issue(#[source] IssueError),
    #[error("cannot render the issue; nothing was sent")]
    Render(#[source] RenderError),
    #[error("cannot use the transport; nothing was sent")]
    Transport(#[source] TransportError),
    #[error("cannot load the keys test copies are written with; nothing was sent")]
    Setup(#[source] SetupError),
}

/// What a test send did, address by address.
#[derive(Debug)]
pub struct TestSendReport {
    pub slug: String,
    /// The subject the copies carry, `[Test] ` included.
    pub subject: String,
    /// Where the copies went: `SMTP host:port` or the outbox folder.
    pub through: String,
    /// The renderer's warnings (the same a send shows).
    pub warnings: Vec<String>,
    pub copies: Vec<TestCopyOutcome>,
}

#[derive(Debug)]
pub struct TestCopyOutcome {
    pub address: SubscriberEmail,
    /// The relay's reply to the end of DATA, or what went wrong.
    pub result: Result<String, String>,
}

impl TestSendReport {
    /// The copies that were not sent.
    pub fn failed(&self) -> impl Iterator<Item = &TestCopyOutcome> {
        self.copies.iter().filter(|c| c.result.is_err())
    }
}

/// Parses every address first (one bad address sends nothing), renders the issue and sends
/// one copy to each address (an address given twice gets one), in order, over one connection.
/// A copy that cannot be written or that the relay refuses does not stop the others: the
/// report says which went and which did not.
pub async fn send_test_copies(
    settings: &Settings,
    issue_file: &Path,
    addresses: &[String],
) -> Result<TestSendReport, TestSendError> {
    let mut to: Vec<SubscriberEmail> = Vec::with_capacity(addresses.len());
    for address in addresses {
        let parsed =
            SubscriberEmail::parse(address).map_err(|source| TestSendError::BadAddress {
                address: address.clone(),
                source,
            })?;
        if !to.contains(&parsed) {
            to.push(parsed);
        }
    }
    let issue = crate::issue::read_issue_file(issue_file).map_err(TestSendError::Issue)?;
    let rendered = render_issue(&issue, &RenderContext::from_settings(settings))
        .map_err(TestSendError::Render)?;
    let warnings = rendered.warnings.clone();
    let writer = CopyWriter::from_settings(settings).map_err(TestSendError::Setup)?;
    let transport = Transport::from_settings(settings).map_err(TestSendError::Transport)?;
    let test = writer.test_issue(rendered);

    let mut sender = transport.sender(0);
    let mut copies = Vec::with_capacity(to.len());
    for address in to {
        let result = match writer.test_copy(&test, &address, time::OffsetDateTime::now_utc()) {
            Ok(composed) => sender
                .send(&composed.envelope, &composed.message_id, &composed.bytes)
                .await
                .map_err(|failure| failure.reply()),
            Err(e) => Err(format!("not written: {}", Chain(&e))),
        };
        copies.push(TestCopyOutcome { address, result });
    }
    sender.close().await;
    Ok(TestSendReport {
        slug: test.issue().slug.to_string(),
        subject: test.issue().subject.clone(),
        through: transport.describe(),
        warnings,
        copies,
    })
}
