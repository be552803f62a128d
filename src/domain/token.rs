//! Secret tokens in links (docs/architecture.md decision 7): 256 bits, URL-safe base64, stored only as
//! a SHA-256 hash, compared in constant time.
//!
//! Unsubscribe tokens are derived, not stored: HMAC-SHA256(secret key, subscriber id). The
//! worker can then put the token in every mail without the database ever holding it, and
//! the database holds only its hash, which is what a link is looked up by.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const TOKEN_BYTES: usize = 32;
/// 32 bytes in unpadded URL-safe base64.
const TOKEN_CHARS: usize = 43;

/// A token as it appears in a link. `Debug`/`Display` show only a short hash prefix, so a
/// token never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// SHA-256 of a token: what the database stores and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error(
        "a token is {TOKEN_CHARS} characters long; this one has {0}: the link may be cut short"
    )]
    Length(usize),
    #[error("a token uses only A-Z, a-z, 0-9, '-' and '_'")]
    Character,
}

impl Token {
    /// A fresh random token (confirmation links).
    pub fn generate() -> Self {
        let bytes: [u8; TOKEN_BYTES] = rand::random();
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token from a URL path segment; shape only, the hash lookup decides if it is real.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        let n = s.chars().count();
        if n != TOKEN_CHARS {
            return Err(TokenError::Length(n));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(TokenError::Character);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The token itself, for building a link. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TokenHash {
    /// Constant-time equality: the time taken reveals nothing about where two hashes differ.
    pub fn matches(&self, other: &[u8]) -> bool {
        other.len() == 32 && bool::from(self.0.ct_eq(other))
    }

    /// The first 8 hex digits: enough to find a token in logs, useless to an attacker.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(#{})", self.hash().short())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.hash().short())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", self.short())
    }
}

/// The key that unsubscribe tokens are derived with. Every process of one installation must
/// use the same key, and it must not change: links in mail already sent depend on it.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The unsubscribe token of one subscriber: stable, so every mail's link keeps working.
    pub fn unsubscribe_token(&self, subscriber_id: uuid::Uuid) -> Token {
        self.derive(b"morningpost unsubscribe v1:", subscriber_id)
    }

    /// The token of one confirmation mail, derived from its random row id.
    pub fn confirmation_token(&self, confirmation_id: uuid::Uuid) -> Token {
        self.derive(b"morningpost confirm v1:", confirmation_id)
    }

    /// The unsubscribe token of every test copy (`send --test`, docs/architecture.md decision
    /// 25): derived under a purpose of its own, so it belongs to no subscriber, yet the
    /// installation recognises it ([`TokenKey::is_test_copy`]) and answers that nothing changed.
    pub fn test_copy_token(&self) -> Token {
        self.derive(b"morningpost test copy v1:", uuid::Uuid::nil())
    }

    /// Whether a link's token is the test copies' one; compared by hash in constant time.
    pub fn is_test_copy(&self, token: &Token) -> bool {
        self.test_copy_token().hash().matches(&token.hash().0)
    }

    /// What a suppression entry keeps of an erased address: the same address (normalised)
    /// gives the same hash under the same key, and the address cannot be read back from it.
    pub fn email_hash(&self, email: &super::SubscriberEmail) -> [u8; 32] {
        self.mac(
            b"morningpost erased address v1",
            email.normalized().as_bytes(),
        )
    }

    /// Names the key without revealing it: a backup records it, so that a restore under
    /// another key (whose unsubscribe links and erased hashes would not match) is refused.
    pub fn fingerprint(&self) -> String {
        let mac = self.mac(b"morningpost key fingerprint v1", b"");
        hex::encode(mac.get(..8).unwrap_or_default())
    }

    /// HMAC-SHA256 of `data` under this key, for `purpose` (VERP tags: domain/verp.rs).
    pub fn mac(&self, purpose: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(purpose);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn derive(&self, purpose: &[u8], id: uuid::Uuid) -> Token {
        Token(URL_SAFE_NO_PAD.encode(self.mac(purpose, id.as_bytes())))
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_url_safe_unique_and_parse_back() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        assert_eq!(Token::parse(a.expose()).unwrap(), a);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert_eq!(Token::parse("short"), Err(TokenError::Length(5)));
        assert_eq!(Token::parse(&"a".repeat(42)), Err(TokenError::Length(42)));
        assert_eq!(
            Token::parse(&format!("{}/", "a".repeat(42))),
            Err(TokenError::Character)
        );
        assert_eq!(
            Token::parse(&format!("{}é", "a".repeat(42))),
            Err(TokenError::Character)
        );
    }

    #[test]
    fn unsubscribe_tokens_are_stable_per_subscriber_and_key() {
        let key = TokenKey::from_bytes([7; 32]);
        let id = uuid::Uuid::now_v7();
        assert_eq!(key.unsubscribe_token(id), key.unsubscribe_token(id));
        assert_ne!(
            key.unsubscribe_token(id),
            key.unsubscribe_token(uuid::Uuid::now_v7())
        );
        assert_ne!(
            key.unsubscribe_token(id),
            TokenKey::from_bytes([8; 32]).unsubscribe_token(id)
        );
        assert!(Token::parse(key.unsubscribe_token(id).expose()).is_ok());
        assert_ne!(
            key.unsubscribe_token(id),
            key.confirmation_token(id),
            "purposes never collide"
        );
    }

    #[test]
    fn the_test_copy_token_is_recognised_and_belongs_to_no_subscriber() {
        let key = TokenKey::from_bytes([7; 32]);
        let test = key.test_copy_token();
        assert!(Token::parse(test.expose()).is_ok(), "it fits in a link");
        assert_eq!(test, key.test_copy_token(), "stable");
        assert!(key.is_test_copy(&test));
        assert!(!TokenKey::from_bytes([8; 32]).is_test_copy(&test));
        for id in [uuid::Uuid::nil(), uuid::Uuid::now_v7()] {
            assert!(!key.is_test_copy(&key.unsubscribe_token(id)));
            assert!(!key.is_test_copy(&key.confirmation_token(id)));
        }
        assert!(!key.is_test_copy(&Token::generate()));
    }

    #[test]
    fn hashes_compare_in_constant_time_and_never_print_the_token() {
        let t = Token::generate();
        assert!(t.hash().matches(&t.hash().0));
        assert!(!t.hash().matches(&Token::generate().hash().0));
        assert!(!t.hash().matches(&[0; 31]));
        assert!(!format!("{t:?} {t}").contains(t.expose()));
    }
}
