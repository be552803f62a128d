//! The return path of each mail (VERP): `<local>+d<delivery id>-<mac>@<domain>` of the
//! configured `bounce_address`. A bounce that comes back to it names its delivery, and the
//! MAC under the secret key proves the tag is ours: a forged or guessed bounce is refused,
//! never matched some other way (docs/architecture.md decision 28).

use std::fmt;

use super::TokenKey;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BounceAddressError {
    #[error("{0:?} is not an address (use e.g. bounces@news.example.com)")]
    NotAnAddress(String),
    #[error("{0:?} has a '+' in its local part: the part after '+' is the tag morningpost adds")]
    HasTag(String),
}

/// Where bounces are collected, parsed once from the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct BounceAddress {
    local: String,
    domain: String,
}

/// What a report's address says about the delivery it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerpMatch {
    /// Not our bounce address, or ours without a tag.
    NoTag,
    /// A tag whose MAC is ours: this delivery.
    Delivery(i64),
    /// A tag whose MAC is not ours: forged or damaged; the report must change nothing.
    Forged,
}

/// Hex digits of the MAC in a tag: 64 bits.
const MAC_HEX: usize = 16;

impl BounceAddress {
    pub fn parse(s: &str) -> Result<Self, BounceAddressError> {
        let s = s.trim();
        let bad = || BounceAddressError::NotAnAddress(s.chars().take(100).collect());
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let valid_local = !local.is_empty()
            && local.len() <= 30
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        if !valid_local || !valid_domain {
            return Err(bad());
        }
        if local.contains('+') {
            return Err(BounceAddressError::HasTag(s.to_owned()));
        }
        Ok(Self {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// The domain every return path is in (SPF is checked against it).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The envelope sender of one delivery.
    pub fn return_path(&self, key: &TokenKey, delivery_id: i64) -> String {
        format!(
            "{}+d{delivery_id}-{}@{}",
            self.local,
            mac_hex(key, delivery_id),
            self.domain
        )
    }

    /// The delivery an address (where a report was sent) names, if it is a tagged form of
    /// this bounce address. Case-insensitive: some systems fold the local part.
    pub fn delivery_in(&self, key: &TokenKey, address: &str) -> VerpMatch {
        let address = address
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_ascii_lowercase();
        let Some((local, domain)) = address.rsplit_once('@') else {
            return VerpMatch::NoTag;
        };
        let Some((base, tag)) = local.split_once('+') else {
            return VerpMatch::NoTag;
        };
        if domain != self.domain || base != self.local {
            return VerpMatch::NoTag;
        }
        let Some((id, mac)) = tag.strip_prefix('d').and_then(|t| t.split_once('-')) else {
            return VerpMatch::Forged;
        };
        let Ok(id) = id.parse::<i64>() else {
            return VerpMatch::Forged;
        };
        let expected = mac_hex(key, id);
        let same = mac.len() == expected.len()
            && subtle::ConstantTimeEq::ct_eq(mac.as_bytes(), expected.as_bytes()).into();
        if same {
            VerpMatch::Delivery(id)
        } else {
            VerpMatch::Forged
        }
    }
}

fn mac_hex(key: &TokenKey, delivery_id: i64) -> String {
    let mac = key.mac(b"morningpost verp v1:", &delivery_id.to_be_bytes());
    let mut hex = hex::encode(mac);
    hex.truncate(MAC_HEX);
    hex
}

impl fmt::Debug for BounceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BounceAddress({self})")
    }
}

impl fmt::Display for BounceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_path_names_its_delivery_and_only_ours_are_believed() {
        let key = TokenKey::from_bytes([7; 32]);
        let b = BounceAddress::parse("Bounces@News.Example.com").unwrap();
        let path = b.return_path(&key, 4711);
        assert!(path.starts_with("bounces+d4711-") && path.ends_with("@news.example.com"));
        assert_eq!(b.delivery_in(&key, &path), VerpMatch::Delivery(4711));
        assert_eq!(
            b.delivery_in(&key, &format!("<{}>", path.to_uppercase())),
            VerpMatch::Delivery(4711)
        );
        // Another delivery's number with this MAC, another key, a cut MAC: forged.
        let forged = path.replace("d4711-", "d4712-");
        assert_eq!(b.delivery_in(&key, &forged), VerpMatch::Forged);
        let other_key = TokenKey::from_bytes([8; 32]);
        assert_eq!(b.delivery_in(&other_key, &path), VerpMatch::Forged);
        assert_eq!(
            b.delivery_in(&key, "bounces+d4711-abc@news.example.com"),
            VerpMatch::Forged
        );
        assert_eq!(
            b.delivery_in(&key, "bounces+garbage@news.example.com"),
            VerpMatch::Forged
        );
        // Not our address, or untagged.
        assert_eq!(
            b.delivery_in(&key, "bounces@news.example.com"),
            VerpMatch::NoTag
        );
        assert_eq!(
            b.delivery_in(&key, &path.replace("news.", "other.")),
            VerpMatch::NoTag
        );
        assert_eq!(b.delivery_in(&key, "no at sign"), VerpMatch::NoTag);
    }

    #[test]
    fn the_bounce_address_is_checked() {
        assert!(BounceAddress::parse("bounces").is_err());
        assert!(BounceAddress::parse("@example.com").is_err());
        assert!(BounceAddress::parse("bounces@localhost").is_err());
        assert_eq!(
            BounceAddress::parse("b+x@example.com"),
            Err(BounceAddressError::HasTag("b+x@example.com".into()))
        );
    }
}
