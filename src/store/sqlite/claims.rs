//! Claiming, the clock and recording on SQLite: one process's writer serialises them all.

use sqlx::Row;

use super::SqliteStore;
use super::sql::{claimed_from_row, record_fenced};
use crate::store::Result;
use crate::store::types::*;

impl SqliteStore {
    /// Leases the due rows in one update, then reads them with their subscribers, in one
    /// `BEGIN IMMEDIATE` transaction.
    pub async fn claim(
        &self,
        class: Option<QueueClass>,
        limit: usize,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<Claimed>> {
        let mut tx = self.begin_write().await?;
        record_clock_floor(&mut tx, now).await?;
        let claimed = sqlx::query(claim_sql(class))
            .bind(lease_until)
            .bind(now)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let ids = claimed
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT d.id, d.attempts, d.failures, d.message_id, d.token_id, d.queued_at, s.id AS subscriber_id, s.email, s.name, s.status, s.consent
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.id IN (SELECT value FROM json_each($1))
             ORDER BY d.priority DESC, d.id",
        )
        .bind(serde_json::Value::from(ids).to_string())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(claimed_from_row).collect()
    }

    /// One host: the local clock is the clock.
    pub async fn now_ms(&self) -> Result<i64> {
        Ok(crate::clock::now_ms())
    }

    /// The latest time this database has acted on, for a process opening it
    /// ([`crate::clock::raise_floor`]).
    pub(super) async fn clock_floor(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT at_ms FROM clock_floor WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    pub async fn record(&self, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let fenced = record_fenced(&mut tx, outcomes, now).await?;
        tx.commit().await?;
        Ok(fenced)
    }
}

/// Raises the database's clock floor to `now` (one row, in the caller's write transaction).
pub(super) async fn record_clock_floor(tx: &mut super::Conn, now: i64) -> Result<()> {
    sqlx::query("UPDATE clock_floor SET at_ms = $1 WHERE id = 1 AND at_ms < $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The claim's update, for all classes or one.
fn claim_sql(class: Option<QueueClass>) -> &'static str {
    crate::store::types::claim_sql_for!(
        class,
        "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, due_at = $1, updated_at = $2
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE state IN ('queued', 'sending') AND due_at <= $2",
        "
             ORDER BY priority DESC, due_at
             LIMIT $3)
         RETURNING id"
    )
}
