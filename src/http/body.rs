//! Reading a sign-up from a form or JSON body, strictly: each field at most once, each value
//! valid UTF-8 after decoding, each JSON value a string. The one exception is `time_zone`,
//! which the page's script fills from the browser: whatever is wrong with it (sent twice, not
//! UTF-8, not a string) makes it absent, never an error the visitor sees.

use std::fmt;

use axum::http::{HeaderMap, header};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

/// What the body says it is, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Form,
    Json,
    /// Another type, or a charset other than UTF-8.
    Unsupported,
}

impl Kind {
    pub fn of(headers: &HeaderMap) -> Self {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut parts = content_type.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let charset = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
        if charset
            .as_deref()
            .is_some_and(|c| c != "utf-8" && c != "utf8")
        {
            return Self::Unsupported;
        }
        match essence.as_str() {
            "application/x-www-form-urlencoded" => Self::Form,
            "application/json" => Self::Json,
            _ => Self::Unsupported,
        }
    }
}

/// The fields of a sign-up, before validation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SignupFields {
    pub email: String,
    pub name: String,
    /// The honeypot: people leave it empty; bots fill it.
    pub website: String,
    /// The browser's IANA zone, as the page's script found it; not yet checked. `None`:
    /// absent, or unusable as sent.
    pub time_zone: Option<String>,
    /// When our form was served, signed (`form_stamp`); not yet checked. `None`: absent, or
    /// sent more than once.
    pub form_started: Option<String>,
}

/// The fields read, in the order of `SignupFields`.
const FIELDS: [&str; 5] = ["email", "name", "website", "time_zone", FORM_STARTED_FIELD];
/// The indexes in `FIELDS` of the fields whose problems are not errors (judged later).
const TIME_ZONE: usize = 3;
const FORM_STARTED: usize = 4;
/// The form's hidden field with its signed start time.
pub const FORM_STARTED_FIELD: &str = "form_started";

impl SignupFields {
    fn slot(&mut self, field: usize) -> Option<&mut String> {
        match field {
            0 => Some(&mut self.email),
            1 => Some(&mut self.name),
            2 => Some(&mut self.website),
            _ => None,
        }
    }

    /// Sets field `i`; `None` for a value that is not valid as sent. A problem with a strict
    /// field is returned; one with `time_zone` leaves it absent.
    fn set(
        &mut self,
        i: usize,
        value: Option<String>,
        repeated: bool,
        reason: &'static str,
    ) -> Result<(), BodyError> {
        if i == TIME_ZONE {
            self.time_zone = value.filter(|_| !repeated);
            return Ok(());
        }
        if i == FORM_STARTED {
            self.form_started = value.filter(|_| !repeated);
            return Ok(());
        }
        let field = FIELDS.get(i).copied();
        let reason = if repeated { TWICE } else { reason };
        match (value, self.slot(i)) {
            (Some(value), Some(slot)) if !repeated => {
                *slot = value;
                Ok(())
            }
            _ => Err(BodyError::BadField { field, reason }),
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("send the form as application/x-www-form-urlencoded (UTF-8) or JSON")]
    UnsupportedType,
    #[error("the body is not valid JSON: {0}")]
    BadJson(String),
    /// `field` is `None` when the body as a whole has the wrong shape.
    #[error("{}", field_message(*field, reason))]
    BadField {
        field: Option<&'static str>,
        reason: &'static str,
    },
}

fn field_message(field: Option<&str>, reason: &str) -> String {
    match field {
        Some(field) => format!("the field \"{field}\" {reason}"),
        None => reason.to_owned(),
    }
}

const TWICE: &str = "was sent more than once; send it once";
const NOT_UTF8: &str = "is not valid UTF-8";
const NOT_A_STRING: &str = "must be a string";
const NOT_AN_OBJECT: &str = "send a JSON object: {\"email\": …, \"name\": …}";

pub fn parse_signup(kind: Kind, body: &[u8]) -> Result<SignupFields, BodyError> {
    match kind {
        Kind::Form => parse_form(body),
        Kind::Json => parse_json(body),
        Kind::Unsupported => Err(BodyError::UnsupportedType),
    }
}

fn parse_form(body: &[u8]) -> Result<SignupFields, BodyError> {
    let mut fields = SignupFields::default();
    let mut seen = [false; FIELDS.len()];
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let key = percent_decode(halves.next().unwrap_or_default());
        let Some(i) = FIELDS.iter().position(|f| f.as_bytes() == key) else {
            continue;
        };
        let repeated = seen.get_mut(i).is_some_and(|s| std::mem::replace(s, true));
        // Each value is checked once decoded: an invalid byte sent raw or as %XX is refused,
        // and a correctly encoded U+FFFD is a character like any other.
        let value = String::from_utf8(percent_decode(halves.next().unwrap_or_default())).ok();
        fields.set(i, value, repeated, NOT_UTF8)?;
    }
    Ok(fields)
}

/// application/x-www-form-urlencoded decoding to bytes: `+` is a space and `%XY` a byte; a `%`
/// without two hex digits after it stays as it is (as in the WHATWG URL standard).
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match (b, hex(input.get(i + 1)), hex(input.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                out.extend(u8::try_from(high * 16 + low).ok());
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn parse_json(body: &[u8]) -> Result<SignupFields, BodyError> {
    match serde_json::from_slice::<JsonSignup>(body) {
        Ok(JsonSignup(result)) => result,
        // The only data error left is a body that is not an object.
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(BodyError::BadField {
            field: None,
            reason: NOT_AN_OBJECT,
        }),
        Err(e) => Err(BodyError::BadJson(e.to_string())),
    }
}

/// A JSON object read key by key, so that a repeated key is seen (a map would keep the last).
/// Problems with the fields are kept, not raised, so the rest of the body is still checked for
/// syntax: a body that is not JSON is a 400, whatever its fields.
struct JsonSignup(Result<SignupFields, BodyError>);

impl<'de> Deserialize<'de> for JsonSignup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(JsonSignupVisitor)
    }
}

struct JsonSignupVisitor;

impl<'de> Visitor<'de> for JsonSignupVisitor {
    type Value = JsonSignup;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonSignup, A::Error> {
        let mut fields = SignupFields::default();
        let mut seen = [false; FIELDS.len()];
        let mut problem = None;
        while let Some(key) = map.next_key::<String>()? {
            let Some(i) = FIELDS.iter().position(|f| *f == key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let value = map.next_value::<serde_json::Value>()?;
            let repeated = seen.get_mut(i).is_some_and(|s| std::mem::replace(s, true));
            let value = match value {
                // null is an absent field: it keeps the default.
                serde_json::Value::Null if !repeated => continue,
                serde_json::Value::String(s) => Some(s),
                _ => None,
            };
            if let Err(e) = fields.set(i, value, repeated, NOT_A_STRING) {
                problem.get_or_insert(e);
            }
        }
        Ok(JsonSignup(match problem {
            Some(problem) => Err(problem),
            None => Ok(fields),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_type(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        h
    }

    fn form(body: &[u8]) -> Result<SignupFields, BodyError> {
        parse_signup(Kind::Form, body)
    }

    fn json(body: &str) -> Result<SignupFields, BodyError> {
        parse_signup(Kind::Json, body.as_bytes())
    }

    fn bad(field: Option<&'static str>, reason: &'static str) -> Result<SignupFields, BodyError> {
        Err(BodyError::BadField { field, reason })
    }

    #[test]
    fn forms_and_json_parse_to_the_same_fields() {
        let expected = SignupFields {
            email: "a@example.com".into(),
            name: "Ada L".into(),
            website: String::new(),
            time_zone: None,
            form_started: Some("123.abc".into()),
        };
        assert_eq!(
            form(b"email=a%40example.com&name=Ada+L&form_started=123.abc"),
            Ok(expected)
        );
        let expected = SignupFields {
            email: "a@example.com".into(),
            name: "Ada L".into(),
            website: String::new(),
            time_zone: None,
            form_started: None,
        };
        assert_eq!(
            json(r#"{"email":"a@example.com","name":"Ada L","other":[1,{"x":2}]}"#),
            Ok(expected)
        );
        assert_eq!(
            json(r#"{"email":"a@example.com","name":null}"#).map(|f| f.name),
            Ok("".into())
        );
    }

    #[test]
    fn the_kind_comes_from_the_content_type_and_its_charset() {
        for (ct, kind) in [
            ("application/x-www-form-urlencoded", Kind::Form),
            ("Application/JSON; charset=\"UTF-8\"", Kind::Json),
            ("application/json; charset=utf8", Kind::Json),
            (
                "application/x-www-form-urlencoded; charset=latin1",
                Kind::Unsupported,
            ),
            ("text/plain", Kind::Unsupported),
        ] {
            assert_eq!(Kind::of(&with_type(ct)), kind, "{ct}");
        }
        assert_eq!(Kind::of(&HeaderMap::new()), Kind::Unsupported);
    }

    #[test]
    fn each_decoded_form_value_must_be_utf8() {
        // Raw bytes that are not UTF-8: refused (they used to become U+FFFD and be stored).
        assert_eq!(
            form(b"email=a%40example.com&name=Ada\xff\xfe"),
            bad(Some("name"), NOT_UTF8)
        );
        // The same bytes percent-encoded: refused too.
        assert_eq!(
            form(b"email=%FF%FE%40example.com"),
            bad(Some("email"), NOT_UTF8)
        );
        // U+FFFD correctly encoded is a character like any other (it used to be refused).
        assert_eq!(
            form(b"email=a%40example.com&name=Ada%EF%BF%BD").map(|f| f.name),
            Ok("Ada\u{FFFD}".into())
        );
        // Raw UTF-8 is fine; a stray % stays; unknown fields are ignored, even when not UTF-8.
        assert_eq!(
            form("email=a%40example.com&name=J%C3%B6rg+100%+sure&x=%FF".as_bytes()).map(|f| f.name),
            Ok("Jörg 100% sure".into())
        );
        assert_eq!(
            form("name=Zoë".as_bytes()).map(|f| f.name),
            Ok("Zoë".into())
        );
    }

    #[test]
    fn a_field_sent_twice_is_refused_in_forms_and_json() {
        assert_eq!(form(b"email=a&email=b"), bad(Some("email"), TWICE));
        assert_eq!(form(b"email=a&%65mail=b"), bad(Some("email"), TWICE));
        // JSON used to keep the last value and store b@example.com.
        assert_eq!(
            json(r#"{"email":"a@example.com","email":"b@example.com"}"#),
            bad(Some("email"), TWICE)
        );
        assert_eq!(
            json(r#"{"name":"a","email":"x","name":null}"#),
            bad(Some("name"), TWICE)
        );
        assert_eq!(
            json(r#"{"email":"a@example.com","x":1,"x":2}"#).map(|f| f.email),
            Ok("a@example.com".into())
        );
    }

    #[test]
    fn json_of_the_wrong_shape_names_the_field() {
        assert_eq!(json(r#"{"email": 42}"#), bad(Some("email"), NOT_A_STRING));
        assert_eq!(
            json(r#"{"email":"a@example.com","website":["x"]}"#),
            bad(Some("website"), NOT_A_STRING)
        );
        assert_eq!(json(r#"["a@example.com"]"#), bad(None, NOT_AN_OBJECT));
        assert_eq!(json("42"), bad(None, NOT_AN_OBJECT));
        // Broken syntax is a 400 even after a field problem.
        assert!(matches!(
            json(r#"{"email": 42, "#),
            Err(BodyError::BadJson(_))
        ));
        assert!(matches!(
            json(r#"{"email":"a"} x"#),
            Err(BodyError::BadJson(_))
        ));
        assert_eq!(
            BodyError::BadField {
                field: Some("email"),
                reason: NOT_A_STRING
            }
            .to_string(),
            "the field \"email\" must be a string"
        );
    }

    #[test]
    fn the_time_zone_is_read_and_never_an_error() {
        let zone = |r: Result<SignupFields, BodyError>| r.map(|f| f.time_zone);
        assert_eq!(
            zone(form(b"email=a%40example.com&time_zone=Europe%2FBerlin")),
            Ok(Some("Europe/Berlin".into()))
        );
        assert_eq!(
            zone(json(
                r#"{"email":"a@example.com","time_zone":"Asia/Tokyo"}"#
            )),
            Ok(Some("Asia/Tokyo".into()))
        );
        // Absent, empty, null: nothing, or nothing to check.
        assert_eq!(zone(form(b"email=a")), Ok(None));
        assert_eq!(zone(form(b"email=a&time_zone=")), Ok(Some(String::new())));
        assert_eq!(zone(json(r#"{"email":"a","time_zone":null}"#)), Ok(None));
        // What would be refused in another field only makes it absent.
        assert_eq!(zone(form(b"email=a&time_zone=%FF")), Ok(None));
        assert_eq!(
            zone(form(b"email=a&time_zone=UTC&time_zone=Asia%2FTokyo")),
            Ok(None)
        );
        assert_eq!(zone(json(r#"{"email":"a","time_zone":7}"#)), Ok(None));
        assert_eq!(
            zone(json(r#"{"email":"a","time_zone":"UTC","time_zone":"UTC"}"#)),
            Ok(None)
        );
        // The other fields stay strict beside it.
        assert_eq!(
            form(b"email=a&time_zone=UTC&email=b"),
            bad(Some("email"), TWICE)
        );
    }

    #[test]
    fn unsupported_types_are_refused() {
        assert_eq!(
            parse_signup(Kind::Unsupported, b"email=a"),
            Err(BodyError::UnsupportedType)
        );
    }
}
