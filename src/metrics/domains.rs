//! The recipient-domain label: the list's largest domains by name, every other domain as
//! `other`, so a list of a million readers on ten thousand domains still makes a handful of
//! time series per outcome.

use std::collections::HashSet;

/// How many domains get their own label.
pub const TOP_DOMAINS: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct DomainLabels {
    top: HashSet<String>,
}

impl DomainLabels {
    /// `top`: the largest domains of the list (lower case), as the store counts them.
    pub fn new(top: impl IntoIterator<Item = String>) -> Self {
        Self {
            top: top
                .into_iter()
                .take(TOP_DOMAINS)
                .map(|d| d.to_ascii_lowercase())
                .collect(),
        }
    }

    /// The label of an address's domain: its own name when it is one of the top domains.
    pub fn of<'a>(&'a self, address: &str) -> &'a str {
        address
            .rsplit_once('@')
            .and_then(|(_, domain)| self.top.get(domain.to_ascii_lowercase().as_str()))
            .map_or("other", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_top_domains_are_named() {
        let labels = DomainLabels::new(["gmail.com".to_owned(), "Example.ORG".to_owned()]);
        assert_eq!(labels.of("ada@GMAIL.com"), "gmail.com");
        assert_eq!(labels.of("bo@example.org"), "example.org");
        assert_eq!(labels.of("cy@rare.example"), "other");
        assert_eq!(labels.of("not an address"), "other");
    }

    #[test]
    fn at_most_ten_domains_are_named() {
        let labels = DomainLabels::new((0..50).map(|i| format!("d{i}.example")));
        assert_eq!(labels.top.len(), TOP_DOMAINS);
    }
}
