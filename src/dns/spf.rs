//! The SPF mechanisms that authorize the relays to send for the return-path domain: a
//! provider's published include when the relay is one we know, the relay's own address or
//! host otherwise.

use std::net::IpAddr;

/// Relay hosts (by suffix) → the include their provider publishes.
const PROVIDERS: &[(&str, &str)] = &[
    (".amazonaws.com", "include:amazonses.com"),
    ("smtp.sendgrid.net", "include:sendgrid.net"),
    ("mailgun.org", "include:mailgun.org"),
    ("smtp.postmarkapp.com", "include:spf.mtasv.net"),
    ("smtp.gmail.com", "include:_spf.google.com"),
    ("smtp-relay.gmail.com", "include:_spf.google.com"),
    ("smtp.office365.com", "include:spf.protection.outlook.com"),
    ("smtp.sparkpostmail.com", "include:sparkpostmail.com"),
    ("smtp.mandrillapp.com", "include:spf.mandrillapp.com"),
    ("in-v3.mailjet.com", "include:spf.mailjet.com"),
    ("smtp-relay.brevo.com", "include:spf.brevo.com"),
];

/// The mechanisms for these relay hosts (none: mail goes to the outbox folder), and a note.
pub fn mechanisms(hosts: &[String]) -> (Vec<String>, String) {
    let mut out: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    for host in hosts {
        let host = host.to_ascii_lowercase();
        let mechanism = match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => {
                notes.push(format!(
                    "the relay {host} is this host: `a` authorizes the address of the domain's \
                     own A record, so it must be the address this host sends from"
                ));
                "a".to_owned()
            }
            Ok(IpAddr::V4(ip)) => format!("ip4:{ip}"),
            Ok(IpAddr::V6(ip)) => format!("ip6:{ip}"),
            Err(_) if host == "localhost" => {
                notes.push(
                    "the relay is this host: `a` authorizes the address of the domain's own A \
                     record, so it must be the address this host sends from"
                        .to_owned(),
                );
                "a".to_owned()
            }
            Err(_) => match PROVIDERS.iter().find(|(suffix, _)| host.ends_with(suffix)) {
                Some((_, include)) => (*include).to_owned(),
                None => {
                    notes.push(format!(
                        "`a:{host}` authorizes the relay's own address; if it hands mail on to \
                         other servers, name theirs instead"
                    ));
                    format!("a:{host}")
                }
            },
        };
        if !out.contains(&mechanism) {
            out.push(mechanism);
        }
    }
    if out.is_empty() {
        out.push("a".to_owned());
        notes.push(
            "smtp_url is not set (mail goes to the outbox folder): name the servers that will \
             send"
                .to_owned(),
        );
    }
    notes.push("one v=spf1 record per name: merge with any you have".to_owned());
    (out, notes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(hosts: &[&str]) -> Vec<String> {
        mechanisms(&hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()).0
    }

    #[test]
    fn known_providers_get_their_include_and_others_their_address() {
        assert_eq!(
            of(&["email-smtp.eu-west-1.amazonaws.com"]),
            ["include:amazonses.com"]
        );
        assert_eq!(of(&["smtp.sendgrid.net"]), ["include:sendgrid.net"]);
        assert_eq!(of(&["203.0.113.7"]), ["ip4:203.0.113.7"]);
        assert_eq!(of(&["2001:db8::25"]), ["ip6:2001:db8::25"]);
        assert_eq!(of(&["127.0.0.1", "localhost"]), ["a"]);
        assert_eq!(
            of(&["mail.example.net", "smtp.sendgrid.net"]),
            ["a:mail.example.net", "include:sendgrid.net"]
        );
        assert_eq!(of(&[]), ["a"]);
    }
}
