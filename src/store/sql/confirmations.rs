//! The confirmation mail's hourly budget and its backlog (docs/architecture.md decision 36):
//! what the workers count before claiming confirmations, what they note for `status` and the
//! metrics, and the operator's purge of sign-ups nobody confirmed.

use sqlx::Row;

use super::Handle;
use crate::store::Result;
use crate::store::types::*;

/// Pending sign-ups last made before `$1`.
macro_rules! stale {
    () => {
        "SELECT id FROM subscribers WHERE status = 'pending' AND updated_at < $1"
    };
}

/// Those of them never confirmed and with nothing else on record: sign-ups nobody answered.
macro_rules! unanswered {
    () => {
        "SELECT s.id FROM subscribers s
         WHERE s.status = 'pending' AND s.updated_at < $1 AND s.confirmed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = s.id AND d.token_id IS NULL)
           AND NOT EXISTS (SELECT 1 FROM bounce_events b WHERE b.subscriber_id = s.id)"
    };
}

/// Confirmation mail due and not yet sent at `$1`: what the claim's confirmation half takes.
macro_rules! confirmation_due {
    () => {
        "state IN ('queued', 'sending') AND priority > 0 AND due_at <= $1"
    };
}

impl Handle {
    /// Confirmations sent at or after `since` (the last hour): from an index that holds
    /// confirmation mail only.
    pub async fn confirmations_sent_since(&self, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE priority > 0 AND sent_at IS NOT NULL AND sent_at >= $1",
        )
        .bind(since)
        .fetch_one(self.reader())
        .await?)
    }

    /// How many confirmation mails are due at `now`, counted up to `cap`: at most `cap` entries
    /// of the claim's index are read, however long the backlog (the sign-up inbox's gate,
    /// decision 40, and with a cap of 1 whether any is waiting).
    pub async fn confirmations_due_up_to(&self, now: i64, cap: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE ",
            confirmation_due!(),
            " LIMIT $2) AS due"
        ))
        .bind(now)
        .bind(cap)
        .fetch_one(self.reader())
        .await?)
    }

    /// Notes what a worker saw of the budget: the limit, and whether it is exhausted (the
    /// first worker to see it keeps its time as "since").
    pub async fn note_confirmation_budget(
        &self,
        per_hour: i64,
        exhausted: bool,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO confirmation_budget (id, per_hour, exhausted_since, looked_at)
             VALUES (1, $1, CASE WHEN $2 THEN $3 END, $3)
             ON CONFLICT (id) DO UPDATE SET
                 per_hour = excluded.per_hour,
                 exhausted_since = CASE WHEN $2
                     THEN COALESCE(confirmation_budget.exhausted_since, $3) END,
                 looked_at = excluded.looked_at",
        )
        .bind(per_hour)
        .bind(exhausted)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The sign-ups waiting for their confirmation mail, and the budget as last noted.
    pub async fn confirmation_backlog(&self, now: i64) -> Result<ConfirmationBacklog> {
        let row = sqlx::query(concat!(
            "SELECT count(*) AS waiting, min(queued_at) AS oldest,
                    (SELECT count(*) FROM subscribers WHERE status = 'pending') AS pending
             FROM deliveries WHERE ",
            confirmation_due!()
        ))
        .bind(now)
        .fetch_one(self.reader())
        .await?;
        let budget = sqlx::query(
            "SELECT per_hour, exhausted_since, looked_at FROM confirmation_budget WHERE id = 1",
        )
        .fetch_optional(self.reader())
        .await?;
        let waiting: i64 = row.try_get("waiting")?;
        let (held, oldest_held_since) = self.held_summary().await?;
        Ok(ConfirmationBacklog {
            held,
            oldest_held_since,
            waiting,
            oldest_waiting_since: row.try_get("oldest")?,
            pending: row.try_get("pending")?,
            per_hour: budget.as_ref().map(|b| b.try_get("per_hour")).transpose()?,
            // Nothing waits (a purge, or the hour moved on): the budget holds nothing back,
            // whatever a worker noted last.
            exhausted_since: match &budget {
                Some(b) if waiting + held > 0 => b.try_get("exhausted_since")?,
                _ => None,
            },
            looked_at: budget
                .as_ref()
                .map(|b| b.try_get("looked_at"))
                .transpose()?,
        })
    }

    /// `signups purge`: drops the confirmation mail still waiting for sign-ups last made
    /// before `cutoff`, and deletes the subscribers among them who never confirmed and have
    /// nothing else on record, with their tokens (their links stop working). Readers who were
    /// subscribed before keep their row and history; only their waiting mail goes. Sign-ups
    /// held in the inbox since before `cutoff` are dropped too (after the database's own).
    pub async fn purge_pending(&self, cutoff: i64) -> Result<PurgeReport> {
        let mut tx = self.begin_write().await?;
        let dropped = sqlx::query(concat!(
            "DELETE FROM deliveries
             WHERE token_id IS NOT NULL AND state IN ('queued', 'sending') AND subscriber_id IN (",
            stale!(),
            ")"
        ))
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        for statement in [
            concat!(
                "DELETE FROM deliveries WHERE token_id IS NOT NULL AND subscriber_id IN (",
                unanswered!(),
                ")"
            ),
            concat!(
                "DELETE FROM confirmation_tokens WHERE subscriber_id IN (",
                unanswered!(),
                ")"
            ),
        ] {
            sqlx::query(statement)
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query(concat!(
            "DELETE FROM subscribers WHERE id IN (",
            unanswered!(),
            ")"
        ))
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(PurgeReport {
            confirmations_dropped: dropped,
            subscribers_deleted: deleted,
            held_dropped: self.purge_held(cutoff).await?,
        })
    }
}
