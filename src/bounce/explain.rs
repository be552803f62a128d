//! What `bounces explain` prints: one object per recipient, with exactly the keys the
//! operator's tools read, in a fixed order.

use serde::Serialize;

use super::{Kind, Report};

/// One line of `bounces explain --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainLine {
    /// The path as given.
    pub file: String,
    pub kind: &'static str,
    pub recipient: Option<String>,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    pub diagnostic: Option<String>,
    pub class: &'static str,
    pub feedback_type: Option<String>,
}

pub fn lines(report: &Report, file: &str) -> Vec<ExplainLine> {
    if report.recipients.is_empty() {
        let class = match report.kind {
            Kind::Complaint => super::arf::class_of(report.feedback_type.as_deref()),
            _ => super::Class::Ignore,
        };
        return vec![ExplainLine {
            file: file.to_owned(),
            kind: report.kind.as_str(),
            recipient: None,
            status: None,
            reply_code: None,
            diagnostic: None,
            class: class.as_str(),
            feedback_type: report.feedback_type.clone(),
        }];
    }
    report
        .recipients
        .iter()
        .map(|r| ExplainLine {
            file: file.to_owned(),
            kind: report.kind.as_str(),
            recipient: r.address.clone(),
            status: r.status.clone(),
            reply_code: r.reply_code.clone(),
            diagnostic: r.diagnostic.clone(),
            class: r.class.as_str(),
            feedback_type: report.feedback_type.clone(),
        })
        .collect()
}
