//! The footer's "why you receive this", by the basis recorded for each reader
//! (docs/architecture.md decision 29): a reader imported from another tool is not told they
//! confirmed by email with us. Each ends the sentence "You receive … because …"; kept short,
//! as the plain-text part does not re-wrap a filled slot.

use crate::store::Consent;

/// The reason for a reader with this basis.
pub fn why_you_receive_this(consent: Option<Consent>) -> &'static str {
    match consent {
        Some(Consent::DoubleOptIn) => "you signed up and confirmed your address by email.",
        Some(Consent::ConfirmedElsewhere) => "you signed up with our previous mail service.",
        Some(Consent::Admin) => "the editors added your address to the list.",
        Some(Consent::Unknown) | None => "your address was added to our list.",
    }
}

/// The reason a test copy gives.
pub const TEST_COPY: &str = "this is a test copy the editors sent.";

/// The reason `preview` shows: a reader who confirmed.
pub const PREVIEW: &str = "you signed up and confirmed your address by email.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_basis_has_a_short_reason_of_its_own() {
        let mut seen = std::collections::HashSet::new();
        for consent in Consent::ALL.iter().copied().map(Some).chain([None]) {
            let why = why_you_receive_this(consent);
            assert!(why.len() <= 60, "{why:?} is too long for a text line");
            seen.insert(why);
        }
        assert_eq!(
            seen.len(),
            Consent::ALL.len(),
            "None shares Unknown's reason"
        );
    }
}
