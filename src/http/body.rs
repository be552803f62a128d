//! Reading a sign-up from a form or JSON body, strictly: one value per field, UTF-8 only.

use axum::http::{HeaderMap, header};

/// The fields of a sign-up, before validation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SignupFields {
    pub email: String,
    pub name: String,
    /// The honeypot: people leave it empty; bots fill it.
    pub website: String,
    pub json: bool,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("send the form as application/x-www-form-urlencoded (UTF-8) or JSON")]
    UnsupportedType,
    #[error("the body is not valid JSON: {0}")]
    BadJson(String),
    #[error("{0}")]
    BadField(String),
}

pub fn parse_signup(headers: &HeaderMap, body: &[u8]) -> Result<SignupFields, BodyError> {
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
        return Err(BodyError::UnsupportedType);
    }
    match essence.as_str() {
        "application/x-www-form-urlencoded" => parse_form(body),
        "application/json" => parse_json(body),
        _ => Err(BodyError::UnsupportedType),
    }
}

fn parse_form(body: &[u8]) -> Result<SignupFields, BodyError> {
    let mut fields = SignupFields::default();
    let mut seen = [false; 3];
    for (key, value) in url::form_urlencoded::parse(body) {
        if value.contains('\u{FFFD}') && !String::from_utf8_lossy(body).contains('\u{FFFD}') {
            return Err(BodyError::BadField(format!(
                "the field {key:?} is not valid UTF-8"
            )));
        }
        let (slot, i) = match key.as_ref() {
            "email" => (&mut fields.email, 0),
            "name" => (&mut fields.name, 1),
            "website" => (&mut fields.website, 2),
            _ => continue,
        };
        if seen[i] {
            return Err(BodyError::BadField(format!("send the field {key:?} once")));
        }
        seen[i] = true;
        *slot = value.into_owned();
    }
    Ok(fields)
}

fn parse_json(body: &[u8]) -> Result<SignupFields, BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| BodyError::BadJson(e.to_string()))?;
    let object = value.as_object().ok_or_else(|| {
        BodyError::BadField("send a JSON object: {\"email\": …, \"name\": …}".into())
    })?;
    let text = |key: &str| -> Result<String, BodyError> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(BodyError::BadField(format!("\"{key}\" must be a string"))),
        }
    };
    Ok(SignupFields {
        email: text("email")?,
        name: text("name")?,
        website: text("website")?,
        json: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_type(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        h
    }

    #[test]
    fn forms_and_json_parse_to_the_same_fields() {
        let form = parse_signup(
            &with_type("application/x-www-form-urlencoded"),
            b"email=a%40example.com&name=Ada+L",
        )
        .unwrap();
        assert_eq!(
            (form.email.as_str(), form.name.as_str(), form.json),
            ("a@example.com", "Ada L", false)
        );
        let json = parse_signup(
            &with_type("application/json; charset=utf-8"),
            br#"{"email":"a@example.com","name":"Ada L"}"#,
        )
        .unwrap();
        assert_eq!(
            (json.email.as_str(), json.name.as_str(), json.json),
            ("a@example.com", "Ada L", true)
        );
    }

    #[test]
    fn strictness() {
        let form = with_type("application/x-www-form-urlencoded");
        assert!(matches!(
            parse_signup(&form, b"email=a&email=b"),
            Err(BodyError::BadField(_))
        ));
        assert!(matches!(
            parse_signup(&form, b"email=%FF%FE"),
            Err(BodyError::BadField(_))
        ));
        assert_eq!(
            parse_signup(&with_type("text/plain"), b"x"),
            Err(BodyError::UnsupportedType)
        );
        assert_eq!(
            parse_signup(
                &with_type("application/x-www-form-urlencoded; charset=latin1"),
                b"x"
            ),
            Err(BodyError::UnsupportedType)
        );
        assert!(matches!(
            parse_signup(&with_type("application/json"), b"{"),
            Err(BodyError::BadJson(_))
        ));
        assert!(matches!(
            parse_signup(&with_type("application/json"), b"[1]"),
            Err(BodyError::BadField(_))
        ));
        assert!(matches!(
            parse_signup(&with_type("application/json"), br#"{"email":5}"#),
            Err(BodyError::BadField(_))
        ));
        assert_eq!(
            parse_signup(&HeaderMap::new(), b"email=a"),
            Err(BodyError::UnsupportedType)
        );
    }
}
