//! The one classifier of a failed delivery: a bounce report's recipient and an SMTP reply
//! alike (docs/architecture.md decision 27).
//!
//! Order: the enhanced status code (RFC 3463) decides where it is specific; a generic one
//! (`X.0.0`, `5.1.0`), or none, leaves it to the text, then to the reply code. On ambiguous
//! evidence the answer never suppresses the subscriber: an unexplained permanent failure is
//! `Refused`, not `Hard`.

use super::Class;
use super::text::{find_reply_code, find_status, lower};

/// Texts that say the address itself is gone. Strong enough to overrule a 5.7.x status.
const NO_SUCH_USER: &[&str] = &[
    "user unknown",
    "addressee unknown",
    "unknown user",
    "no such user",
    "no such recipient",
    "no such mailbox",
    "no such address",
    "unknown recipient",
    "recipient unknown",
    "recipient not found",
    "user not found",
    "mailbox not found",
    "address not found",
    "does not exist",
    "doesn't exist",
    "not exist",
    "invalid recipient",
    "invalid mailbox",
    "no mailbox here",
    "no mailbox by that name",
    "user doesn't have a",
    "account has been disabled",
    "account is disabled",
    "account disabled",
    "mailbox disabled",
    "mailbox is disabled",
    "account that you tried to reach is disabled",
    "no longer available",
    "no longer active",
    "not a valid mailbox",
    "unrouteable address",
    "unknown local part",
    "recipnotfound",
    "no such domain",
    "domain not found",
    "host not found",
    "host or domain name not found",
    "unknown domain",
    "address does not accept mail",
    "domain does not accept mail",
    "does not accept mail",
];

/// Weaker signs of a gone address: trusted only where nothing else points elsewhere.
const MAYBE_NO_SUCH_USER: &[&str] = &[
    "mailbox unavailable",
    "address rejected",
    "recipient rejected",
    "mailbox is unavailable",
    "invalid address",
    "bad destination",
    "has moved",
    "not accepting mail",
    "no longer",
];

/// Texts of a full mailbox or a temporary condition.
const TEMPORARY: &[&str] = &[
    "quota",
    "mailbox full",
    "mailbox is full",
    "mailfolder is full",
    "storage",
    "mailbox size limit",
    "greylist",
    "graylist",
    "try again later",
    "please try again",
    "temporarily",
    "temporary",
    "deferred",
    "expired",
    "too long in queue",
    "delivery time expired",
    "retry timeout",
    "could not be delivered within",
];

/// Texts of a refused *message* or *sender*: the reader's address is not the problem.
const REFUSED: &[&str] = &[
    "spam",
    "blocked",
    "blacklist",
    "blocklist",
    "block list",
    "denylist",
    "spamhaus",
    "barracuda",
    "dnsbl",
    "rbl",
    "listed at",
    "listed in",
    "spf",
    "dkim",
    "dmarc",
    "policy",
    "rate limit",
    "rate-limit",
    "ratelimit",
    "too many",
    "unusual rate",
    "tls required",
    "requires tls",
    "must issue a starttls",
    "encryption required",
    "reputation",
    "unsolicited",
    "junk",
    "content rejected",
    "message rejected",
    "virus",
    "malware",
    "phish",
    "authentication",
    "not authorized",
    "unauthenticated",
    "relay access denied",
    "relaying denied",
    "relay not permitted",
    "sender address rejected",
    "sender denied",
    "sender rejected",
    "message too big",
    "message size exceeds",
    "too large",
];

fn any(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| text.contains(n))
}

/// What the text alone says, if anything.
fn by_text(text: &str) -> Option<Class> {
    let gone = any(text, NO_SUCH_USER);
    let refused = any(text, REFUSED);
    let temporary = any(text, TEMPORARY);
    let maybe_gone = any(text, MAYBE_NO_SUCH_USER);
    match (gone, refused, temporary) {
        (true, false, _) => Some(Class::Hard),
        // Greylisting and full mailboxes mention no sender or content problem.
        (_, false, true) => Some(Class::Soft),
        (_, true, _) => Some(Class::Refused),
        _ if maybe_gone => Some(Class::Hard),
        _ => None,
    }
}

/// Classifies one failed delivery from its enhanced status code, SMTP reply code and text
/// (diagnostic or reply). Missing parts are looked for in `text`.
pub fn classify(status: Option<&str>, reply_code: Option<&str>, text: &str) -> Class {
    let text = lower(text);
    let found_status = find_status(&text);
    let status = match status {
        // A generic status ("5.0.0", "5.1.0") yields to a specific one in the text.
        Some(s)
            if s.ends_with(".0") && found_status.as_deref().is_some_and(|f| !f.ends_with(".0")) =>
        {
            found_status
        }
        Some(s) => Some(s.to_owned()),
        None => found_status,
    };
    let code = reply_code
        .map(str::to_owned)
        .or_else(|| find_reply_code(&text));
    decide(status.as_deref(), code.as_deref(), &text)
}

/// Classifies an SMTP reply during the conversation. Unlike a report's diagnostic, a reply
/// carries its enhanced status code as its first word or not at all (RFC 2034 §4): a code
/// further in the text is not looked for.
pub fn classify_reply(status: Option<&str>, reply_code: &str, text: &str) -> Class {
    decide(status, Some(reply_code), &lower(text))
}

/// The decision from a status, a reply code and the lower-cased text.
fn decide(status: Option<&str>, code: Option<&str>, text: &str) -> Class {
    if let Some(class) = status.and_then(|s| by_status(s, text)) {
        return class;
    }
    if let Some(class) = by_text(text) {
        return class;
    }
    match code.and_then(|c| c.chars().next()) {
        Some('4') => Class::Soft,
        Some('2') => Class::Ignore,
        // A permanent failure that says nothing about why: never suppress on that (decision 27).
        _ => match status.and_then(|s| s.chars().next()) {
            Some('4') => Class::Soft,
            Some('2') => Class::Ignore,
            _ => Class::Refused,
        },
    }
}

/// The RFC 3463 table. `None`: the code is too generic; the text decides.
fn by_status(status: &str, text: &str) -> Option<Class> {
    let mut parts = status.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    match class {
        // 2.X.X: success (a DSN's "delivered"/"relayed").
        "2" => return Some(Class::Ignore),
        // 4.X.X: persistent transient failure. A temporary policy refusal (rate limiting,
        // a blocklisted IP) is still the message's problem, not the reader's.
        "4" => {
            return Some(match by_text(text) {
                Some(Class::Refused) => Class::Refused,
                _ => Class::Soft,
            });
        }
        "5" => {}
        _ => return None,
    }
    let refused_text = any(text, REFUSED);
    let gone_text = any(text, NO_SUCH_USER) || any(text, MAYBE_NO_SUCH_USER);
    // A "gone" code whose text speaks only of spam or policy: refused (never suppress on
    // contradictory evidence).
    let hard = || {
        if refused_text && !gone_text {
            Class::Refused
        } else {
            Class::Hard
        }
    };
    Some(match (subject, detail) {
        // X.1.1 bad destination mailbox address, X.1.2 bad destination system (no such
        // domain), X.1.3 bad destination mailbox address syntax, X.1.6 destination mailbox
        // has moved, X.1.10 (RFC 7505) the domain accepts no mail (null MX).
        ("1", "1" | "2" | "3" | "6" | "10") => hard(),
        // X.2.1 mailbox disabled, not accepting messages.
        ("2", "1") => hard(),
        // X.2.2 mailbox full: it may be emptied.
        ("2", "2") => Class::Soft,
        // X.2.3 message length exceeds administrative limit; X.2.4 list expansion problem.
        ("2", "3" | "4") => Class::Refused,
        // X.1.7 / X.1.8 bad sender's mailbox / system address: our sender, not the reader.
        ("1", "7" | "8") => Class::Refused,
        // X.3.1 mail system full.
        ("3", "1") => Class::Soft,
        // X.3.4 message too big for system; X.3.x other mail-system conditions.
        ("3", "4") => Class::Refused,
        // X.4.7 delivery time expired: the receiver never answered for good.
        ("4", "7") => Class::Soft,
        // X.4.4 unable to route: the domain has no mail host.
        ("4", "4") => hard(),
        // X.4.x other network and routing trouble: transient in nature unless the text says
        // the address is gone (Office 365 answers 5.4.1 for an unknown recipient).
        ("4", _) => by_text(text)
            .filter(|c| *c != Class::Refused)
            .unwrap_or(Class::Soft),
        // X.5.x protocol, X.6.x content: the message, not the reader, unless the text says
        // plainly that the user is unknown.
        ("5" | "6", _) => {
            if any(text, NO_SUCH_USER) {
                Class::Hard
            } else {
                Class::Refused
            }
        }
        // X.7.x security or policy: refused, unless the text says the user is unknown (some
        // servers answer 5.7.1 "recipient rejected" for a missing mailbox).
        ("7", _) => {
            if any(text, NO_SUCH_USER) && !refused_words_beyond_policy(text) {
                Class::Hard
            } else {
                Class::Refused
            }
        }
        // X.0.0, X.1.0, X.2.0, X.3.0 and the rest: generic; the text decides.
        _ => return None,
    })
}

/// Under a 5.7.x code, "policy" is the code's own word; any other refusal word wins.
fn refused_words_beyond_policy(text: &str) -> bool {
    REFUSED
        .iter()
        .filter(|w| **w != "policy")
        .any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: Option<&str>, code: Option<&str>, text: &str) -> Class {
        classify(status, code, text)
    }

    #[test]
    fn table() {
        assert_eq!(c(Some("5.1.1"), Some("550"), "user unknown"), Class::Hard);
        assert_eq!(c(Some("5.1.10"), None, ""), Class::Hard);
        assert_eq!(c(Some("5.2.1"), None, "mailbox disabled"), Class::Hard);
        assert_eq!(c(Some("5.2.2"), None, "mailbox full"), Class::Soft);
        assert_eq!(c(Some("4.2.2"), None, "over quota"), Class::Soft);
        assert_eq!(c(Some("4.4.7"), None, "expired"), Class::Soft);
        assert_eq!(c(Some("5.4.7"), None, ""), Class::Soft);
        assert_eq!(
            c(Some("5.7.1"), Some("550"), "message rejected as spam"),
            Class::Refused
        );
        assert_eq!(
            c(Some("5.7.1"), Some("550"), "recipient unknown"),
            Class::Hard
        );
        assert_eq!(
            c(Some("5.7.26"), None, "unauthenticated email, DMARC"),
            Class::Refused
        );
        assert_eq!(c(Some("5.3.4"), None, "message too big"), Class::Refused);
        assert_eq!(
            c(Some("4.7.1"), None, "greylisted, try again later"),
            Class::Soft
        );
        assert_eq!(
            c(
                Some("4.7.0"),
                Some("421"),
                "unusual rate of unsolicited mail"
            ),
            Class::Refused
        );
        assert_eq!(
            c(
                Some("5.4.1"),
                None,
                "Recipient address rejected: Access denied"
            ),
            Class::Hard
        );
    }

    #[test]
    fn generic_status_yields_to_text() {
        assert_eq!(
            c(Some("5.0.0"), None, "550 5.1.1 user unknown"),
            Class::Hard
        );
        assert_eq!(
            c(Some("5.0.0"), None, "smtp; 552 mailbox full"),
            Class::Soft
        );
        assert_eq!(
            c(Some("5.0.0"), None, "blocked by spamhaus"),
            Class::Refused
        );
    }

    #[test]
    fn ambiguous_permanent_failure_never_suppresses() {
        assert_eq!(c(Some("5.0.0"), Some("550"), "rejected"), Class::Refused);
        assert_eq!(c(None, Some("550"), "go away"), Class::Refused);
        assert_eq!(c(None, None, ""), Class::Refused);
        assert_eq!(c(None, Some("451"), "local error"), Class::Soft);
    }

    #[test]
    fn text_only() {
        assert_eq!(
            c(None, None, "sorry, no mailbox here by that name. (#5.1.1)"),
            Class::Hard
        );
        assert_eq!(
            c(None, None, "This user doesn't have a yahoo.com account"),
            Class::Hard
        );
        assert_eq!(c(None, Some("552"), "Mailbox quota exceeded"), Class::Soft);
        assert_eq!(
            c(
                None,
                Some("550"),
                "Client host blocked using zen.spamhaus.org"
            ),
            Class::Refused
        );
    }
}
