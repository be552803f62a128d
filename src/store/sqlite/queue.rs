//! The delivery queue: enqueue, claim under a lease, record fenced outcomes, count.

use sqlx::Row;
use uuid::Uuid;

use super::SqliteStore;
use super::rows::*;
use crate::store::Result;
use crate::store::rules::tally;
use crate::store::types::*;

impl SqliteStore {
    pub async fn enqueue_issue(&self, message_id: Uuid, now: i64) -> Result<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(
            "INSERT INTO deliveries (message_id, subscriber_id, priority, state, due_at, queued_at, updated_at)
             SELECT ?1, id, 0, 'queued', ?2, ?2, ?2 FROM subscribers WHERE status = 'active'
             ORDER BY id
             ON CONFLICT (message_id, subscriber_id) WHERE token_id IS NULL DO NOTHING",
        )
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE messages SET enqueued_at = COALESCE(enqueued_at, ?2) WHERE id = ?1")
            .bind(message_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn count_active(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM subscribers WHERE status = 'active'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn claim(&self, limit: usize, lease_until: i64, now: i64) -> Result<Vec<Claimed>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let claimed = sqlx::query(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, due_at = ?1, updated_at = ?2
             WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE state IN ('queued', 'sending') AND due_at <= ?2
                 ORDER BY priority DESC, due_at
                 LIMIT ?3)
             RETURNING id",
        )
        .bind(lease_until)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = claimed
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        let ids_json = serde_json_array(&ids);
        let rows = sqlx::query(
            "SELECT d.id, d.attempts, d.failures, d.message_id, d.token_id, d.queued_at, s.id AS subscriber_id, s.email, s.name, s.status
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.id IN (SELECT value FROM json_each(?1))
             ORDER BY d.priority DESC, d.id",
        )
        .bind(ids_json)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(claimed_from_row).collect()
    }

    /// One host: the local clock is the clock.
    pub async fn now_ms(&self) -> Result<i64> {
        Ok(crate::queue::now_ms())
    }

    pub async fn record(&self, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
        let mut fenced = 0;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for r in outcomes {
            let q = match &r.outcome {
                Outcome::Sent { reply } => sqlx::query(
                    "UPDATE deliveries SET state = 'sent', sent_at = ?3, due_at = NULL, last_reply = ?4, updated_at = ?3
                     WHERE id = ?1 AND attempts = ?2 AND state = 'sending'",
                )
                .bind(r.delivery_id)
                .bind(r.attempt)
                .bind(now)
                .bind(reply),
                Outcome::Retry { reply, due_at } => sqlx::query(
                    "UPDATE deliveries SET state = 'queued', failures = failures + 1, due_at = ?4, last_reply = ?5, updated_at = ?3
                     WHERE id = ?1 AND attempts = ?2 AND state = 'sending'",
                )
                .bind(r.delivery_id)
                .bind(r.attempt)
                .bind(now)
                .bind(due_at)
                .bind(reply),
                Outcome::Failed { reply, .. } => sqlx::query(
                    "UPDATE deliveries SET state = 'failed', due_at = NULL, last_reply = ?4, updated_at = ?3
                     WHERE id = ?1 AND attempts = ?2 AND state = 'sending'",
                )
                .bind(r.delivery_id)
                .bind(r.attempt)
                .bind(now)
                .bind(reply),
                Outcome::Cancelled { reason } => sqlx::query(
                    "UPDATE deliveries SET state = 'cancelled', due_at = NULL, last_reply = ?4, updated_at = ?3
                     WHERE id = ?1 AND attempts = ?2 AND state = 'sending'",
                )
                .bind(r.delivery_id)
                .bind(r.attempt)
                .bind(now)
                .bind(reason),
                Outcome::Released => sqlx::query(
                    "UPDATE deliveries SET state = 'queued', due_at = ?3, updated_at = ?3
                     WHERE id = ?1 AND attempts = ?2 AND state = 'sending'",
                )
                .bind(r.delivery_id)
                .bind(r.attempt)
                .bind(now),
            };
            let applied = q.execute(&mut *tx).await?.rows_affected() == 1;
            if !applied {
                fenced += 1;
                continue;
            }
            if let Outcome::Failed {
                reply,
                bounce: true,
            } = &r.outcome
            {
                sqlx::query(
                    "UPDATE subscribers SET status = 'bounced', bounced_at = ?2, bounce_reply = ?3, updated_at = ?2
                     WHERE id = ?1 AND status IN ('active', 'pending')",
                )
                .bind(r.subscriber_id)
                .bind(now)
                .bind(reply)
                .execute(&mut *tx)
                .await?;
                cancel_pending(&mut tx, r.subscriber_id, "subscriber bounced", now).await?;
            }
        }
        tx.commit().await?;
        Ok(fenced)
    }

    pub async fn queue_counts(&self, message_id: Option<Uuid>) -> Result<QueueCounts> {
        let rows = sqlx::query(
            // Two statements, not `?1 IS NULL OR …`: only a plain equality lets the planner
            // count from the (message_id, state, failures) index.
            match message_id {
                Some(_) => "SELECT state, failures > 0 AS retrying, count(*) AS n FROM deliveries
                            WHERE message_id = ?1 GROUP BY 1, 2",
                None => "SELECT state, failures > 0 AS retrying, count(*) AS n FROM deliveries GROUP BY 1, 2",
            },
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        let mut c = QueueCounts::default();
        for row in &rows {
            let state: String = row.try_get("state")?;
            let retrying: bool = row.try_get("retrying")?;
            let n: i64 = row.try_get("n")?;
            tally(&mut c, &state, retrying, n)?;
        }
        Ok(c)
    }

    /// Whether anything (of this message) is queued or in flight: an index probe, not a count.
    pub async fn has_pending(&self, message_id: Option<Uuid>) -> Result<bool> {
        let sql = match message_id {
            Some(_) => {
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE message_id = ?1 AND state IN ('queued', 'sending'))"
            }
            None => {
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state IN ('queued', 'sending') AND ?1 IS NULL)"
            }
        };
        Ok(sqlx::query_scalar(sql)
            .bind(message_id)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn status_report(&self, message_id: Option<Uuid>, now: i64) -> Result<StatusReport> {
        let counts = self.queue_counts(message_id).await?;
        let sent_last_minute: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE sent_at IS NOT NULL AND sent_at >= ?2 AND (?1 IS NULL OR message_id = ?1)",
        )
        .bind(message_id)
        .bind(now - 60_000)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(match message_id {
            Some(_) => "SELECT last_reply, count(*) AS n FROM deliveries
                        WHERE message_id = ?1 AND (state = 'failed' OR (state = 'queued' AND failures > 0))
                        GROUP BY last_reply ORDER BY n DESC LIMIT 5",
            None => "SELECT last_reply, count(*) AS n FROM deliveries
                     WHERE (state = 'failed' OR (state = 'queued' AND failures > 0)) AND ?1 IS NULL
                     GROUP BY last_reply ORDER BY n DESC LIMIT 5",
        })
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        let top_failures = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                    r.try_get::<i64, _>(1)?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(StatusReport {
            counts,
            sent_last_minute,
            top_failures,
        })
    }
}

fn serde_json_array(ids: &[i64]) -> String {
    let mut s = String::with_capacity(ids.len() * 8 + 2);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}
