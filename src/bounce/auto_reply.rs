//! Automatic replies (out of office, vacation, "I changed my address"): recognised so that
//! ingest ignores them. They are judged by their headers (RFC 3834 `Auto-Submitted`, the
//! common `X-Autoreply`/`X-Autorespond`, `Precedence: auto_reply`) and, failing that, by
//! their subject.

/// Subjects of auto-replies, lower-case prefixes (after any "Re:" / "AW:" is stripped).
const SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "auto:",
    "auto response",
    "autoresponse",
    "vacation",
    "away from",
    "abwesenheitsnotiz",
    "réponse automatique",
    "respuesta automática",
    "risposta automatica",
    "i am out",
    "i'm out",
    "on leave",
    "on holiday",
];

/// True when the top-level headers say this is an automatic reply.
/// `fields`: lower-case header names with their values.
pub fn is_auto_reply(fields: &[(String, String)], subject: &str) -> bool {
    let header = |name: &'static str| {
        fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    if header("auto-submitted").any(|v| v.starts_with("auto-replied")) {
        return true;
    }
    if header("x-autoreply").next().is_some()
        || header("x-autorespond").next().is_some()
        || header("x-autoresponder").next().is_some()
        || header("x-auto-reply").next().is_some()
    {
        return true;
    }
    if header("precedence").any(|v| v.contains("auto_reply")) {
        return true;
    }
    let subject = subject.trim().to_lowercase();
    let mut s = subject.as_str();
    for prefix in ["re:", "aw:", "sv:", "fw:", "fwd:"] {
        s = s.strip_prefix(prefix).unwrap_or(s).trim_start();
    }
    SUBJECTS.iter().any(|p| s.starts_with(p))
}
