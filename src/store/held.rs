//! A held sign-up as the inbox stores it: the request whole, as JSON, and parsed back as a
//! fresh one would be (docs/architecture.md decision 40).

use uuid::Uuid;

use crate::domain::{SubscriberEmail, SubscriberName, TimeZoneName, TokenHash};
use crate::store::types::{NewConfirmation, SubscribeRequest};

pub(super) fn encode(r: &SubscribeRequest) -> serde_json::Value {
    serde_json::json!({
        "id": r.new_id,
        "uh": hex::encode(r.new_unsubscribe_hash.0),
        "email": r.email.as_str(),
        "eh": hex::encode(r.email_hash),
        "src": r.source.as_str(),
        "name": r.name.as_ref().map(|n| n.as_str()),
        "tz": r.time_zone.as_ref().map(|z| z.as_str()),
        "cid": r.confirmation.id,
        "ch": hex::encode(r.confirmation.hash.0),
        "exp": r.confirmation.expires_at,
        "mid": r.confirmation_message,
        "resend": r.resend_after_ms,
        "bounced_ok": r.allow_bounced,
        "now": r.now,
    })
}

#[derive(serde::Deserialize)]
struct Stored {
    id: Uuid,
    uh: String,
    email: String,
    eh: String,
    src: String,
    name: Option<String>,
    tz: Option<String>,
    cid: Uuid,
    ch: String,
    exp: i64,
    mid: Uuid,
    resend: i64,
    bounced_ok: bool,
    now: i64,
}

/// A held request, parsed again as a fresh one would be.
pub(super) fn decode(text: &str) -> std::result::Result<SubscribeRequest, String> {
    let s: Stored = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let hash = |field: &str, hex_text: &str| -> std::result::Result<[u8; 32], String> {
        let bytes = hex::decode(hex_text).map_err(|e| format!("{field}: {e}"))?;
        bytes
            .try_into()
            .map_err(|_| format!("{field}: not 32 bytes"))
    };
    Ok(SubscribeRequest {
        new_id: s.id,
        new_unsubscribe_hash: TokenHash(hash("uh", &s.uh)?),
        email: SubscriberEmail::parse(&s.email).map_err(|e| e.to_string())?,
        email_hash: hash("eh", &s.eh)?,
        source: crate::store::Source::parse(&s.src)
            .ok_or_else(|| format!("src: unknown source {:?}", s.src))?,
        name: match s.name {
            Some(n) => SubscriberName::parse_optional(&n).map_err(|e| e.to_string())?,
            None => None,
        },
        time_zone: s
            .tz
            .map(|z| TimeZoneName::parse(&z))
            .transpose()
            .map_err(|e| e.to_string())?,
        confirmation: NewConfirmation {
            id: s.cid,
            hash: TokenHash(hash("ch", &s.ch)?),
            expires_at: s.exp,
        },
        confirmation_message: s.mid,
        resend_after_ms: s.resend,
        allow_bounced: s.bounced_ok,
        now: s.now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request with every optional field filled.
    fn request() -> SubscribeRequest {
        SubscribeRequest {
            new_id: Uuid::now_v7(),
            new_unsubscribe_hash: TokenHash([1; 32]),
            email: SubscriberEmail::parse("Ada@Example.com").expect("address"),
            email_hash: [2; 32],
            source: crate::store::Source::Form,
            name: SubscriberName::parse_optional("Ada \"Countess\" Lovelace").expect("name"),
            time_zone: Some(TimeZoneName::parse("Europe/Paris").expect("zone")),
            confirmation: NewConfirmation {
                id: Uuid::new_v4(),
                hash: TokenHash([3; 32]),
                expires_at: 1_000,
            },
            confirmation_message: Uuid::new_v4(),
            resend_after_ms: 60_000,
            allow_bounced: true,
            now: 500,
        }
    }

    #[test]
    fn a_held_request_reads_back_as_it_was_made() {
        let r = request();
        let back = decode(&encode(&r).to_string()).expect("reads back");
        // Every field is encoded: equal encodings are equal requests.
        assert_eq!(encode(&back), encode(&r));
        assert_eq!(back.email.as_str(), "Ada@example.com");
        assert_eq!(back.confirmation.hash.0, [3; 32]);
    }

    #[test]
    fn a_row_that_is_not_a_sign_up_says_what_is_wrong() {
        let mut v = encode(&request());
        v["ch"] = serde_json::json!("abcd");
        assert_eq!(
            decode(&v.to_string()).err().as_deref(),
            Some("ch: not 32 bytes")
        );
        assert!(decode("{}").is_err());
    }
}
