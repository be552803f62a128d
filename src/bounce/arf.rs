//! RFC 5965 abuse feedback reports: the `message/feedback-report` part.

use super::Class;
use super::text::{header_fields, normalize_address};

/// What a feedback report part says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// `Feedback-Type`, lower-cased: abuse, fraud, virus, other, not-spam, auth-failure.
    pub feedback_type: Option<String>,
    /// `Original-Rcpt-To`, in order.
    pub recipients: Vec<String>,
}

pub fn parse(fields_text: &str) -> Feedback {
    let mut feedback = Feedback::default();
    for (name, value) in header_fields(fields_text) {
        match name.as_str() {
            "feedback-type" if feedback.feedback_type.is_none() => {
                feedback.feedback_type = value
                    .split_whitespace()
                    .next()
                    .map(|t| t.trim_end_matches(';').to_ascii_lowercase());
            }
            "original-rcpt-to" => {
                if let Some(address) = normalize_address(&value) {
                    feedback.recipients.push(address);
                }
            }
            _ => {}
        }
    }
    feedback
}

/// A complaint is a reader saying "this is spam" (abuse, fraud, virus, other). `not-spam`
/// says the opposite and `auth-failure` (RFC 6591) is about our signatures, not the reader's
/// wish: neither is recorded against the subscriber.
pub fn class_of(feedback_type: Option<&str>) -> Class {
    match feedback_type {
        Some("not-spam" | "auth-failure") => Class::Ignore,
        _ => Class::Complaint,
    }
}
