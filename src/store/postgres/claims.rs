//! Claiming, the clock and recording on PostgreSQL, where many workers on many hosts share
//! the queue.

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use super::PgStore;
use super::sql::{claimed_from_row, record_fenced};
use crate::store::Result;
use crate::store::types::*;

/// What a statement that keeps `delivery_counts` itself evaluates, so that the count trigger
/// leaves it (migration 0011 reads `morningpost.counted`; decision 41): the statement's own
/// timestamp, which no later statement of the transaction has.
macro_rules! counted_itself {
    () => {
        "set_config('morningpost.counted', statement_timestamp()::text, true)"
    };
}

impl PgStore {
    /// One statement: pick due rows nobody holds (`SKIP LOCKED`), lease them, return them
    /// with their subscriber. It commits at once, before any SMTP conversation. A claim
    /// changes no kept count (decision 41): it tells the count trigger so.
    pub async fn claim(
        &self,
        class: Option<QueueClass>,
        limit: usize,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<Claimed>> {
        let sql = crate::store::types::claim_sql_for!(
            class,
            "WITH due AS (
                 SELECT id FROM deliveries
                 WHERE state IN ('queued', 'sending') AND due_at <= $2",
            concat!(
                "
                 ORDER BY priority DESC, due_at
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED),
             counted AS (SELECT ",
                counted_itself!(),
                ")
             UPDATE deliveries d
             SET state = 'sending', attempts = d.attempts + 1, due_at = $1, updated_at = $2
             FROM due, subscribers s, counted
             WHERE d.id = due.id AND s.id = d.subscriber_id
             RETURNING d.id, d.attempts, d.failures, d.message_id, d.token_id, d.queued_at,
                       s.id AS subscriber_id, s.email, s.name, s.status, s.consent"
            )
        );
        let rows = self
            .on_conn(async |c| {
                Ok(sqlx::query(sql)
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
        // RETURNING has no order: confirmations first, as the claim picked them.
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

/// The statement of sent outcomes: fenced like every outcome (`record_one`), and counting
/// its rows itself (from in flight, kept as queued, to sent; decision 41), cheaper than
/// the count trigger, which it tells so. Returns how many rows it changed.
const RECORD_SENT: &str = concat!(
    "WITH applied AS (
         UPDATE deliveries d
         SET state = 'sent', sent_at = $4, due_at = NULL, last_reply = u.reply, updated_at = $4
         FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, attempt, reply)
         WHERE d.id = u.id AND d.attempts = u.attempt AND d.state = 'sending'
         RETURNING d.message_id, d.failures, d.queued_at),
     counted AS (
         INSERT INTO delivery_counts AS c (message_id, state, retrying, due_minute, shard, n)
         SELECT message_id, state, retrying, due_minute, pg_backend_pid(), sum(n) FROM (
             SELECT message_id, delivery_count_state('sending') AS state,
                    delivery_count_retrying('sending', failures) AS retrying,
                    delivery_count_due_minute('sending', failures, queued_at) AS due_minute, -1 AS n
             FROM applied
             UNION ALL
             SELECT message_id, 'sent', false, 0, 1 FROM applied) AS k
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
         ON CONFLICT (message_id, state, retrying, due_minute, shard) DO UPDATE SET n = c.n + excluded.n),
     flag AS (SELECT ",
    counted_itself!(),
    ")
     SELECT count(*) FROM applied, flag"
);

async fn record_on(c: &mut PgConnection, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
    let mut ids = Vec::new();
    let mut attempts = Vec::new();
    let mut replies = Vec::new();
    let mut others = Vec::new();
    for r in outcomes {
        match &r.outcome {
            Outcome::Sent { reply } => {
                ids.push(r.delivery_id);
                attempts.push(r.attempt);
                replies.push(reply.as_str());
            }
            _ => others.push(r),
        }
    }
    let mut fenced = 0;
    if !ids.is_empty() {
        let applied: i64 = sqlx::query_scalar(RECORD_SENT)
            .bind(&ids)
            .bind(&attempts)
            .bind(&replies)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
        fenced += ids.len() - usize::try_from(applied).unwrap_or(ids.len()).min(ids.len());
    }
    if others.is_empty() {
        return Ok(fenced);
    }
    let mut tx = c.begin().await?;
    fenced += record_fenced(&mut tx, others, now).await?;
    tx.commit().await?;
    Ok(fenced)
}
