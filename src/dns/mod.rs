//! The DNS records a sender must publish for receivers to trust its mail (`morningpost dns`):
//! the DKIM public key, an SPF record that names the relays, and a DMARC policy to start
//! from — derived from the configuration and the DKIM key, and compared with what DNS
//! answers (`--check`, check.rs).

mod check;
mod spf;

pub use check::{Finding, Verdict, check};

use crate::config::Settings;
use crate::mail::dkim::{Dkim, DkimError};
use crate::mail::transport::{Transport, TransportError};

/// What a record is for: each is compared in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Dkim,
    Spf,
    Dmarc,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Dkim => "DKIM",
            Purpose::Spf => "SPF",
            Purpose::Dmarc => "DMARC",
        }
    }
}

/// One TXT record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub purpose: Purpose,
    /// The owner name, without the final dot.
    pub name: String,
    pub value: String,
    /// What the operator should know about it.
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("the DKIM key cannot be used")]
    Dkim(#[source] DkimError),
    #[error("the relays cannot be named")]
    Transport(#[source] TransportError),
}

/// The records for this configuration. Without a DKIM key there is no DKIM record (the
/// caller says how to make one). `rua`: where DMARC's aggregate reports go; by default
/// `dmarc-reports@` the From domain.
pub fn records(settings: &Settings, rua: Option<&str>) -> Result<Vec<Record>, DnsError> {
    let from_domain = settings.from.email.domain().to_ascii_lowercase();
    let mut records = Vec::new();
    if let Some(d) = &settings.dkim {
        let dkim = Dkim::load(&d.key_file, &from_domain, &d.selector).map_err(DnsError::Dkim)?;
        records.push(Record {
            purpose: Purpose::Dkim,
            name: format!("{}._domainkey.{from_domain}", d.selector),
            value: dkim.dns_record().to_owned(),
            note: format!(
                "the public half of {} ({}); receivers check every signature against it",
                d.key_file.display(),
                dkim.algorithm
            ),
        });
    }
    // SPF is checked against the envelope sender: the bounce address's domain when bounces
    // are collected, else the From domain.
    let return_domain = settings
        .bounces
        .address
        .as_ref()
        .map_or_else(|| from_domain.clone(), |b| b.domain().to_ascii_lowercase());
    let transport = Transport::named_by(settings).map_err(DnsError::Transport)?;
    let hosts: Vec<String> = match &transport {
        Transport::Smtp(relays) => relays.iter().map(|t| t.host.clone()).collect(),
        Transport::Outbox(_) => Vec::new(),
    };
    let (mechanisms, spf_note) = spf::mechanisms(&hosts);
    records.push(Record {
        purpose: Purpose::Spf,
        name: return_domain,
        value: format!("v=spf1 {} ~all", mechanisms.join(" ")),
        note: spf_note,
    });
    let rua = rua.map_or_else(|| format!("dmarc-reports@{from_domain}"), str::to_owned);
    records.push(Record {
        purpose: Purpose::Dmarc,
        name: format!("_dmarc.{from_domain}"),
        value: format!("v=DMARC1; p=none; rua=mailto:{rua}; adkim=r; aspf=r"),
        note: format!(
            "a policy to start from: p=none only collects reports (at {rua}, which must exist); \
             once they show every source passing, go to p=quarantine, then p=reject"
        ),
    });
    Ok(records)
}

/// A record in zone-file form: the value cut into quoted strings of at most 255 bytes
/// (RFC 1035 §3.3.14; a 2048-bit DKIM key is longer than one).
pub fn zone_line(r: &Record) -> String {
    let chunks: Vec<String> = r
        .value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!("{}.\tIN\tTXT\t{}", r.name, chunks.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_into_strings_of_255_bytes() {
        let r = Record {
            purpose: Purpose::Dkim,
            name: "s1._domainkey.example.com".into(),
            value: "x".repeat(600),
            note: String::new(),
        };
        let line = zone_line(&r);
        assert!(line.starts_with("s1._domainkey.example.com.\tIN\tTXT\t\""));
        let strings: Vec<&str> = line.split('"').filter(|s| s.starts_with('x')).collect();
        assert_eq!(
            strings.iter().map(|s| s.len()).collect::<Vec<_>>(),
            [255, 255, 90]
        );
    }
}
