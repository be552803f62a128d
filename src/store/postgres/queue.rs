//! The delivery queue: enqueue, claim under a lease, record fenced outcomes, count.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};
use uuid::Uuid;

use super::PgStore;
use super::rows::*;
use crate::store::Result;
use crate::store::rules::tally;
use crate::store::types::*;

impl PgStore {
    /// One statement. Enqueues of the same message take turns (an advisory lock), so the
    /// anti-join sees every earlier row and no speculative insertion is needed.
    pub async fn enqueue_issue(&self, message_id: Uuid, now: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        // A million rows take longer than an interactive statement may.
        sqlx::query("SET LOCAL statement_timeout = '10min'")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7243002, hashtext($1::text))")
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query(
            "INSERT INTO deliveries (message_id, subscriber_id, priority, state, due_at, queued_at, updated_at)
             SELECT $1, s.id, 0, 'queued', $2, $2, $2 FROM subscribers s
             WHERE s.status = 'active'
               AND NOT EXISTS (SELECT 1 FROM deliveries d
                               WHERE d.subscriber_id = s.id AND d.message_id = $1 AND d.token_id IS NULL)
             ORDER BY s.id",
        )
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE messages SET enqueued_at = COALESCE(enqueued_at, $2) WHERE id = $1")
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

    /// One statement: pick due rows nobody holds (`SKIP LOCKED`), lease them, return them
    /// with their subscriber. It commits at once, before any SMTP conversation.
    pub async fn claim(&self, limit: usize, lease_until: i64, now: i64) -> Result<Vec<Claimed>> {
        let rows = self
            .on_conn(async |c| {
                Ok(sqlx::query(
                    "WITH due AS (
                 SELECT id FROM deliveries
                 WHERE state IN ('queued', 'sending') AND due_at <= $2
                 ORDER BY priority DESC, due_at
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             UPDATE deliveries d
             SET state = 'sending', attempts = d.attempts + 1, due_at = $1, updated_at = $2
             FROM due, subscribers s
             WHERE d.id = due.id AND s.id = d.subscriber_id
             RETURNING d.id, d.attempts, d.failures, d.message_id, d.token_id, d.queued_at,
                       s.id AS subscriber_id, s.email, s.name, s.status",
                )
                .bind(lease_until)
                .bind(now)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(c)
                .await?)
            })
            .await?;
        let mut claimed = rows
            .iter()
            .map(claimed_from_row)
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|c| (std::cmp::Reverse(c.token_id.is_some()), c.delivery_id));
        Ok(claimed)
    }

    /// The database's clock: every host's leases are timed by the same clock.
    pub async fn now_ms(&self) -> Result<i64> {
        self.on_conn(async |c| {
            Ok(
                sqlx::query_scalar("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
                    .fetch_one(c)
                    .await?,
            )
        })
        .await
    }

    /// Sent outcomes, the common case, go in one statement (one round trip, one commit);
    /// the rest row by row in a transaction.
    pub async fn record(&self, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
        self.on_conn(async |c| record_on(c, outcomes, now).await)
            .await
    }
}

async fn record_on(c: &mut PgConnection, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
    let (sent, others): (Vec<&OutcomeRecord>, Vec<&OutcomeRecord>) = outcomes
        .iter()
        .partition(|r| matches!(r.outcome, Outcome::Sent { .. }));
    let mut fenced = 0;
    if !sent.is_empty() {
        let ids: Vec<i64> = sent.iter().map(|r| r.delivery_id).collect();
        let attempts: Vec<i64> = sent.iter().map(|r| r.attempt).collect();
        let replies: Vec<String> = sent
            .iter()
            .map(|r| match &r.outcome {
                Outcome::Sent { reply } => reply.clone(),
                _ => String::new(),
            })
            .collect();
        let applied = sqlx::query(
            "UPDATE deliveries d
             SET state = 'sent', sent_at = $4, due_at = NULL, last_reply = u.reply, updated_at = $4
             FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, attempt, reply)
             WHERE d.id = u.id AND d.attempts = u.attempt AND d.state = 'sending'",
        )
        .bind(&ids)
        .bind(&attempts)
        .bind(&replies)
        .bind(now)
        .execute(&mut *c)
        .await?
        .rows_affected();
        fenced += sent.len() - usize::try_from(applied).unwrap_or(sent.len());
    }
    if others.is_empty() {
        return Ok(fenced);
    }
    let mut tx = c.begin().await?;
    for r in others {
        let q = match &r.outcome {
            Outcome::Sent { reply } => sqlx::query(
                "UPDATE deliveries SET state = 'sent', sent_at = $3, due_at = NULL, last_reply = $4, updated_at = $3
                 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            )
            .bind(r.delivery_id)
            .bind(r.attempt)
            .bind(now)
            .bind(reply),
            Outcome::Retry { reply, due_at } => sqlx::query(
                "UPDATE deliveries SET state = 'queued', failures = failures + 1, due_at = $4, last_reply = $5, updated_at = $3
                 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            )
            .bind(r.delivery_id)
            .bind(r.attempt)
            .bind(now)
            .bind(due_at)
            .bind(reply),
            Outcome::Failed { reply, .. } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', due_at = NULL, last_reply = $4, updated_at = $3
                 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            )
            .bind(r.delivery_id)
            .bind(r.attempt)
            .bind(now)
            .bind(reply),
            Outcome::Cancelled { reason } => sqlx::query(
                "UPDATE deliveries SET state = 'cancelled', due_at = NULL, last_reply = $4, updated_at = $3
                 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            )
            .bind(r.delivery_id)
            .bind(r.attempt)
            .bind(now)
            .bind(reason),
            Outcome::Released => sqlx::query(
                "UPDATE deliveries SET state = 'queued', due_at = $3, updated_at = $3
                 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
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
                "UPDATE subscribers SET status = 'bounced', bounced_at = $2, bounce_reply = $3, updated_at = $2
                 WHERE id = $1 AND status IN ('active', 'pending')",
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

impl PgStore {
    pub async fn queue_counts(&self, message_id: Option<Uuid>) -> Result<QueueCounts> {
        let rows = sqlx::query(
            // Two statements, not `$1 IS NULL OR …`: only a plain equality lets the planner
            // count from the (message_id, state, failures) index.
            match message_id {
                Some(_) => "SELECT state, failures > 0 AS retrying, count(*) AS n FROM deliveries
                            WHERE message_id = $1 GROUP BY 1, 2",
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
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE message_id = $1 AND state IN ('queued', 'sending'))"
            }
            None => {
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state IN ('queued', 'sending') AND $1::uuid IS NULL)"
            }
        };
        self.on_conn(async |c| {
            Ok(sqlx::query_scalar(sql)
                .bind(message_id)
                .fetch_one(c)
                .await?)
        })
        .await
    }

    pub async fn status_report(&self, message_id: Option<Uuid>, now: i64) -> Result<StatusReport> {
        let counts = self.queue_counts(message_id).await?;
        let sent_last_minute: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE sent_at IS NOT NULL AND sent_at >= $2 AND ($1::uuid IS NULL OR message_id = $1)",
        )
        .bind(message_id)
        .bind(now - 60_000)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(match message_id {
            Some(_) => "SELECT last_reply, count(*) AS n FROM deliveries
                        WHERE message_id = $1 AND (state = 'failed' OR (state = 'queued' AND failures > 0))
                        GROUP BY last_reply ORDER BY n DESC LIMIT 5",
            None => "SELECT last_reply, count(*) AS n FROM deliveries
                     WHERE (state = 'failed' OR (state = 'queued' AND failures > 0)) AND $1::uuid IS NULL
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
