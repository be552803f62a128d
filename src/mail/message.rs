//! Building one message as bytes: headers of a bulk mail (docs/architecture.md decision 6) and a
//! multipart/alternative body, text/plain first and text/html last.

use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use uuid::Uuid;

use super::encode::{QpTemplate, header, mailbox, quoted_printable, structured_header};
use crate::config::Newsletter;
use crate::domain::PublicUrls;
use crate::render::{RenderedIssue, SlotValues};

/// QP output never contains `=_`, so a boundary holding it can never occur in a body.
const BOUNDARY: &str = "=_morningpost_alternative";

/// RFC 2369 / RFC 8058 list headers.
#[derive(Debug, Clone, Copy)]
pub struct ListHeaders<'a> {
    /// `<morning.example.com>`, with an optional phrase before it.
    pub list_id: &'a str,
    pub unsubscribe_url: &'a str,
    pub unsubscribe_mailto: &'a str,
    /// Gmail's feedback loop: `issue:list:newsletter:morningpost`, no personal data.
    pub feedback_id: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub struct MessageHeaders<'a> {
    /// Formatted mailbox, e.g. `"The AI Morning Post" <morning@example.com>`.
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub date: OffsetDateTime,
    /// With its angle brackets.
    pub message_id: &'a str,
    pub list: Option<ListHeaders<'a>>,
}

/// A message that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error(
        "cannot write the Date header for {date}: RFC 5322 dates are years 1900 to 9999 with a \
         whole-minute offset; check the system clock"
    )]
    Date {
        date: OffsetDateTime,
        #[source]
        source: time::error::Format,
    },
}

/// The whole message, CRLF line ends, ready for DATA (the SMTP client dot-stuffs).
pub fn assemble(h: &MessageHeaders<'_>, text: &str, html: &str) -> Result<Vec<u8>, MessageError> {
    let mut out = Vec::with_capacity((text.len() + html.len()) * 11 / 10 + 2048);
    write_head(h, &mut out)?;
    write_alternatives(
        &mut out,
        |o| quoted_printable(text, o),
        |o| quoted_printable(html, o),
    );
    Ok(out)
}

/// The header block, ending with the multipart Content-Type and the blank line.
fn write_head(h: &MessageHeaders<'_>, out: &mut Vec<u8>) -> Result<(), MessageError> {
    // Formatted first: a message without a valid Date is never written.
    let date = h
        .date
        .format(&Rfc2822)
        .map_err(|source| MessageError::Date {
            date: h.date,
            source,
        })?;
    let mut head = String::with_capacity(1024);
    structured_header("From", h.from, &mut head);
    structured_header("To", h.to, &mut head);
    header("Subject", h.subject, &mut head);
    structured_header("Date", &date, &mut head);
    structured_header("Message-ID", h.message_id, &mut head);
    structured_header("MIME-Version", "1.0", &mut head);
    if let Some(list) = h.list {
        structured_header("List-Id", list.list_id, &mut head);
        head.push_str("List-Unsubscribe: <");
        head.push_str(list.unsubscribe_url);
        head.push_str(">,\r\n <");
        head.push_str(list.unsubscribe_mailto);
        head.push_str(">\r\n");
        structured_header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click",
            &mut head,
        );
        structured_header("Feedback-ID", list.feedback_id, &mut head);
        // Bulk mail: auto-responders (out-of-office) should stay quiet (RFC 3834 §2, and
        // Exchange's own header).
        structured_header("Precedence", "bulk", &mut head);
        structured_header("X-Auto-Response-Suppress", "OOF, AutoReply", &mut head);
    }
    head.push_str("Content-Type: multipart/alternative;\r\n boundary=\"");
    head.push_str(BOUNDARY);
    head.push_str("\"\r\n\r\n");
    out.extend_from_slice(head.as_bytes());
    Ok(())
}

/// text/plain first, text/html last (RFC 2046 §5.1.4: the last is the richest).
fn write_alternatives(
    out: &mut Vec<u8>,
    text: impl FnOnce(&mut Vec<u8>),
    html: impl FnOnce(&mut Vec<u8>),
) {
    let part_head = |out: &mut Vec<u8>, mime: &str| {
        out.extend_from_slice(b"--");
        out.extend_from_slice(BOUNDARY.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(mime.as_bytes());
        out.extend_from_slice(
            b"; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        );
    };
    part_head(out, "text/plain");
    text(out);
    out.extend_from_slice(b"\r\n");
    part_head(out, "text/html");
    html(out);
    out.extend_from_slice(b"\r\n--");
    out.extend_from_slice(BOUNDARY.as_bytes());
    out.extend_from_slice(b"--\r\n");
}

/// The stable Message-ID of one issue to one subscriber (docs/architecture.md decision 5): a copy
/// re-sent after a crash carries the same ID, so it is recognisably the same message.
pub fn message_id(issue_slug: &str, subscriber_id: Uuid, domain: &str) -> String {
    format!("<{issue_slug}.{}@{domain}>", subscriber_id.simple())
}

/// The issue slug and subscriber a Message-ID of ours names (what [`message_id`] wrote, as a
/// bounce returns it); `None` for any other Message-ID, or one of another domain.
pub fn parse_message_id(id: &str, domain: &str) -> Option<(String, Uuid)> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, at) = id.rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    let (slug, subscriber) = local.rsplit_once('.')?;
    if subscriber.len() != 32 {
        return None;
    }
    let subscriber = Uuid::try_parse(subscriber).ok()?;
    Some((slug.to_owned(), subscriber))
}

/// One recipient of an issue.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    /// The raw unsubscribe token (only its hash is stored).
    pub unsubscribe_token: &'a str,
    pub message_id: &'a str,
    /// The footer's reason they receive it ([`crate::render::why`]).
    pub why: &'a str,
}

/// What every copy of an issue shares, computed once per issue.
#[derive(Debug, Clone)]
pub struct IssueMessage {
    issue: Arc<RenderedIssue>,
    text_qp: QpTemplate,
    html_qp: QpTemplate,
    from: String,
    list_id: String,
    feedback_id: String,
    urls: PublicUrls,
    view_url: String,
    unsubscribe_address: String,
}

impl IssueMessage {
    pub fn new(
        issue: Arc<RenderedIssue>,
        from: &lettre::message::Mailbox,
        newsletter: &Newsletter,
        urls: &PublicUrls,
    ) -> Self {
        Self {
            from: mailbox(from.name.as_deref(), from.email.as_ref()),
            list_id: format!(
                "{} {}",
                super::encode::display_name(&newsletter.name),
                newsletter.list_id
            ),
            feedback_id: format!(
                "{}:{}:newsletter:morningpost",
                issue.slug,
                newsletter
                    .list_id
                    .trim_start_matches('<')
                    .trim_end_matches('>')
            ),
            urls: urls.clone(),
            view_url: urls.issue(&issue.slug),
            unsubscribe_address: newsletter.unsubscribe_address.clone(),
            text_qp: QpTemplate::new(&issue.text),
            html_qp: QpTemplate::new(&issue.html),
            issue,
        }
    }

    pub fn issue(&self) -> &RenderedIssue {
        &self.issue
    }

    pub fn unsubscribe_url(&self, token: &str) -> String {
        self.urls.unsubscribe(token)
    }

    /// The message for one recipient, slots filled (HTML-escaped in the HTML part).
    pub fn build(&self, r: &Recipient<'_>, date: OffsetDateTime) -> Result<Vec<u8>, MessageError> {
        let unsubscribe_url = self.unsubscribe_url(r.unsubscribe_token);
        let mailto = format!(
            "mailto:{}?subject=unsubscribe%20{}",
            self.unsubscribe_address, r.unsubscribe_token
        );
        let values = SlotValues::issue(&unsubscribe_url, &self.view_url, r.email, r.why);
        let to = mailbox(r.name, r.email);
        let headers = MessageHeaders {
            from: &self.from,
            to: &to,
            subject: &self.issue.subject,
            date,
            message_id: r.message_id,
            list: Some(ListHeaders {
                list_id: &self.list_id,
                unsubscribe_url: &unsubscribe_url,
                unsubscribe_mailto: &mailto,
                feedback_id: &self.feedback_id,
            }),
        };
        let mut out = Vec::with_capacity(
            self.text_qp.encoded_len_hint() + self.html_qp.encoded_len_hint() + 2048,
        );
        write_head(&headers, &mut out)?;
        write_alternatives(
            &mut out,
            |o| self.text_qp.fill_into(&values, false, o),
            |o| self.html_qp.fill_into(&values, true, o),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn headers(date: OffsetDateTime) -> MessageHeaders<'static> {
        MessageHeaders {
            from: "<morning@example.com>",
            to: "<ada@example.com>",
            subject: "Hello",
            date,
            message_id: "<1@example.com>",
            list: None,
        }
    }

    /// On today's code a date RFC 5322 cannot hold became an empty `Date:` header.
    #[test]
    fn a_date_that_cannot_be_written_is_an_error_not_an_empty_header() {
        for date in [
            datetime!(1899-12-31 23:59:59 UTC),
            datetime!(2026-11-27 06:00:00 +01:00:30),
        ] {
            let e = assemble(&headers(date), "t", "h").unwrap_err();
            assert!(matches!(e, MessageError::Date { .. }), "{e:?}");
            assert!(e.to_string().contains("check the system clock"), "{e}");
        }
        let ok = assemble(&headers(datetime!(2026-11-27 06:00:00 UTC)), "t", "h").unwrap();
        let text = String::from_utf8(ok).unwrap();
        assert!(
            text.contains("\r\nDate: Fri, 27 Nov 2026 06:00:00 +0000\r\n"),
            "{text}"
        );
    }

    #[test]
    fn our_message_ids_parse_back_and_others_do_not() {
        let id = uuid::Uuid::now_v7();
        let written = message_id("2026-11-27", id, "example.com");
        assert_eq!(
            parse_message_id(&written, "example.com"),
            Some(("2026-11-27".to_owned(), id))
        );
        assert_eq!(parse_message_id(&written, "example.org"), None);
        assert_eq!(
            parse_message_id("<confirm.abc@example.com>", "example.com"),
            None
        );
        assert_eq!(parse_message_id("<x@example.com>", "example.com"), None);
        assert_eq!(parse_message_id("", "example.com"), None);
    }
}
