use std::fmt;

/// The URL-safe name of an issue in the archive (`/issues/{slug}`), e.g. `2026-11-27`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssueSlug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IssueSlugError {
    #[error("a slug cannot be empty")]
    Empty,
    #[error("a slug is at most 100 characters long (this one has {0})")]
    TooLong(usize),
    #[error(
        "a slug may hold only lower-case ASCII letters, digits and '-' (found {0:?}); \
         for example \"2026-11-27\" or \"weekend-special\""
    )]
    BadCharacter(char),
    #[error("a slug cannot start or end with '-'")]
    EdgeDash,
}

impl IssueSlug {
    pub fn parse(s: &str) -> Result<Self, IssueSlugError> {
        if s.is_empty() {
            return Err(IssueSlugError::Empty);
        }
        if s.len() > 100 {
            return Err(IssueSlugError::TooLong(s.chars().count()));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(IssueSlugError::BadCharacter(c));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(IssueSlugError::EdgeDash);
        }
        Ok(Self(s.to_owned()))
    }

    /// The default slug of an issue: its date, `YYYY-MM-DD`.
    pub fn from_date(date: time::Date) -> Self {
        Self(format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssueSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dates_and_words() {
        assert_eq!(
            IssueSlug::parse("2026-11-27").unwrap().as_str(),
            "2026-11-27"
        );
        assert!(IssueSlug::parse("weekend-special-2").is_ok());
    }

    #[test]
    fn rejects_what_would_break_a_url() {
        assert_eq!(IssueSlug::parse(""), Err(IssueSlugError::Empty));
        assert_eq!(
            IssueSlug::parse("a/b"),
            Err(IssueSlugError::BadCharacter('/'))
        );
        assert_eq!(
            IssueSlug::parse("Caps"),
            Err(IssueSlugError::BadCharacter('C'))
        );
        assert_eq!(IssueSlug::parse("-x"), Err(IssueSlugError::EdgeDash));
        assert_eq!(
            IssueSlug::parse(&"a".repeat(101)),
            Err(IssueSlugError::TooLong(101))
        );
    }

    #[test]
    fn from_date_pads() {
        let d = time::Date::from_calendar_date(2026, time::Month::March, 5).unwrap();
        assert_eq!(IssueSlug::from_date(d).as_str(), "2026-03-05");
    }
}
