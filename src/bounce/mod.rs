//! Understanding a bounce: what a report mailed back to the envelope sender says, without a
//! database (docs/architecture.md decision 27).
//!
//! [`parse`] reads one message: an RFC 3464 delivery status notification (`dsn`), an RFC
//! 5965 feedback report (`arf`), a bounce in one of the common non-standard texts
//! (`legacy`), or an automatic reply (`auto_reply`), and returns a [`Report`]: what kind of
//! message it is, each failed recipient with its codes and [`Class`], and the addresses and
//! message ids that tie it to what we sent. [`classify`] is the one judge of a failure, for
//! reports and SMTP replies alike.

mod arf;
mod auto_reply;
mod classify;
mod dsn;
mod explain;
mod legacy;
mod message;
mod text;

pub use arf::class_of as complaint_class;
pub use classify::{classify, classify_reply};
pub use explain::ExplainLine;

/// What kind of message a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bounce,
    Complaint,
    AutoReply,
    Delivered,
    Unknown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto-reply",
            Kind::Delivered => "delivered",
            Kind::Unknown => "unknown",
        }
    }
}

/// What a failure means for the subscriber (decision 27).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The address is gone: suppress at once.
    Hard,
    /// Full mailbox, expired in queue, a temporary failure: the address may work later.
    Soft,
    /// The receiver refused the message or the sender, not the address: never suppresses.
    Refused,
    /// The reader reported the mail as spam.
    Complaint,
    /// Nothing to record: an auto-reply, a delay warning, a delivery receipt.
    Ignore,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Hard => "hard",
            Class::Soft => "soft",
            Class::Refused => "refused",
            Class::Complaint => "complaint",
            Class::Ignore => "ignore",
        }
    }
}

/// One failed (or complained-about) recipient, in the message's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The original recipient, domain lower-cased, no angle brackets; `None` if not found.
    pub address: Option<String>,
    /// The RFC 3463 enhanced status, e.g. "5.1.1".
    pub status: Option<String>,
    /// The SMTP reply code, e.g. "550".
    pub reply_code: Option<String>,
    /// The remote server's words: one line, trimmed, at most 500 chars.
    pub diagnostic: Option<String>,
    /// RFC 3464 Action: failed | delayed | delivered | relayed | expanded.
    pub action: Option<String>,
    pub class: Class,
}

impl Recipient {
    /// A recipient a complaint (ARF, or a provider's event) is about: an address and the
    /// class its feedback type earns, nothing else.
    pub fn complained(address: String, class: Class) -> Self {
        Self {
            address: Some(address),
            status: None,
            reply_code: None,
            diagnostic: None,
            action: None,
            class,
        }
    }
}

/// What one message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: Kind,
    /// Empty when none was found.
    pub recipients: Vec<Recipient>,
    /// ARF Feedback-Type, lower-cased.
    pub feedback_type: Option<String>,
    /// Where this report was sent: To, Delivered-To, X-Original-To, Envelope-To (VERP tags).
    pub report_addresses: Vec<String>,
    /// Message-ID(s) of the returned original, with angle brackets as written.
    pub original_message_ids: Vec<String>,
    /// To of the returned original, for the last-resort match.
    pub original_recipients: Vec<String>,
}

/// At most this much of a message is looked at; the rest is ignored (a report's own parts
/// come first; a huge tail is a returned attachment).
pub const MAX_INPUT_BYTES: usize = crate::mailbox::MAX_MESSAGE_BYTES;

/// Reads one message. Never panics; input past [`MAX_INPUT_BYTES`] is not looked at, and
/// nested messages are read one level deep.
pub fn parse(raw: &[u8]) -> Report {
    let raw = raw.get(..MAX_INPUT_BYTES).unwrap_or(raw);
    let Some(parts) = message::Parts::read(raw) else {
        return Report::empty(Kind::Unknown, Vec::new());
    };
    let report_addresses = parts.report_addresses();
    let mut report = if let Some(fields) = parts.feedback.first() {
        complaint(fields, &parts)
    } else if let Some(report) = delivery_status(&parts) {
        report
    } else if auto_reply::is_auto_reply(&parts.headers, &parts.subject)
        // Bounces carry Auto-Submitted too: a mail system's sender or a bounce subject wins.
        && !legacy::looks_like_bounce(&parts.from, &parts.subject, "")
    {
        Report::empty(Kind::AutoReply, Vec::new())
    } else {
        legacy_bounce(&parts, &report_addresses)
    };
    report.report_addresses = report_addresses;
    report.original_message_ids = parts.original_message_ids.clone();
    report.original_recipients = parts.original_recipients.clone();
    report
}

impl Report {
    fn empty(kind: Kind, recipients: Vec<Recipient>) -> Report {
        Report {
            kind,
            recipients,
            feedback_type: None,
            report_addresses: Vec::new(),
            original_message_ids: Vec::new(),
            original_recipients: Vec::new(),
        }
    }

    /// What `bounces explain --json` prints for this report: one line per recipient, or one
    /// with nulls when it names none.
    pub fn explain_lines(&self, file: &str) -> Vec<ExplainLine> {
        explain::lines(self, file)
    }
}

fn complaint(fields: &str, parts: &message::Parts) -> Report {
    let feedback = arf::parse(fields);
    let class = arf::class_of(feedback.feedback_type.as_deref());
    let addresses = if feedback.recipients.is_empty() {
        parts.original_recipients.clone()
    } else {
        feedback.recipients
    };
    let recipients = addresses
        .into_iter()
        .map(|address| Recipient::complained(address, class))
        .collect();
    let mut report = Report::empty(Kind::Complaint, recipients);
    report.feedback_type = feedback.feedback_type;
    report
}

/// An RFC 3464 report, when the message has a delivery-status part naming recipients.
fn delivery_status(parts: &message::Parts) -> Option<Report> {
    let all: Vec<dsn::DsnRecipient> = parts
        .delivery_status
        .iter()
        .flat_map(|t| dsn::recipients(t))
        .collect();
    if all.is_empty() {
        return None;
    }
    let failing = |r: &&dsn::DsnRecipient| {
        !matches!(
            r.action.as_deref(),
            Some("delivered" | "relayed" | "expanded")
        )
    };
    let kind = if all.iter().any(|r| failing(&r)) {
        Kind::Bounce
    } else {
        Kind::Delivered
    };
    // A block without Diagnostic-Code: the human-readable part often gives the reason.
    let own = legacy::own_text(&parts.body);
    let explained = legacy::failed_recipients(&own, &[]);
    let recipients = all
        .iter()
        .filter(|r| kind == Kind::Delivered || failing(r))
        .map(|r| {
            let mut r = r.clone();
            if r.diagnostic.is_none() {
                r.diagnostic = explained
                    .iter()
                    .find(|f| {
                        f.address.is_some()
                            && f.address.as_deref().map(str::to_lowercase)
                                == r.address().map(|a| a.to_lowercase())
                    })
                    .and_then(|f| f.diagnostic.clone());
                r.reply_code = r.diagnostic.as_deref().and_then(text::find_reply_code);
            }
            let class = match r.action.as_deref() {
                // A delay is no outcome yet: the final failure or delivery comes later.
                Some("delayed" | "delivered" | "relayed" | "expanded") => Class::Ignore,
                _ => classify(
                    r.status.as_deref(),
                    r.reply_code.as_deref(),
                    r.diagnostic.as_deref().unwrap_or(""),
                ),
            };
            Recipient {
                address: r.address(),
                status: r.status.clone(),
                reply_code: r.reply_code.clone(),
                diagnostic: r.diagnostic.clone(),
                action: r.action.clone(),
                class,
            }
        })
        .collect();
    Some(Report::empty(kind, recipients))
}

fn legacy_bounce(parts: &message::Parts, report_addresses: &[String]) -> Report {
    if !legacy::looks_like_bounce(&parts.from, &parts.subject, &parts.body) {
        return Report::empty(Kind::Unknown, Vec::new());
    }
    let own = legacy::own_text(&parts.body);
    let delayed = legacy::is_delay_warning(&parts.subject, &own);
    let mut exclude = report_addresses.to_vec();
    exclude.extend(text::addresses_in(&parts.from));
    let mut found = legacy::failed_recipients(&own, &exclude);
    if found.is_empty() {
        let diagnostic = legacy::any_diagnostic(&own);
        if diagnostic.is_none() && parts.original_message_ids.is_empty() && !parts.sent_by_daemon()
        {
            return Report::empty(Kind::Unknown, Vec::new());
        }
        // The reply itself may name the address ("553 <a@b>... No such user").
        let address = diagnostic
            .as_deref()
            .map(text::addresses_in)
            .unwrap_or_default()
            .into_iter()
            .find(|a| !exclude.iter().any(|e| e.eq_ignore_ascii_case(a)));
        found.push(legacy::Found {
            address,
            diagnostic,
        });
    }
    let recipients = found
        .into_iter()
        .map(|f| {
            let diagnostic = f.diagnostic;
            let d = diagnostic.as_deref().unwrap_or("");
            let status = text::find_status(d);
            let reply_code = text::find_reply_code(d);
            let class = if delayed {
                Class::Ignore
            } else {
                classify(status.as_deref(), reply_code.as_deref(), d)
            };
            Recipient {
                address: f.address,
                status,
                reply_code,
                diagnostic,
                action: Some(if delayed { "delayed" } else { "failed" }.to_owned()),
                class,
            }
        })
        .collect();
    Report::empty(Kind::Bounce, recipients)
}
