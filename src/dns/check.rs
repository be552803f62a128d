//! `morningpost dns --check`: each record looked up (hickory, the resolver mail-auth uses),
//! and what DNS answers compared with what should be there, the way a receiver reads it.

use std::net::SocketAddr;

use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use mail_auth::hickory_resolver::name_server::TokioConnectionProvider;
use mail_auth::hickory_resolver::{Name, TokioResolver};

use super::{Purpose, Record};

/// What DNS says about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// What is published does what the record should.
    Published,
    /// No record of its kind at that name.
    Missing,
    /// A record is there but does not do it: why.
    Differs(String),
    /// DNS could not be asked.
    LookupFailed(String),
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub record: Record,
    pub verdict: Verdict,
    /// The TXT records found at the name (each one's strings joined).
    pub found: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "cannot read the system's DNS settings (/etc/resolv.conf); name a server with --nameserver"
    )]
    SystemConfig(#[source] mail_auth::hickory_resolver::proto::ProtoError),
}

/// Looks each record up, through `nameserver` or the system's resolvers.
pub async fn check(
    records: &[Record],
    nameserver: Option<SocketAddr>,
) -> Result<Vec<Finding>, CheckError> {
    let resolver = match nameserver {
        Some(addr) => TokioResolver::builder_with_config(
            ResolverConfig::from_parts(
                None,
                Vec::new(),
                NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
            ),
            TokioConnectionProvider::default(),
        )
        .build(),
        None => TokioResolver::builder_tokio()
            .map_err(CheckError::SystemConfig)?
            .build(),
    };
    let mut findings = Vec::with_capacity(records.len());
    for record in records {
        let (found, verdict) = match lookup(&resolver, &record.name).await {
            Ok(found) => {
                let verdict = judge(record, &found);
                (found, verdict)
            }
            Err(why) => (Vec::new(), why),
        };
        findings.push(Finding {
            record: record.clone(),
            verdict,
            found,
        });
    }
    Ok(findings)
}

/// The TXT records at a name, each one's strings joined; an answer without any is empty.
async fn lookup(resolver: &TokioResolver, name: &str) -> Result<Vec<String>, Verdict> {
    let fqdn = Name::from_ascii(format!("{name}."))
        .map_err(|e| Verdict::LookupFailed(format!("{name} is not a DNS name: {e}")))?;
    match resolver.txt_lookup(fqdn).await {
        Ok(answer) => Ok(answer
            .iter()
            .map(|txt| {
                txt.txt_data()
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect::<String>()
            })
            .collect()),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
        Err(e) => Err(Verdict::LookupFailed(format!("looking up {name}: {e}"))),
    }
}

/// What a receiver would make of what was found, for this record's purpose.
fn judge(record: &Record, found: &[String]) -> Verdict {
    match record.purpose {
        Purpose::Dkim => judge_dkim(&record.value, found),
        Purpose::Spf => judge_spf(&record.value, found),
        Purpose::Dmarc => judge_dmarc(found),
    }
}

/// `tag=value` pairs of a DKIM or DMARC record, whitespace inside values removed (a key
/// may be published over several lines).
fn tags(record: &str) -> Vec<(String, String)> {
    record
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.chars().filter(|c| !c.is_whitespace()).collect(),
            )
        })
        .collect()
}

fn tag<'a>(tags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn judge_dkim(expected: &str, found: &[String]) -> Verdict {
    let want = tags(expected);
    let keys: Vec<Vec<(String, String)>> = found
        .iter()
        .map(|r| tags(r))
        .filter(|t| tag(t, "p").is_some())
        .collect();
    if keys.is_empty() {
        return if found.is_empty() {
            Verdict::Missing
        } else {
            Verdict::Differs("the TXT records there hold no DKIM key (no p=)".into())
        };
    }
    let kind = |t: &[(String, String)]| tag(t, "k").unwrap_or("rsa").to_ascii_lowercase();
    if keys
        .iter()
        .any(|t| kind(t) == kind(&want) && tag(t, "p") == tag(&want, "p"))
    {
        return Verdict::Published;
    }
    let published = &keys[0];
    if tag(published, "p") == Some("") {
        return Verdict::Differs("the key is revoked (p= is empty)".into());
    }
    if kind(published) != kind(&want) {
        return Verdict::Differs(format!(
            "k={} is published, but the key file holds an {} key",
            kind(published),
            kind(&want)
        ));
    }
    Verdict::Differs(
        "a different public key is published (p= differs): signatures will fail; publish this one"
            .into(),
    )
}

fn judge_spf(expected: &str, found: &[String]) -> Verdict {
    let is_spf = |r: &&String| {
        let lower = r.trim().to_ascii_lowercase();
        lower == "v=spf1" || lower.starts_with("v=spf1 ")
    };
    let spf: Vec<&String> = found.iter().filter(is_spf).collect();
    let Some(record) = spf.first() else {
        return Verdict::Missing;
    };
    if spf.len() > 1 {
        return Verdict::Differs(format!(
            "{} SPF records: receivers treat that as an error (permerror); merge them into one",
            spf.len()
        ));
    }
    let published: Vec<String> = record
        .split_whitespace()
        .map(|m| m.trim_start_matches(['+', '?', '~']).to_ascii_lowercase())
        .collect();
    let missing: Vec<&str> = expected
        .split_whitespace()
        .filter(|m| !m.starts_with("v=") && !m.ends_with("all"))
        .filter(|m| !published.iter().any(|p| p == &m.to_ascii_lowercase()))
        .collect();
    if missing.is_empty() {
        Verdict::Published
    } else {
        Verdict::Differs(format!(
            "it does not name {}: add it before the `all` (unless an include already covers the relay)",
            missing.join(" ")
        ))
    }
}

fn judge_dmarc(found: &[String]) -> Verdict {
    let dmarc: Vec<Vec<(String, String)>> = found
        .iter()
        .filter(|r| r.trim().to_ascii_lowercase().starts_with("v=dmarc1"))
        .map(|r| tags(r))
        .collect();
    let Some(record) = dmarc.first() else {
        return Verdict::Missing;
    };
    if dmarc.len() > 1 {
        return Verdict::Differs(format!(
            "{} DMARC records: receivers ignore them all; keep one",
            dmarc.len()
        ));
    }
    match (tag(record, "p"), tag(record, "rua")) {
        (None, _) => Verdict::Differs("it has no p= policy: receivers ignore it".into()),
        (Some(_), None) => {
            Verdict::Differs("it has no rua=: no aggregate reports will come back".into())
        }
        (Some(_), Some(_)) => Verdict::Published,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(records: &[&str]) -> Vec<String> {
        records.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn a_dkim_key_matches_however_it_is_split_and_spaced() {
        let want = "v=DKIM1; k=ed25519; p=ABCDEF";
        assert_eq!(
            judge_dkim(want, &found(&["v=DKIM1; k=ed25519; p=ABC DEF"])),
            Verdict::Published
        );
        assert_eq!(judge_dkim(want, &[]), Verdict::Missing);
        assert!(matches!(
            judge_dkim(want, &found(&["v=DKIM1; k=ed25519; p=XYZ"])),
            Verdict::Differs(why) if why.contains("different public key")
        ));
        assert!(matches!(
            judge_dkim(want, &found(&["v=DKIM1; p=ABCDEF"])),
            Verdict::Differs(why) if why.contains("k=rsa is published")
        ));
        assert!(matches!(
            judge_dkim(want, &found(&["v=DKIM1; k=ed25519; p="])),
            Verdict::Differs(why) if why.contains("revoked")
        ));
    }

    #[test]
    fn spf_must_be_one_record_naming_the_relay() {
        let want = "v=spf1 include:amazonses.com ~all";
        assert_eq!(
            judge_spf(
                want,
                &found(&[
                    "v=spf1 mx +include:amazonses.com -all",
                    "google-site-verification=x"
                ])
            ),
            Verdict::Published
        );
        assert_eq!(
            judge_spf(want, &found(&["something else"])),
            Verdict::Missing
        );
        assert!(matches!(
            judge_spf(want, &found(&["v=spf1 mx -all"])),
            Verdict::Differs(why) if why.contains("include:amazonses.com")
        ));
        assert!(matches!(
            judge_spf(want, &found(&["v=spf1 a -all", "v=spf1 include:amazonses.com -all"])),
            Verdict::Differs(why) if why.contains("permerror")
        ));
    }

    #[test]
    fn dmarc_needs_a_policy_and_somewhere_to_report() {
        assert_eq!(
            judge_dmarc(&found(&[
                "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
            ])),
            Verdict::Published
        );
        assert_eq!(judge_dmarc(&[]), Verdict::Missing);
        assert!(matches!(
            judge_dmarc(&found(&["v=DMARC1; p=none"])),
            Verdict::Differs(why) if why.contains("rua")
        ));
    }
}
