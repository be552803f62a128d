//! Bounces that do not follow RFC 3464: the human-readable texts of classic Sendmail, Exim,
//! qmail, Postfix, Exchange, Gmail, Yahoo and their kind. They share a shape: a sentence
//! saying delivery failed, the failed address at the start of a line (alone, in angle
//! brackets, quoted, or followed by a colon), the remote server's reply on that line or the
//! next few, then a copy of the original message, which is cut off before looking.

use super::text::{addresses_in, find_reply_code, find_status, lower, one_line};

/// At most this many lines of the report's own text are read.
const MAX_LINES: usize = 2_000;
/// How far below an address its diagnostic may be.
const LOOKAHEAD: usize = 12;

/// A failed recipient found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub address: Option<String>,
    pub diagnostic: Option<String>,
}

/// Phrases of a bounce's explanation.
const FAILURE_PHRASES: &[&str] = &[
    "following address",
    "following recipient",
    "permanent fatal error",
    "could not be delivered",
    "couldn't be delivered",
    "undeliverable",
    "undelivered",
    "unable to deliver",
    "delivery to the following",
    "delivery has failed",
    "delivery failed",
    "failed recipient",
    "cannot be reached",
    "did not reach",
    "wasn't delivered",
    "was not delivered",
    "not be delivered",
    "failed to deliver",
    "delivery failure",
    "i'm afraid i wasn't able",
    "permanent error",
    "returned mail",
    "mail delivery failed",
    "message could not",
    "could not deliver",
    "couldn't deliver",
    "user unknown",
    "no such user",
    "does not exist",
    "delivery status notification",
    "non-delivery",
    "nondeliverable",
    "not delivered",
    "bounced",
    "delivery problem",
];

/// Phrases of a delay warning: the server keeps trying.
const DELAY_PHRASES: &[&str] = &[
    "will continue",
    "will keep trying",
    "still trying",
    "will be retried",
    "will retry",
    "not yet been delivered",
    "has been delayed",
    "delivery delayed",
    "delivery is delayed",
    "message delayed",
    "warning: message",
    "warning: could not send",
    "no action is required",
    "is still being retried",
    "delivery attempts will continue",
];

/// Lines where a copy of the original message begins.
const ORIGINAL_MARKERS: &[&str] = &[
    "original message",
    "copy of the message",
    "copy of your message",
    "returned message",
    "unsent message",
    "message headers follow",
    "headers of your message",
    "text of the returned message",
    "original mail",
    "here are the first",
    "your message reads",
];

/// Words that make a line a failure explanation.
const DIAGNOSTIC_WORDS: &[&str] = &[
    "unknown",
    "not exist",
    "no such",
    "quota",
    "full",
    "rejected",
    "refused",
    "denied",
    "blocked",
    "disabled",
    "invalid",
    "unavailable",
    "error",
    "failed",
    "expired",
    "not found",
    "doesn't have",
    "no mailbox",
    "spam",
    "policy",
    "said:",
    "reason:",
    "storage",
    "delayed",
    "died",
    "timeout",
    "exceeded",
    "could not",
    "cannot",
    "can't",
    "unable",
    "timed out",
    "too many",
    "over quota",
];

/// Local parts that are never the failed reader: the report's own senders.
const SYSTEM_LOCALS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "mail-daemon",
    "noreply",
    "no-reply",
];

/// True when the message claims to be a bounce: a null or daemon sender, a bounce subject, or
/// a failure phrase in its text.
pub fn looks_like_bounce(from: &str, subject: &str, body: &str) -> bool {
    let from = lower(from);
    let subject = lower(subject);
    let daemon = [
        "mailer-daemon",
        "postmaster",
        "mail delivery",
        "mail administrator",
    ]
    .iter()
    .any(|d| from.contains(d));
    let bounce_subject = [
        "undeliver",
        "undelivered",
        "delivery status notification",
        "delivery failure",
        "delivery failed",
        "failure notice",
        "returned mail",
        "mail delivery failed",
        "could not send message",
        "non-delivery",
        "nondeliverable",
        "delivery notification",
        "mail system error",
        "delivery problem",
        "warning: could not send",
        "delivery delayed",
        "message not delivered",
        "mail could not be delivered",
        "bounce",
        "returned to sender",
    ]
    .iter()
    .any(|s| subject.contains(s));
    let body = lower(body);
    daemon || bounce_subject || FAILURE_PHRASES.iter().take(20).any(|p| body.contains(p))
}

/// True when the text says delivery is still being attempted.
pub fn is_delay_warning(subject: &str, body: &str) -> bool {
    let subject = lower(subject);
    let body = lower(body);
    (subject.contains("delay") || subject.contains("warning")) && !body.contains("permanent")
        || DELAY_PHRASES.iter().any(|p| body.contains(p)) && !body.contains("permanent error")
}

/// The report's own text, without the copy of the original message that follows it.
pub fn own_text(body: &str) -> String {
    let mut out = String::new();
    for (n, line) in body.lines().take(MAX_LINES).enumerate() {
        let l = lower(line);
        let marker = ORIGINAL_MARKERS.iter().any(|m| l.contains(m))
            && (l.contains("---")
                || l.contains("===")
                || l.contains("follow")
                || l.trim_end().ends_with(':'));
        let quoted_headers =
            n > 0 && (l.starts_with("received: ") || l.starts_with("return-path:"));
        if marker || quoted_headers {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The failed recipients a report's own text names, in order, without `exclude` (the
/// report's own addresses) and system mailboxes.
pub fn failed_recipients(text: &str, exclude: &[String]) -> Vec<Found> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Vec<Found> = Vec::new();
    let mut in_section = false;
    for (i, line) in lines.iter().enumerate() {
        let l = lower(line);
        if FAILURE_PHRASES.iter().any(|p| l.contains(p)) {
            in_section = true;
        }
        let Some(address) = address_of_line(line, in_section) else {
            continue;
        };
        let local = address.split('@').next().unwrap_or("").to_ascii_lowercase();
        if SYSTEM_LOCALS.contains(&local.as_str())
            || exclude.iter().any(|e| e.eq_ignore_ascii_case(&address))
            || found.iter().any(|f| {
                f.address
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&address))
            })
        {
            continue;
        }
        let diagnostic = diagnostic_near(&lines, i, &address);
        found.push(Found {
            address: Some(address),
            diagnostic,
        });
    }
    found
}

/// The address a line names as failed: one at the start of the line, or, inside the failure
/// section, one after "to" / "RCPT TO:" / "recipient".
fn address_of_line(line: &str, in_section: bool) -> Option<String> {
    let trimmed = line.trim_start().trim_start_matches(['<', '"', '\'', '`']);
    let first = trimmed
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("");
    // "user@host" alone, "user@host:", "<user@host>...", "'user@host' on <date>".
    if let Some(a) = addresses_in(first).into_iter().next() {
        return Some(a);
    }
    if !in_section {
        return None;
    }
    let l = lower(line);
    let naming = [
        "rcpt to",
        "delivered to",
        "deliver to",
        "recipient",
        "address:",
        "to:",
        "for ",
    ]
    .iter()
    .any(|k| l.contains(k));
    if naming {
        return addresses_in(line).into_iter().next();
    }
    None
}

/// The remote server's words about `address`: on its line after the address, or on the
/// next lines (up to the next address line), with indented continuation lines joined.
fn diagnostic_near(lines: &[&str], at: usize, address: &str) -> Option<String> {
    let own = lines.get(at).copied().unwrap_or("");
    let after_address = own
        .to_lowercase()
        .split_once(&address.to_lowercase())
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default();
    let rest = after_address.trim_start_matches(|c: char| ">\"':.`, ".contains(c));
    // Candidates: the rest of the address's line, then the lines below it, up to the next
    // address line. A line with a reply or status code beats one with only words.
    let mut candidates: Vec<(usize, String)> = Vec::new();
    if is_diagnostic(rest) {
        // Keep the original case: take the same tail from the line as written.
        let skip = own.chars().count().saturating_sub(rest.chars().count());
        candidates.push((at, own.chars().skip(skip).collect()));
    }
    for j in at + 1..(at + 1 + LOOKAHEAD).min(lines.len()) {
        let line = lines.get(j).copied().unwrap_or("");
        if address_of_line(line, false).is_some() {
            break;
        }
        if is_diagnostic(line) {
            candidates.push((j, line.to_owned()));
        }
    }
    let coded = |text: &str| find_reply_code(text).is_some() || find_status(text).is_some();
    candidates
        .iter()
        .find(|(_, text)| coded(text))
        .or_else(|| candidates.first())
        .map(|(j, text)| with_continuation(lines, *j, text))
}

fn with_continuation(lines: &[&str], at: usize, first: &str) -> String {
    let indent = |line: &str| line.chars().take_while(|c| c.is_whitespace()).count();
    let own_indent = lines.get(at).map_or(0, |l| indent(l));
    let mut text = first.trim().to_owned();
    for line in lines.iter().skip(at + 1).take(8) {
        // Continuation lines are indented deeper than the line they continue (Exim, Postfix)
        // or at least indented when that line is not.
        let continues = !line.trim().is_empty()
            && indent(line) > own_indent.min(indent(line).saturating_sub(1));
        if !continues || indent(line) < own_indent.max(1) || text.chars().count() > 400 {
            break;
        }
        text.push(' ');
        text.push_str(line.trim());
    }
    one_line(&text)
}

fn is_diagnostic(line: &str) -> bool {
    let l = lower(line.trim());
    if l.is_empty() {
        return false;
    }
    find_reply_code(&l).is_some()
        || find_status(&l).is_some()
        || DIAGNOSTIC_WORDS.iter().any(|w| l.contains(w))
}

/// The first line of the text that reads like a server's reply, for a report that names no
/// recipient.
pub fn any_diagnostic(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .find(|(_, l)| {
            let t = l.trim_start();
            find_reply_code(t).is_some_and(|c| t.starts_with(c.as_str()))
                || find_status(t).is_some()
        })
        .map(|(i, l)| with_continuation(&lines, i, l))
}
