//! `morningpost subscribers …`: add, import, list, export, show, remove, set-zone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::stdout::{outln, write_bytes};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::domain::{SubscriberEmail, SubscriberName, TokenKey};
use crate::store::{Consent, Store, SubscriberStatus};
use crate::subscribers::confirmations::{Signups, store_template};
use crate::subscribers::import::{Added, ImportEvent, add_one};
use crate::subscribers::{Format, ImportOptions, backup, import_file};

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add one active subscriber (you vouch for their consent).
    Add {
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Import subscribers from a CSV file (ours: `email`, and optional `name`, `status`,
    /// `time_zone`, `consent`; or another tool's export with --from). New addresses are
    /// added; an existing or suppressed address is never changed (see --update-status). A
    /// reader the file calls active is imported active only on a basis: the file's
    /// `consent` column, or --consent; else pending.
    Import {
        file: PathBuf,
        /// Whose export the file is.
        #[arg(long = "from", value_enum, default_value = "morningpost")]
        format: Format,
        /// On what basis the file's readers may be mailed: `double-opt-in` (they confirmed
        /// by email with the previous tool) or `confirmed-elsewhere` (they opted in there).
        #[arg(long, value_parser = parse_consent)]
        consent: Option<Consent>,
        /// A note kept with the basis (where the list came from, a ticket, a date).
        #[arg(long, requires = "consent")]
        note: Option<String>,
        /// Existing addresses take the file's status (each change is printed); a suppressed
        /// address still never becomes active.
        #[arg(long, conflicts_with = "restore")]
        update_status: bool,
        /// Mail each new pending reader a confirmation link (the worker sends it): their own
        /// double opt-in makes them active.
        #[arg(long, conflicts_with = "restore")]
        send_confirmations: bool,
        /// The file is a backup (`subscribers export`): restore it whole, every fact as it
        /// was, into an empty database made with the same secret key.
        #[arg(long, conflicts_with_all = ["format", "consent"])]
        restore: bool,
    },
    /// List subscribers: address, name, status, time zone (`-`: the newsletter's).
    List {
        /// pending, active, unsubscribed, bounced or complained.
        #[arg(long)]
        status: Option<String>,
    },
    /// Write the whole list to standard output: every subscriber with every fact a restore
    /// needs, and the suppression list (a backup: `import --restore` reads it).
    Export,
    /// Everything held about one address: status and its dates, how they joined and on
    /// what basis, confirmation mails, deliveries with their outcomes, bounces and
    /// complaints (a reader's access request).
    Show { email: String },
    /// Unsubscribe one address (what is queued for them is cancelled). Exit 1 when unknown.
    Remove { email: String },
    /// Never mail this address again, whatever its subscriber row says (what is queued for
    /// it is cancelled). Works for an address that is not a subscriber too.
    Suppress { email: String },
    /// Take an address off the suppression list (a subscriber who left stays unsubscribed).
    Unsuppress { email: String },
    /// Delete what is held about an address (a reader's erasure request): the subscriber,
    /// their confirmation mails and tokens, the address in deliveries and reports. The
    /// issues' counts stay, and the address stays suppressed as a keyed hash only.
    Erase { email: String },
    /// Set the time zone a local-morning send uses for one subscriber.
    SetZone {
        email: String,
        /// An IANA name such as Europe/Berlin; `-` or `none` clears it (the newsletter's
        /// `timezone` applies).
        zone: String,
    },
}

fn parse_consent(s: &str) -> Result<Consent, String> {
    match Consent::parse(s) {
        Some(c @ (Consent::DoubleOptIn | Consent::ConfirmedElsewhere)) => Ok(c),
        _ => Err("use double-opt-in or confirmed-elsewhere".to_owned()),
    }
}

pub async fn run(settings: &Settings, cmd: SubscribersCommand) -> anyhow::Result<ExitCode> {
    // Adding may create the database; reading may not, and checks its arguments first, so a
    // typo is reported as a typo, not as a missing database.
    use super::Open::{CreateIfMissing, MustExist};
    match cmd {
        SubscribersCommand::Add { email, name } => {
            let store = super::open_store(settings, CreateIfMissing).await?;
            let email =
                SubscriberEmail::parse(&email).with_context(|| format!("cannot add {email:?}"))?;
            let name = SubscriberName::parse_optional(name.as_deref().unwrap_or_default())
                .context("cannot use that name")?;
            super::check_writable(&store).await?;
            let key = super::installation_key(settings, &store).await?;
            match add_one(&store, &key, &email, name.as_ref(), now_ms()).await? {
                Added::Added => outln!("added {email} (active)")?,
                Added::Exists(status) => {
                    outln!("{email} is already a subscriber ({status}); nothing changed")?
                }
                Added::Suppressed(reason) => anyhow::bail!(
                    "{email} is on the suppression list ({reason}): not added; if you are sure \
                     they want the newsletter again, `subscribers unsuppress {email}` first"
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Import {
            file,
            format,
            consent,
            note,
            update_status,
            send_confirmations,
            restore,
        } => {
            let store = super::open_store(settings, CreateIfMissing).await?;
            super::check_writable(&store).await?;
            let key = super::installation_key(settings, &store).await?;
            if restore {
                return restore_backup(&store, &key, &file).await;
            }
            let confirmations = if send_confirmations {
                Some(Signups {
                    key: key.clone(),
                    rules: settings.subscriptions.clone(),
                    template: store_template(settings, &store).await?,
                })
            } else {
                None
            };
            let options = ImportOptions {
                format,
                consent,
                note,
                update_status,
                confirmations,
                now: now_ms(),
            };
            import(&store, &key, &file, &options).await
        }
        SubscribersCommand::List { status } => {
            let status = status
                .map(|s| {
                    SubscriberStatus::parse(&s).with_context(|| {
                        format!("unknown status {s:?}: use {}", SubscriberStatus::choices())
                    })
                })
                .transpose()?;
            let store = super::open_store(settings, MustExist).await?;
            for s in store.subscribers(status).await? {
                outln!(
                    "{}\t{}\t{}\t{}",
                    s.email,
                    s.name.as_deref().unwrap_or("-"),
                    s.status,
                    s.time_zone.as_deref().unwrap_or("-")
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Export => {
            let store = super::open_store(settings, MustExist).await?;
            backup::export(&store, &settings.token_key()?, write_bytes).await?;
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Suppress { email } => {
            let store = super::open_store(settings, MustExist).await?;
            super::subscriber_record::suppress(&store, &settings.token_key()?, &email).await
        }
        SubscribersCommand::Unsuppress { email } => {
            let store = super::open_store(settings, MustExist).await?;
            super::subscriber_record::unsuppress(&store, &settings.token_key()?, &email).await
        }
        SubscribersCommand::Erase { email } => {
            let store = super::open_store(settings, MustExist).await?;
            super::subscriber_record::erase(&store, &settings.token_key()?, &email).await
        }
        SubscribersCommand::SetZone { email, zone } => {
            super::set_zone::run(settings, &email, &zone).await
        }
        SubscribersCommand::Show { email } => {
            super::subscriber_record::show(&super::open_store(settings, MustExist).await?, &email)
                .await
        }
        SubscribersCommand::Remove { email } => {
            super::subscriber_record::remove(&super::open_store(settings, MustExist).await?, &email)
                .await
        }
    }
}

async fn import(
    store: &Store,
    key: &TokenKey,
    file: &Path,
    options: &ImportOptions,
) -> anyhow::Result<ExitCode> {
    let shown = file.display().to_string();
    let progress = super::progress::Progress::rows("importing");
    let report = import_file(store, key, file, options, |event| match event {
        ImportEvent::Skipped { line, why } => {
            progress.suspend(|| eprintln!("{shown}:{line}: skipped: {why}"))
        }
        ImportEvent::Changed { email, from, to } => {
            progress.suspend(|| {
                // A closed standard output must not stop the import half-way.
                let _ = outln!("{email}: {from} → {to}");
            })
        }
        ImportEvent::Progress(n) => progress.set(n),
    })
    .await?;
    progress.finish();
    let added: u64 = report.added.values().sum();
    let list = |m: &std::collections::BTreeMap<&str, u64>| {
        m.iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    outln!(
        "imported {added} new subscribers{}",
        if added > 0 {
            format!(" ({})", list(&report.added))
        } else {
            String::new()
        }
    )?;
    if report.present > 0 {
        outln!(
            "  {} already subscribers: left as they were",
            report.present
        )?;
    }
    if report.changed > 0 {
        outln!("  {} statuses changed (listed above)", report.changed)?;
    }
    if !report.suppressed.is_empty() {
        outln!(
            "  {} on the suppression list, not added: {}",
            report.suppressed.values().sum::<u64>(),
            list(&report.suppressed)
        )?;
    }
    if report.suppressions_added > 0 {
        outln!(
            "  {} addresses added to the suppression list",
            report.suppressions_added
        )?;
    }
    if report.repeated > 0 {
        outln!(
            "  {} rows repeated an address earlier in the file",
            report.repeated
        )?;
    }
    if report.confirmations_queued > 0 {
        outln!(
            "  {} confirmation mails queued: each reader becomes active when they confirm \
             (`morningpost worker` or `serve` sends them)",
            report.confirmations_queued
        )?;
    } else if report.pending_for_want_of_consent > 0 {
        outln!(
            "  {} imported pending, not active: the file gives no basis to mail them; \
             if they opted in with your previous tool, import again with \
             --update-status --consent confirmed-elsewhere, or ask them to confirm with \
             --send-confirmations",
            report.pending_for_want_of_consent
        )?;
    }
    if report.foreign_hashes > 0 {
        outln!(
            "  {} erased entries were made under another secret key and cannot match: left out",
            report.foreign_hashes
        )?;
    }
    if report.skipped > 0 {
        outln!(
            "  {} rows skipped (listed on standard error)",
            report.skipped
        )?;
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

async fn restore_backup(store: &Store, key: &TokenKey, file: &Path) -> anyhow::Result<ExitCode> {
    let shown = file.display().to_string();
    let restored = backup::restore_file(store, key, file, |line, why| {
        eprintln!("{shown}:{line}: {why}");
    })
    .await?;
    outln!(
        "restored {} subscribers and {} suppression entries from {shown}",
        restored.subscribers,
        restored.suppressions
    )?;
    Ok(ExitCode::SUCCESS)
}
