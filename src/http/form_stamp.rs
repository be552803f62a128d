//! The sign-up form's signed start time: a bot that fetches the form and posts it back at
//! once is answered like the honeypot (the neutral page, nothing stored). The stamp is
//! `MILLISECONDS.MAC`, the MAC a keyed hash of the time under the secret key, so it cannot
//! be forged or moved back; it is judged only for form posts (a JSON call carries none).

use base64::Engine;
use subtle::ConstantTimeEq;

use crate::domain::TokenKey;

/// Faster than a person can type an address and press the button.
pub const HUMAN_MINIMUM_MS: i64 = 2_000;
const PURPOSE: &[u8] = b"form-started";
/// Bytes of the MAC kept: 128 bits.
const MAC_BYTES: usize = 16;

/// What a posted stamp says about who filled the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Served at least [`HUMAN_MINIMUM_MS`] ago by us.
    Human,
    /// Submitted faster than a person could.
    TooFast,
    /// Not a stamp we made (or from the future).
    Forged,
    /// No stamp.
    Missing,
}

impl Verdict {
    /// The label of the sign-up metric for a refused verdict.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Human => "human",
            Verdict::TooFast => "too_fast",
            Verdict::Forged => "forged_stamp",
            Verdict::Missing => "no_stamp",
        }
    }
}

#[derive(Clone)]
pub struct FormStamp {
    key: TokenKey,
}

impl FormStamp {
    pub fn new(key: TokenKey) -> Self {
        Self { key }
    }

    /// The stamp for a form served at `now` (ms).
    pub fn issue(&self, now: i64) -> String {
        format!("{now}.{}", self.mac(now))
    }

    pub fn judge(&self, stamp: Option<&str>, now: i64) -> Verdict {
        let Some(stamp) = stamp else {
            return Verdict::Missing;
        };
        let Some((time, mac)) = stamp.trim().split_once('.') else {
            return Verdict::Forged;
        };
        let Ok(served) = time.parse::<i64>() else {
            return Verdict::Forged;
        };
        // In constant time: how long a comparison takes tells nothing about the right MAC.
        let ours = self.mac(served);
        let matches = bool::from(mac.as_bytes().ct_eq(ours.as_bytes()));
        if !matches || served > now + 60_000 {
            return Verdict::Forged;
        }
        if now - served < HUMAN_MINIMUM_MS {
            Verdict::TooFast
        } else {
            Verdict::Human
        }
    }

    fn mac(&self, served: i64) -> String {
        let full = self.key.mac(PURPOSE, &served.to_be_bytes());
        let kept = full.get(..MAC_BYTES).unwrap_or(&full);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> FormStamp {
        FormStamp::new(TokenKey::from_bytes([7; 32]))
    }

    #[test]
    fn a_stamp_is_judged_by_its_age_and_its_mac() {
        let s = stamp();
        let served = s.issue(1_000_000);
        assert_eq!(s.judge(Some(&served), 1_000_500), Verdict::TooFast);
        assert_eq!(s.judge(Some(&served), 1_002_000), Verdict::Human);
        assert_eq!(s.judge(None, 1_002_000), Verdict::Missing);
        // Moved back in time to look older: the MAC no longer matches.
        let (_, mac) = served.split_once('.').unwrap();
        assert_eq!(
            s.judge(Some(&format!("990000.{mac}")), 1_000_500),
            Verdict::Forged
        );
        assert_eq!(s.judge(Some("garbage"), 1_000_500), Verdict::Forged);
        assert_eq!(s.judge(Some(""), 1_000_500), Verdict::Forged);
        // Another installation's key.
        let other = FormStamp::new(TokenKey::from_bytes([8; 32])).issue(1_000_000);
        assert_eq!(s.judge(Some(&other), 1_010_000), Verdict::Forged);
    }
}
