//! `morningpost dns [--check]`: the TXT records to publish, in zone-file form, and with
//! `--check` what DNS answers for each (exit status 1 when one is missing or differs).

use std::net::SocketAddr;
use std::process::ExitCode;

use super::stdout::outln;
use crate::config::Settings;
use crate::dns::{Finding, Verdict, check, records, zone_line};

pub async fn run(
    settings: &Settings,
    verify: bool,
    nameserver: Option<SocketAddr>,
    rua: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let records = records(settings, rua)?;
    let no_dkim = settings.dkim.is_none();
    if !verify {
        outln!(
            "; TXT records to publish for {}",
            settings.from.email.domain()
        )?;
        if no_dkim {
            outln!(
                "; no DKIM key is configured: make one (`openssl genrsa -out dkim.pem 2048`), set \
                 dkim_key_file and dkim_selector, and run this again for its record"
            )?;
        }
        for r in &records {
            outln!("")?;
            outln!("; {}: {}", r.purpose.as_str(), r.note)?;
            outln!("{}", zone_line(r))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let findings = check(&records, nameserver).await?;
    let mut all_good = !no_dkim;
    if no_dkim {
        outln!("DKIM   missing    no DKIM key is configured (dkim_key_file, dkim_selector)")?;
    }
    for Finding {
        record,
        verdict,
        found,
    } in &findings
    {
        let (word, why) = match verdict {
            Verdict::Published => ("ok", String::new()),
            Verdict::Missing => ("missing", "no record of its kind; publish:".to_owned()),
            Verdict::Differs(why) => ("differs", why.clone()),
            Verdict::LookupFailed(why) => ("unknown", why.clone()),
        };
        all_good &= *verdict == Verdict::Published;
        outln!(
            "{:<6} {:<10} {}",
            record.purpose.as_str(),
            word,
            record.name
        )?;
        if *verdict != Verdict::Published {
            outln!("       {why}")?;
            for f in found {
                outln!("       found:  {f}")?;
            }
            outln!("       wanted: {}", zone_line(record))?;
        }
    }
    Ok(if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
