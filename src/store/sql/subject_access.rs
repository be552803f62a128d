//! Everything the database holds about one subscriber (`subscribers show`, the GDPR art. 15
//! answer): their row, each delivery with its outcome, the confirmation mails sent (never
//! the tokens), and the bounce and complaint reports recorded.

use sqlx::Row;

use super::Handle;
use crate::store::Result;
use crate::store::types::*;

impl Handle {
    pub async fn subscriber_record(&self, email_key: &str) -> Result<Option<SubscriberRecord>> {
        let Some((subscriber, suppressed)) = self.backup_of(email_key).await? else {
            return Ok(None);
        };
        let id = subscriber.id;
        let deliveries = sqlx::query(
            "SELECT m.kind, m.slug, d.state, d.attempts, d.last_reply, d.queued_at, d.sent_at, d.updated_at
             FROM deliveries d JOIN messages m ON m.id = d.message_id
             WHERE d.subscriber_id = $1 ORDER BY d.queued_at, d.id",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(DeliveryHistory {
                what: match r.try_get::<Option<String>, _>("slug")? {
                    Some(slug) => format!("issue {slug}"),
                    None => r.try_get::<String, _>("kind")?,
                },
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                last_reply: r.try_get("last_reply")?,
                queued_at: r.try_get("queued_at")?,
                sent_at: r.try_get("sent_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let confirmations = sqlx::query(
            "SELECT created_at, expires_at, used_at FROM confirmation_tokens
             WHERE subscriber_id = $1 ORDER BY created_at",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("created_at")?, r.try_get("used_at")?)))
        .collect::<Result<Vec<_>>>()?;
        let reports = sqlx::query(
            "SELECT e.class, e.status, e.reply_code, e.diagnostic, e.feedback_type, e.matched_by,
                    e.received_at, m.slug
             FROM bounce_events e LEFT JOIN messages m ON m.id = e.message_id
             WHERE e.subscriber_id = $1 ORDER BY e.received_at, e.id",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(ReportHistory {
                class: r.try_get("class")?,
                status: r.try_get("status")?,
                reply_code: r.try_get("reply_code")?,
                diagnostic: r.try_get("diagnostic")?,
                feedback_type: r.try_get("feedback_type")?,
                matched_by: r.try_get("matched_by")?,
                received_at: r.try_get("received_at")?,
                issue: r.try_get("slug")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(SubscriberRecord {
            subscriber,
            suppressed,
            confirmations,
            deliveries,
            reports,
        }))
    }
}
