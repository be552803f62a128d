use std::fmt;

/// A subscriber's display name: trimmed, at most 100 characters, no control characters
/// (so it can never inject a header line). HTML in it is harmless text: every page and
/// every message escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscriberNameError {
    #[error("the name is {0} characters long; the limit is 100")]
    TooLong(usize),
    #[error("the name contains a control character (such as a line break)")]
    ControlCharacter,
}

impl SubscriberName {
    /// `Ok(None)` for an empty or blank name: a name is optional.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, SubscriberNameError> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.chars().any(char::is_control) {
            return Err(SubscriberNameError::ControlCharacter);
        }
        let n = s.chars().count();
        if n > 100 {
            return Err(SubscriberNameError::TooLong(n));
        }
        Ok(Some(Self(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubscriberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_optional_and_trimmed() {
        assert_eq!(SubscriberName::parse_optional("  "), Ok(None));
        assert_eq!(
            SubscriberName::parse_optional(" Ada ")
                .unwrap()
                .unwrap()
                .as_str(),
            "Ada"
        );
        assert_eq!(
            SubscriberName::parse_optional("<b>Ada</b>")
                .unwrap()
                .unwrap()
                .as_str(),
            "<b>Ada</b>"
        );
    }

    #[test]
    fn line_breaks_and_huge_names_are_rejected() {
        assert_eq!(
            SubscriberName::parse_optional("Ada\r\nBcc: x@example.com"),
            Err(SubscriberNameError::ControlCharacter)
        );
        assert_eq!(
            SubscriberName::parse_optional(&"x".repeat(101)),
            Err(SubscriberNameError::TooLong(101))
        );
    }
}
