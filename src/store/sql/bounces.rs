//! Late bounces and complaints: finding the delivery a report is about, recording each
//! failed recipient once, and what that does to the subscriber (docs/architecture.md
//! decision 28).

use sqlx::Row;
use uuid::Uuid;

use super::queue::cancel_pending;
use super::rows::delivery_from_row;
use super::suppressions::suppress_subscriber;
use super::{Conn, Handle};
use crate::store::Result;
use crate::store::subscriber_data::SuppressionReason;
use crate::store::types::*;

/// A delivery that still has its subscriber: one whose subscriber was erased matches no report.
const DELIVERY_REF: &str = "SELECT d.id, d.subscriber_id, d.message_id FROM deliveries d
     JOIN subscribers s ON s.id = d.subscriber_id";

impl Handle {
    /// The delivery a VERP tag names.
    pub async fn delivery_ref(&self, delivery_id: i64) -> Result<Option<DeliveryRef>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{DELIVERY_REF} WHERE d.id = $1"
        )))
        .bind(delivery_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| delivery_from_row(&r)).transpose()
    }

    /// The delivery of an issue to a subscriber (what our Message-ID names).
    pub async fn issue_delivery(
        &self,
        slug: &str,
        subscriber_id: Uuid,
    ) -> Result<Option<DeliveryRef>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{DELIVERY_REF} JOIN messages m ON m.id = d.message_id
             WHERE m.slug = $1 AND d.subscriber_id = $2 AND d.token_id IS NULL"
        )))
        .bind(slug)
        .bind(subscriber_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| delivery_from_row(&r)).transpose()
    }

    /// The subscriber with this address and their latest sent issue delivery (a report
    /// matched by its recipient alone).
    pub async fn latest_delivery_to(
        &self,
        email_key: &str,
    ) -> Result<Option<(Uuid, Option<DeliveryRef>)>> {
        let Some(subscriber_id): Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM subscribers WHERE email_key = $1")
                .bind(email_key)
                .fetch_optional(self.reader())
                .await?
        else {
            return Ok(None);
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{DELIVERY_REF}
             WHERE d.subscriber_id = $1 AND d.state = 'sent' AND d.token_id IS NULL
               AND d.message_id IN (SELECT id FROM messages WHERE kind = 'issue')
             ORDER BY d.sent_at DESC LIMIT 1"
        )))
        .bind(subscriber_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(Some((
            subscriber_id,
            row.map(|r| delivery_from_row(&r)).transpose()?,
        )))
    }

    /// Records one failed recipient of a report, once, and applies its class: a hard bounce
    /// suppresses the address, a complaint marks the reader complained, a soft bounce
    /// suppresses after `soft_limit` sent issues in a row within the window all bounced
    /// softly (a delivery between them that did not bounce breaks the streak), a refusal
    /// only counts. Suppressing cancels what was queued for them.
    pub async fn record_bounce(
        &self,
        e: &NewBounceEvent,
        soft_limit: u32,
        soft_window_ms: i64,
    ) -> Result<BounceEffect> {
        let mut tx = self.begin_write().await?;
        Handle::lock_subscriber(&mut tx, e.subscriber_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO bounce_events (report_key, subscriber_id, delivery_id, message_id, class, status,
                                        reply_code, diagnostic, feedback_type, matched_by, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (report_key) DO NOTHING",
        )
        .bind(&e.report_key[..])
        .bind(e.subscriber_id)
        .bind(e.delivery.map(|d| d.delivery_id))
        .bind(e.delivery.map(|d| d.message_id))
        .bind(e.class.as_str())
        .bind(e.status.as_deref())
        .bind(e.reply_code.as_deref())
        .bind(e.diagnostic.as_deref())
        .bind(e.feedback_type.as_deref())
        .bind(e.matched_by.as_str())
        .bind(e.received_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.commit().await?;
            return Ok(BounceEffect::Duplicate);
        }
        let reason = || {
            let mut words = [
                e.reply_code.as_deref(),
                e.status.as_deref(),
                e.diagnostic.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            words.truncate(500);
            words
        };
        let effect = match e.class {
            BounceClass::Refused => BounceEffect::Recorded,
            BounceClass::Hard => {
                suppress_bounced(&mut tx, e, &format!("late bounce: {}", reason())).await?
            }
            BounceClass::Soft => {
                if soft_streak(
                    &mut tx,
                    e.subscriber_id,
                    soft_limit,
                    e.received_at - soft_window_ms,
                )
                .await?
                {
                    let why = format!("{soft_limit} soft bounces in a row, the last: {}", reason());
                    suppress_bounced(&mut tx, e, &why).await?
                } else {
                    BounceEffect::Recorded
                }
            }
            BounceClass::Complaint => {
                let changed = sqlx::query(
                    "UPDATE subscribers SET status = 'complained', complained_at = $2,
                         unsubscribed_at = COALESCE(unsubscribed_at, $2), updated_at = $2
                     WHERE id = $1 AND status <> 'complained'",
                )
                .bind(e.subscriber_id)
                .bind(e.received_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 1 {
                    suppress_subscriber(
                        &mut tx,
                        e.subscriber_id,
                        SuppressionReason::Complained,
                        e.received_at,
                    )
                    .await?;
                    cancel_pending(
                        &mut tx,
                        e.subscriber_id,
                        "subscriber complained",
                        e.received_at,
                    )
                    .await?;
                    BounceEffect::Suppressed(SubscriberStatus::Complained)
                } else {
                    BounceEffect::Recorded
                }
            }
        };
        tx.commit().await?;
        Ok(effect)
    }

    /// The receiving domains that refused most of an issue's mail, with their counts.
    pub async fn refused_by_domain(&self, message_id: Uuid) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(super::dialect::REFUSED_BY_DOMAIN)
            .bind(message_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("domain")?, r.try_get("n")?)))
            .collect()
    }

    /// Late reports about an issue's deliveries, by class.
    pub async fn bounce_counts(&self, message_id: Uuid) -> Result<BounceCounts> {
        let rows = sqlx::query(
            "SELECT class, count(*) AS n FROM bounce_events WHERE message_id = $1 GROUP BY class",
        )
        .bind(message_id)
        .fetch_all(self.reader())
        .await?;
        let mut c = BounceCounts::default();
        for r in &rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("class")?.as_str() {
                "hard" => c.hard += n,
                "soft" => c.soft += n,
                "refused" => c.refused += n,
                "complaint" => c.complaints += n,
                other => {
                    return Err(crate::store::StoreError::Corrupt(format!(
                        "unknown bounce class {other:?}"
                    )));
                }
            }
        }
        Ok(c)
    }
}

/// Marks an active or pending subscriber bounced ("never mail" statuses are never weakened)
/// and cancels what was queued for them.
async fn suppress_bounced(tx: &mut Conn, e: &NewBounceEvent, why: &str) -> Result<BounceEffect> {
    let changed = sqlx::query(
        "UPDATE subscribers SET status = 'bounced', bounced_at = $2, bounce_reply = $3, updated_at = $2
         WHERE id = $1 AND status IN ('active', 'pending')",
    )
    .bind(e.subscriber_id)
    .bind(e.received_at)
    .bind(why)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(BounceEffect::Recorded);
    }
    suppress_subscriber(
        tx,
        e.subscriber_id,
        SuppressionReason::Bounced,
        e.received_at,
    )
    .await?;
    cancel_pending(tx, e.subscriber_id, "subscriber bounced", e.received_at).await?;
    Ok(BounceEffect::Suppressed(SubscriberStatus::Bounced))
}

/// Whether the subscriber's last `limit` sent issues since `since` all bounced softly.
async fn soft_streak(tx: &mut Conn, subscriber_id: Uuid, limit: u32, since: i64) -> Result<bool> {
    // Through the issues' ids: both backends then probe the (message, subscriber) index.
    let rows = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM bounce_events e WHERE e.delivery_id = d.id AND e.class = 'soft') AS soft
         FROM deliveries d
         WHERE d.subscriber_id = $1 AND d.state = 'sent' AND d.token_id IS NULL AND d.sent_at >= $2
           AND d.message_id IN (SELECT id FROM messages WHERE kind = 'issue')
         ORDER BY d.sent_at DESC LIMIT $3",
    )
    .bind(subscriber_id)
    .bind(since)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let soft = rows
        .iter()
        .map(|r| r.try_get::<bool, _>("soft"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(soft.len() == limit as usize && soft.iter().all(|s| *s))
}
