use std::fmt;

/// A subscriber's address, checked once: syntactically valid (RFC 5321 sizes, lettre's
/// RFC 5322 grammar), no control characters, a domain with a dot, stored with the domain in
/// lower-case ASCII (IDN domains as punycode) so that any SMTP server can take it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubscriberEmail(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscriberEmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is {0} characters long; the limit is 254")]
    TooLong(usize),
    #[error("the email address contains a control character (such as a line break)")]
    ControlCharacter,
    #[error("the email address has no '@': write it as name@example.com")]
    NoAt,
    #[error("the part before '@' is {0} characters long; the limit is 64")]
    LocalTooLong(usize),
    #[error(
        "the part before '@' has quotes (\"…\"@example.com): write the address without them, as name@example.com"
    )]
    QuotedLocalPart,
    #[error(
        "the part before '@' may only use ASCII letters, digits and . ! # $ % & ' * + - / = ? ^ _ ` {{ | }} ~"
    )]
    BadLocalPart,
    #[error("the domain after '@' is not a valid internet domain such as example.com")]
    BadDomain,
}

impl SubscriberEmail {
    pub fn parse(input: &str) -> Result<Self, SubscriberEmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(SubscriberEmailError::Empty);
        }
        if s.chars().any(char::is_control) {
            return Err(SubscriberEmailError::ControlCharacter);
        }
        let chars = s.chars().count();
        if chars > 254 {
            return Err(SubscriberEmailError::TooLong(chars));
        }
        let (local, domain) = s.rsplit_once('@').ok_or(SubscriberEmailError::NoAt)?;
        // RFC 5321 allows a quoted local part ("a,b@x"@example.com, split at its last '@');
        // no reader needs one, and quotes would make `"ada"@example.org` a second
        // subscriber beside ada@example.org.
        if local.contains('"') {
            return Err(SubscriberEmailError::QuotedLocalPart);
        }
        if local.len() > 64 {
            return Err(SubscriberEmailError::LocalTooLong(local.chars().count()));
        }
        if local.is_empty() || !local.is_ascii() {
            return Err(SubscriberEmailError::BadLocalPart);
        }
        let ascii_domain = idna::domain_to_ascii(domain)
            .map_err(|_| SubscriberEmailError::BadDomain)?
            .to_ascii_lowercase();
        if !ascii_domain.contains('.')
            || ascii_domain.starts_with('[')
            || ascii_domain.ends_with('.')
            || ascii_domain.parse::<std::net::IpAddr>().is_ok()
        {
            return Err(SubscriberEmailError::BadDomain);
        }
        let address = lettre::Address::new(local, &ascii_domain).map_err(|e| match e {
            lettre::address::AddressError::InvalidUser => SubscriberEmailError::BadLocalPart,
            _ => SubscriberEmailError::BadDomain,
        })?;
        let full = address.to_string();
        if full.len() > 254 {
            return Err(SubscriberEmailError::TooLong(full.len()));
        }
        Ok(Self(full))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that makes addresses unique: the whole address in lower case. (Local parts are
    /// case-sensitive on paper and case-insensitive at every provider that matters.)
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The lettre address for the SMTP envelope. Infallible: the text was validated by `parse`.
    pub fn to_lettre(&self) -> lettre::Address {
        let (user, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        lettre::Address::new_dangerous(user, domain)
    }
}

impl fmt::Display for SubscriberEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SubscriberEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubscriberEmailError as E;

    #[test]
    fn valid_addresses_are_kept_with_a_lower_case_domain() {
        assert_eq!(
            SubscriberEmail::parse(" Ada@Example.COM ")
                .unwrap()
                .as_str(),
            "Ada@example.com"
        );
        assert_eq!(
            SubscriberEmail::parse("a+tag@sub.example.org")
                .unwrap()
                .normalized(),
            "a+tag@sub.example.org"
        );
    }

    #[test]
    fn idn_domains_become_punycode() {
        let e = SubscriberEmail::parse("reader@bücher.example").unwrap();
        assert_eq!(e.as_str(), "reader@xn--bcher-kva.example");
    }

    #[test]
    fn hostile_and_malformed_addresses_are_rejected_with_a_reason() {
        let cases: &[(&str, E)] = &[
            ("", E::Empty),
            ("   ", E::Empty),
            ("plainaddress", E::NoAt),
            ("a@b.com\r\nBcc: victim@example.com", E::ControlCharacter),
            ("a\n@b.com", E::ControlCharacter),
            ("@example.com", E::BadLocalPart),
            ("a b@example.com", E::BadLocalPart),
            ("<script>@example.com", E::BadLocalPart),
            ("jörg@example.com", E::BadLocalPart),
            ("user@localhost", E::BadDomain),
            ("user@[127.0.0.1]", E::BadDomain),
            ("user@exa mple.com", E::BadDomain),
            ("user@example.com.", E::BadDomain),
            ("user@", E::BadDomain),
            // Before: accepted, a second subscriber beside ada@example.org.
            ("\"ada\"@example.org", E::QuotedLocalPart),
            // Before: accepted with a comma and a second '@' in the address.
            ("\"a,b@evil.example\"@example.com", E::QuotedLocalPart),
            ("\"a b\"@example.com", E::QuotedLocalPart),
            ("a\"b@example.com", E::QuotedLocalPart),
            ("a@exa\"mple.com", E::BadDomain),
        ];
        for (input, expected) in cases {
            assert_eq!(
                SubscriberEmail::parse(input).as_ref().err(),
                Some(expected),
                "{input:?}"
            );
        }
        assert_eq!(
            SubscriberEmail::parse(&format!("{}@example.com", "a".repeat(300))),
            Err(E::TooLong(312))
        );
        assert_eq!(
            SubscriberEmail::parse(&format!("{}@example.com", "a".repeat(65))),
            Err(E::LocalTooLong(65))
        );
    }
}
