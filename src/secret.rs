//! A value that may hold a password (database and SMTP URLs, the secret key). Its own module
//! because the configuration, the store and the transport all carry one, and none of them
//! should depend on another for it.

use std::fmt;

/// `Display` is not implemented and `Debug` masks the password: a secret reaches a log only
/// through [`Secret::redacted`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with any `user:password@` part masked, for logs.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(u) => u.to_string(),
            Err(_) => "<redacted>".to_owned(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let s = Secret::new("postgres://me:hunter2@db.example.com/news");
        assert_eq!(s.redacted(), "postgres://me:***@db.example.com/news");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(Secret::new("not a url hunter2").redacted(), "<redacted>");
    }
}
