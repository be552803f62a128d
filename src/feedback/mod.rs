//! What comes back after the send: delivery reports (bounces) and complaints, read by
//! [`crate::bounce`], matched to the delivery they are about and recorded in the store
//! (docs/architecture.md decision 28). The command line (`bounces ingest`) hands each
//! report's bytes to [`Ingest::report`]; the SES webhook ([`ses`]) turns each verified SNS
//! notification into a parsed report and hands it to [`Ingest::record`].
//!
//! Matching, in order: the VERP tag of the address the report came back to (a tag whose MAC
//! is not ours makes the whole report change nothing), our Message-ID in the returned
//! headers, then the original recipient's address alone.

mod protection;
pub mod ses;

use sha2::{Digest, Sha256};

use crate::bounce::{self, Class, Kind};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::domain::{BounceAddress, SubscriberEmail, TokenKey, VerpMatch};
use crate::store::{
    BounceClass, BounceEffect, DeliveryRef, MatchedBy, NewBounceEvent, Store, StoreError,
};

pub use protection::Protection;

/// Reads reports into the store.
pub struct Ingest {
    store: Store,
    key: TokenKey,
    bounce_address: Option<BounceAddress>,
    from_domain: String,
    soft_limit: u32,
    soft_window_ms: i64,
    protection: Protection,
}

/// What one report came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportSummary {
    /// Failed recipients recorded now, by class.
    pub hard: u32,
    pub soft: u32,
    pub refused: u32,
    pub complaints: u32,
    /// Readers no longer mailed because of it.
    pub suppressed: u32,
    /// Recipients recorded before (the same report ingested again).
    pub duplicates: u32,
    /// Recipients that match no delivery or subscriber of ours.
    pub unmatched: u32,
    /// Not a bounce or complaint: an auto-reply, a delivery notice, or not understood.
    pub ignored: Option<Kind>,
    /// Its VERP tag is not ours: nothing was recorded.
    pub forged: bool,
    /// Sends paused by the protection rates, with why.
    pub paused: Vec<String>,
}

/// What a run of reports came to, summed (`bounces ingest` prints it).
#[derive(Debug, Default)]
pub struct Totals {
    /// Reports read.
    pub read: u64,
    /// Their summaries added up (`ignored` and `forged` are counted below instead).
    pub sum: ReportSummary,
    /// Reports that were not bounces or complaints.
    pub ignored: u64,
    /// Reports with a forged return path.
    pub forged: u64,
}

impl Totals {
    pub fn add(&mut self, s: &ReportSummary) {
        self.read += 1;
        self.sum.hard += s.hard;
        self.sum.soft += s.soft;
        self.sum.refused += s.refused;
        self.sum.complaints += s.complaints;
        self.sum.suppressed += s.suppressed;
        self.sum.duplicates += s.duplicates;
        self.sum.unmatched += s.unmatched;
        self.ignored += u64::from(s.ignored.is_some());
        self.forged += u64::from(s.forged);
        self.sum.paused.extend(s.paused.iter().cloned());
    }
}

impl Ingest {
    pub fn new(settings: &Settings, store: Store, key: TokenKey) -> Self {
        let b = &settings.bounces;
        Self {
            store,
            key,
            bounce_address: b.address.clone(),
            from_domain: settings.from.email.domain().to_owned(),
            soft_limit: b.soft_limit,
            soft_window_ms: crate::clock::millis(b.soft_window),
            protection: Protection::from_settings(b),
        }
    }

    /// Reads one report mailed back and records what it says about our deliveries.
    pub async fn report(&self, raw: &[u8]) -> Result<ReportSummary, StoreError> {
        self.record(&bounce::parse(raw), raw).await
    }

    /// Records what a report says, however it arrived (a mail, a provider's event).
    /// `identity` is what makes two arrivals the same report: the mail's bytes, or the
    /// provider's event id; recording it again changes nothing.
    pub async fn record(
        &self,
        report: &bounce::Report,
        identity: &[u8],
    ) -> Result<ReportSummary, StoreError> {
        let raw = identity;
        let mut summary = ReportSummary::default();
        if !matches!(report.kind, Kind::Bounce | Kind::Complaint) {
            summary.ignored = Some(report.kind);
            return Ok(summary);
        }
        let tagged = match self.verp_delivery(&report.report_addresses).await? {
            Verp::Forged => {
                summary.forged = true;
                return Ok(summary);
            }
            Verp::Delivery(d) => Some(d),
            Verp::None => None,
        };
        let by_message_id = match tagged {
            Some(_) => None,
            None => {
                self.message_id_delivery(&report.original_message_ids)
                    .await?
            }
        };
        let received_at = now_ms();
        let mut one_delivery_taken = false;
        for (index, r) in report.recipients.iter().enumerate() {
            let Some(class) = store_class(r.class) else {
                continue;
            };
            // A tagged or Message-ID match names one delivery (one recipient per envelope):
            // it takes the report's first counted recipient; others in it are not ours.
            let found = match (tagged, by_message_id) {
                (Some(d), _) | (None, Some(d)) => {
                    if one_delivery_taken {
                        continue;
                    }
                    one_delivery_taken = true;
                    let by = if tagged.is_some() {
                        MatchedBy::Verp
                    } else {
                        MatchedBy::MessageId
                    };
                    Some((d.subscriber_id, Some(d), by))
                }
                (None, None) => {
                    self.recipient_delivery(r.address.as_deref(), report)
                        .await?
                }
            };
            let Some((subscriber_id, delivery, matched_by)) = found else {
                summary.unmatched += 1;
                continue;
            };
            let event = NewBounceEvent {
                report_key: report_key(raw, index),
                subscriber_id,
                delivery,
                class,
                status: r.status.clone(),
                reply_code: r.reply_code.clone(),
                diagnostic: r.diagnostic.clone(),
                feedback_type: report.feedback_type.clone(),
                matched_by,
                received_at,
            };
            match self
                .store
                .record_bounce(&event, self.soft_limit, self.soft_window_ms)
                .await?
            {
                BounceEffect::Duplicate => summary.duplicates += 1,
                effect => {
                    match class {
                        BounceClass::Hard => summary.hard += 1,
                        BounceClass::Soft => summary.soft += 1,
                        BounceClass::Refused => summary.refused += 1,
                        BounceClass::Complaint => summary.complaints += 1,
                    }
                    crate::metrics::record::feedback(class.as_str());
                    if let BounceEffect::Suppressed(status) = effect {
                        summary.suppressed += 1;
                        tracing::info!(subscriber = %subscriber_id, status = status.as_str(), "suppressed by a late report");
                    }
                    if let Some(d) = delivery
                        && let Some(why) = self
                            .protection
                            .recorded(&self.store, d.message_id, class)
                            .await?
                    {
                        summary.paused.push(why);
                    }
                }
            }
        }
        Ok(summary)
    }

    async fn verp_delivery(&self, addresses: &[String]) -> Result<Verp, StoreError> {
        let Some(bounce_address) = &self.bounce_address else {
            return Ok(Verp::None);
        };
        for address in addresses {
            match bounce_address.delivery_in(&self.key, address) {
                VerpMatch::NoTag => {}
                VerpMatch::Forged => return Ok(Verp::Forged),
                VerpMatch::Delivery(id) => {
                    // A valid tag for a delivery that no longer exists matches nothing else.
                    return Ok(match self.store.delivery_ref(id).await? {
                        Some(d) => Verp::Delivery(d),
                        None => Verp::Forged,
                    });
                }
            }
        }
        Ok(Verp::None)
    }

    async fn message_id_delivery(&self, ids: &[String]) -> Result<Option<DeliveryRef>, StoreError> {
        for id in ids {
            if let Some((slug, subscriber)) = crate::mail::parse_message_id(id, &self.from_domain)
                && let Some(d) = self.store.issue_delivery(&slug, subscriber).await?
            {
                return Ok(Some(d));
            }
        }
        Ok(None)
    }

    /// The last resort: the failed recipient's address (or the returned original's To).
    async fn recipient_delivery(
        &self,
        address: Option<&str>,
        report: &bounce::Report,
    ) -> Result<Option<(uuid::Uuid, Option<DeliveryRef>, MatchedBy)>, StoreError> {
        let candidates = address
            .into_iter()
            .chain(report.original_recipients.iter().map(String::as_str));
        for candidate in candidates {
            let Ok(email) = SubscriberEmail::parse(candidate) else {
                continue;
            };
            if let Some((subscriber, delivery)) =
                self.store.latest_delivery_to(&email.normalized()).await?
            {
                return Ok(Some((subscriber, delivery, MatchedBy::Recipient)));
            }
        }
        Ok(None)
    }
}

enum Verp {
    None,
    Delivery(DeliveryRef),
    Forged,
}

/// The store's class of a parsed recipient; `None` for one to ignore.
fn store_class(class: Class) -> Option<BounceClass> {
    match class {
        Class::Hard => Some(BounceClass::Hard),
        Class::Soft => Some(BounceClass::Soft),
        Class::Refused => Some(BounceClass::Refused),
        Class::Complaint => Some(BounceClass::Complaint),
        Class::Ignore => None,
    }
}

/// A report's identity for "recorded once": its bytes and the recipient's place in it.
fn report_key(raw: &[u8], index: usize) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(raw);
    hash.update((index as u64).to_be_bytes());
    hash.finalize().into()
}
