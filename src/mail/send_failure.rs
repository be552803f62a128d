//! What an attempt to hand a message over came to (docs/architecture.md decision 4), told apart with
//! lettre's typed errors (`status()`, `is_transient()`, `is_permanent()`, the reply's own words
//! and enhanced status code) and the step of the SMTP dialogue that failed.

use std::error::Error as _;

use lettre::transport::smtp::Error as SmtpError;

/// A cause kept behind a failure: lettre's error or an I/O error.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The step of the SMTP dialogue an error came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The TCP connection, the greeting and EHLO.
    Connect,
    /// STARTTLS, or the handshake of implicit TLS.
    Tls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    /// The message itself and its final dot.
    Message,
}

impl Stage {
    /// Up to MAIL FROM a refusal is about us as a client of the relay, not about this message.
    fn is_session(self) -> bool {
        matches!(
            self,
            Stage::Connect | Stage::Tls | Stage::Auth | Stage::MailFrom
        )
    }

    fn command(self) -> &'static str {
        match self {
            Stage::Connect => "the greeting or EHLO",
            Stage::Tls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "the end of the message",
        }
    }
}

/// What an attempt to hand over a message came to.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// A 4xx reply to a recipient or the message, or the connection lost or silent in the
    /// middle of a message: try again later.
    #[error("{reply}")]
    Temporary {
        reply: String,
        #[source]
        source: Option<Cause>,
    },
    /// A 5xx reply to this recipient or this message: never retried. `no_such_user` when the
    /// bounce classifier (`bounce::classify`) calls it hard: the address is gone.
    #[error("{reply}")]
    Permanent { reply: String, no_such_user: bool },
    /// The relay cannot be used at all, whatever the message: nothing listens, TLS fails
    /// (an untrusted certificate), the login is refused, it does not speak SMTP, it answers
    /// the greeting, EHLO, AUTH or MAIL FROM with a 4xx or 5xx, says 421 (closing), or
    /// refuses a recipient because of our sender or relaying. Never counted against the
    /// reader: the row goes back to the queue and the worker backs off (queue/relay_health.rs).
    #[error("{reply}")]
    Relay {
        reply: String,
        #[source]
        source: Option<Cause>,
    },
    /// The relay asks us to slow down (Amazon SES's `454 Throttling failure`, `421 4.7.0 Try
    /// again later`, a `451 4.7.x` rate limit): not this recipient's fault and not a broken
    /// relay. The worker slows that relay (queue/pace.rs) and hands the row back unharmed.
    #[error("{reply}")]
    Throttled { reply: String },
}

impl SendFailure {
    /// A failure of lettre's at `stage` of a session with `peer` (`host:port`).
    pub fn classify(e: SmtpError, stage: Stage, peer: &str) -> Self {
        if let Some(code) = e.status() {
            // lettre keeps the reply's text (its lines joined) as the error's source.
            let words = e.source().map(ToString::to_string).unwrap_or_default();
            let reply = one_line(&format!("{code} {words}"));
            // Before any recipient, a refusal (4xx or 5xx) is about us as the relay's client;
            // so is 421 anywhere (the relay is closing the session) and a refusal of a
            // recipient that names our sender or relaying (Postfix checks the sender at RCPT).
            if stage != Stage::Tls && is_throttling(&code.to_string(), &words) {
                return SendFailure::Throttled {
                    reply: format!("{reply} (in reply to {})", stage.command()),
                };
            }
            let about_us = stage.is_session()
                || code.to_string() == "421"
                || (stage == Stage::RcptTo && refuses_us(&words));
            return if about_us {
                SendFailure::Relay {
                    reply: format!("{reply} (in reply to {})", stage.command()),
                    source: None,
                }
            } else if e.is_transient() {
                SendFailure::Temporary {
                    reply,
                    source: None,
                }
            } else {
                // The one classifier of bounces judges the reply too: only an address that is
                // gone bounces the reader; a refusal of the message (spam, policy) does not.
                let status = enhanced_status(&words);
                let class = crate::bounce::classify_reply(status, &code.to_string(), &words);
                SendFailure::Permanent {
                    no_such_user: class == crate::bounce::Class::Hard,
                    reply,
                }
            };
        }
        let what = match stage {
            Stage::Connect => format!("cannot open an SMTP session with {peer}"),
            Stage::Tls => format!("TLS with {peer} failed"),
            Stage::Auth => format!("logging in to {peer} failed"),
            other => format!("the session with {peer} broke at {}", other.command()),
        };
        let source = Some(Box::new(e) as Cause);
        if stage.is_session() {
            SendFailure::Relay {
                reply: what,
                source,
            }
        } else {
            // In the middle of a message lettre reports a hang-up and a garbled reply alike
            // (a response error): both are a session lost, to be tried again.
            SendFailure::Temporary {
                reply: what,
                source,
            }
        }
    }

    /// What is recorded as the delivery's last reply: the server's own words, or what failed
    /// followed by each of its causes once, on one line.
    pub fn reply(&self) -> String {
        let (reply, source) = match self {
            SendFailure::Temporary { reply, source } | SendFailure::Relay { reply, source } => {
                (reply, source.as_deref())
            }
            SendFailure::Permanent { reply, .. } | SendFailure::Throttled { reply } => {
                (reply, None)
            }
        };
        let mut parts = vec![reply.clone()];
        let mut cause: Option<&(dyn std::error::Error + 'static)> =
            source.map(|s| s as &(dyn std::error::Error + 'static));
        while let Some(c) = cause {
            let text = c.to_string();
            let next = c.source().map(|n| n.to_string());
            // lettre's messages end with their cause's ("Connection error: …"): keep each
            // layer's own words, and each once.
            let own = match next.as_deref().and_then(|n| text.strip_suffix(n)) {
                Some(head) => head.trim_end_matches(": ").to_owned(),
                None => text,
            };
            if !own.is_empty() && parts.last() != Some(&own) {
                parts.push(own);
            }
            cause = c.source();
        }
        one_line(&parts.join(": "))
    }
}

/// Whether a refusal at RCPT TO is about our sender or our right to relay, not about the
/// recipient: enhanced status X.1.7 or X.1.8 (RFC 3463: the sender's address), or the words
/// relays use for it.
fn refuses_us(words: &str) -> bool {
    let first = words.split_whitespace().next().unwrap_or_default();
    let sender_code = matches!(first.split_once('.'), Some((class, rest)) if matches!(class, "4" | "5") && matches!(rest, "1.7" | "1.8"));
    let text = words.to_ascii_lowercase();
    sender_code
        || [
            "relay access denied",
            "relaying denied",
            "relay not permitted",
            "not permitted to relay",
            "sender address rejected",
        ]
        .iter()
        .any(|phrase| text.contains(phrase))
}

/// Whether a reply asks us to send more slowly rather than refusing this message: any 454
/// outside STARTTLS (Amazon SES's "Throttling failure: Maximum sending rate exceeded"), a 421
/// or 451 with enhanced status 4.7.x (RFC 3463: "delivery not authorized" — in practice
/// rate limits: `421 4.7.0 Try again later`, Microsoft's `451 4.7.500 Server busy`), or a 4xx
/// that says so in words.
fn is_throttling(code: &str, words: &str) -> bool {
    let text = words.to_ascii_lowercase();
    let says_so = [
        "throttl",
        "rate limit",
        "sending rate",
        "too many messages",
        "slow down",
    ]
    .iter()
    .any(|phrase| text.contains(phrase));
    // 4.7.x is "not authorized": rate limits in practice, but greylisting too, which is
    // about one recipient and is retried as such.
    let policy =
        enhanced_status(words).is_some_and(|s| s.starts_with("4.7.")) && !text.contains("greylist");
    match code {
        "454" => true,
        "421" | "451" => policy || says_so,
        c if c.starts_with('4') => says_so,
        _ => false,
    }
}

/// The reply's enhanced status code (RFC 3463), its first word as RFC 2034 §4 puts it.
fn enhanced_status(words: &str) -> Option<&str> {
    let first = words.split_whitespace().next()?;
    let parts: Vec<&str> = first.split('.').collect();
    let numeric = |p: &str| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    (parts.len() == 3 && parts.iter().all(|p| numeric(p))).then_some(first)
}

/// Whitespace runs (line breaks too) become one space; at most 500 characters are kept.
pub fn one_line(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_of_our_sender_or_of_relaying_is_about_us() {
        assert!(refuses_us("5.7.1 <a@b.example>: Relay access denied"));
        assert!(refuses_us(
            "5.7.1 <news@example.com>: Sender address rejected: not logged in"
        ));
        assert!(refuses_us("5.1.7 Bad sender's mailbox address syntax"));
        assert!(refuses_us("4.1.8 Bad sender's system address"));
        assert!(!refuses_us(
            "5.1.1 <a@b.example>: Recipient address rejected"
        ));
        assert!(!refuses_us("5.7.1 Message refused by policy"));
        assert!(!refuses_us("5.1.17 unknown"));
    }

    #[test]
    fn replies_that_ask_us_to_slow_down_are_told_apart() {
        for (code, words) in [
            ("454", "Throttling failure: Maximum sending rate exceeded."),
            ("421", "4.7.0 Try again later, closing connection."),
            ("451", "4.7.500 Server busy. Please try again later."),
            ("450", "4.7.1 Rate limit exceeded for this sender"),
            ("452", "Too many messages in this session, slow down"),
        ] {
            assert!(is_throttling(code, words), "{code} {words}");
        }
        for (code, words) in [
            ("421", "Service not available, closing transmission channel"),
            ("451", "4.7.1 Greylisted, try again later"),
            ("451", "4.3.0 Temporary local problem"),
            ("450", "4.2.1 Mailbox busy"),
            ("550", "5.7.1 Rate limit exceeded"),
            ("452", "4.2.2 Mailbox full"),
        ] {
            assert!(!is_throttling(code, words), "{code} {words}");
        }
    }

    #[test]
    fn the_enhanced_status_is_the_first_word_only() {
        assert_eq!(enhanced_status("5.1.1 No such user"), Some("5.1.1"));
        assert_eq!(enhanced_status("5.1.10 null MX"), Some("5.1.10"));
        assert_eq!(enhanced_status("Mailbox 5.1.1 unknown"), None);
        assert_eq!(enhanced_status("5.1 not a code"), None);
        assert_eq!(enhanced_status("5.1.1000 too long"), None);
        assert_eq!(enhanced_status(""), None);
    }

    /// An error that, like lettre's, prints its cause after its own words.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match &self.1 {
                Some(inner) => write!(f, "{}: {inner}", self.0),
                None => f.write_str(self.0),
            }
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|l| l as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn nested_causes_that_print_their_causes_are_said_once() {
        let chain = Layer(
            "Connection error",
            Some(Box::new(Layer(
                "Connection error",
                Some(Box::new(Layer(
                    "invalid peer certificate: UnknownIssuer",
                    None,
                ))),
            ))),
        );
        let failure = SendFailure::Relay {
            reply: "TLS with relay.example.com:587 failed".into(),
            source: Some(Box::new(chain)),
        };
        assert_eq!(
            failure.reply(),
            "TLS with relay.example.com:587 failed: Connection error: invalid peer certificate: UnknownIssuer"
        );
    }

    #[test]
    fn the_recorded_reply_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let failure = SendFailure::Relay {
            reply: "cannot open an SMTP session with 127.0.0.1:1".into(),
            source: Some(Box::new(io)),
        };
        assert_eq!(
            failure.to_string(),
            "cannot open an SMTP session with 127.0.0.1:1"
        );
        assert_eq!(
            failure.reply(),
            "cannot open an SMTP session with 127.0.0.1:1: refused"
        );
    }
}
