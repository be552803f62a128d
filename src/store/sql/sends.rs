//! The operator's controls over an issue's send: holds (pause, cancel, resume), the start of a
//! scheduled send, retries, publishing, and the list of issues.
//!
//! A hold lives on the message; the deliveries follow it: a paused send's queued rows become
//! `paused` (out of the claim index), a cancelled send's become `cancelled`, and a row that
//! comes back from a worker later takes its send's hold too (`requeue_state!`).

use std::collections::HashMap;

use sqlx::Row;
use uuid::Uuid;

use super::rows::send_control_from_row;
use super::{Conn, Handle};
use crate::store::Result;
use crate::store::rules::tally;
use crate::store::types::*;

/// The reply recorded on deliveries the operator cancelled, and the cancel's hold reason.
pub const CANCELLED_BY_OPERATOR: &str = "cancelled by the operator";

impl Handle {
    /// Pauses a send that is not held: its queued rows stop being claimed. Returns how many
    /// rows the hold took, `None` when the send was held already.
    pub async fn pause(&self, message_id: Uuid, reason: &str, now: i64) -> Result<Option<u64>> {
        let mut tx = self.begin_write().await?;
        let held = place_hold(&mut tx, message_id, Hold::Paused, reason, now, false).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// Lifts a pause: the held rows are queued again with their due times (a row due in the
    /// past goes now). A send paused before it started starts now: the lateness check is
    /// not made twice. Returns how many rows came back, `None` when it was not paused.
    pub async fn resume(&self, message_id: Uuid, now: i64) -> Result<Option<u64>> {
        let mut tx = self.begin_write().await?;
        let lifted = sqlx::query(
            "UPDATE messages SET hold = NULL, hold_reason = NULL, held_at = NULL,
                 started_at = CASE WHEN started_at IS NULL AND scheduled_at <= $2 THEN $2 ELSE started_at END,
                 published_at = CASE WHEN published_at IS NULL AND scheduled_at <= $2 THEN $2 ELSE published_at END
             WHERE id = $1 AND hold = 'paused'",
        )
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if lifted == 0 {
            tx.commit().await?;
            return Ok(None);
        }
        let back = sqlx::query(
            "UPDATE deliveries SET state = 'queued', updated_at = $2
             WHERE message_id = $1 AND state = 'paused'",
        )
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Some(back))
    }

    /// Cancels a send: what is queued or paused is cancelled; rows in flight finish and the
    /// ones that come back are cancelled too. A send that had not started is never
    /// published. Returns how many rows were cancelled, `None` when it was cancelled before.
    pub async fn cancel(&self, message_id: Uuid, now: i64) -> Result<Option<u64>> {
        let mut tx = self.begin_write().await?;
        let held = place_hold(
            &mut tx,
            message_id,
            Hold::Cancelled,
            CANCELLED_BY_OPERATOR,
            now,
            false,
        )
        .await?;
        tx.commit().await?;
        Ok(held)
    }

    /// How many deliveries `revive_cancelled` would queue again now (what a dry run says).
    pub async fn count_revivable(&self, message_id: Uuid) -> Result<i64> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.message_id = $1 AND d.state = 'cancelled'
               AND d.token_id IS NULL AND ",
            mailable!(),
        ))
        .bind(message_id)
        .fetch_one(self.reader())
        .await?)
    }

    /// The sends that are held now (a worker hands back their claimed rows unsent).
    pub async fn held_messages(&self) -> Result<Vec<Uuid>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM messages WHERE hold IS NOT NULL")
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// Starts the scheduled sends whose first due time has come, or pauses the ones found
    /// more than `max_lateness_ms` after it (the workers were down: yesterday's issue must
    /// not arrive at noon without the operator saying so). A read first, so that the common
    /// case (nothing to start) takes no write lock.
    pub async fn start_due_sends(&self, now: i64, max_lateness_ms: i64) -> Result<Vec<SendStart>> {
        let due: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM messages
                            WHERE started_at IS NULL AND hold IS NULL AND scheduled_at <= $1)",
        )
        .bind(now)
        .fetch_one(self.reader())
        .await?;
        if !due {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT id, slug, scheduled_at FROM messages
             WHERE started_at IS NULL AND hold IS NULL AND scheduled_at <= $1",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("id")?;
            let slug: String = row
                .try_get::<Option<String>, _>("slug")?
                .unwrap_or_default();
            let scheduled_at: i64 = row.try_get("scheduled_at")?;
            if now - scheduled_at > max_lateness_ms {
                let reason = format!(
                    "its schedule was missed by {} minutes (no worker was running); \
                     `morningpost resume {slug}` sends it now, `morningpost cancel {slug}` drops it",
                    (now - scheduled_at) / 60_000
                );
                // Only a send nobody started: another worker may have decided first.
                if place_hold(&mut tx, id, Hold::Paused, &reason, now, true)
                    .await?
                    .is_some()
                {
                    events.push(SendStart::PausedLate { slug, scheduled_at });
                }
            } else {
                let started = sqlx::query(
                    "UPDATE messages SET started_at = $2, published_at = COALESCE(published_at, $2)
                     WHERE id = $1 AND started_at IS NULL AND hold IS NULL",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if started == 1 {
                    events.push(SendStart::Started { slug });
                }
            }
        }
        tx.commit().await?;
        Ok(events)
    }

    /// Puts an issue's unsent deliveries back in the queue, due now, for subscribers still
    /// active (never a bounced or unsubscribed one). A failed row gets a fresh retry budget.
    pub async fn retry_deliveries(
        &self,
        message_id: Uuid,
        scope: RetryScope,
        now: i64,
    ) -> Result<u64> {
        Ok(sqlx::query(concat!(
            "UPDATE deliveries SET state = ",
            requeue_state!(),
            ", failures = 0, due_at = $2, queued_at = $2, updated_at = $2
             WHERE message_id = $1 AND token_id IS NULL
               AND ((state = 'failed' AND $3) OR (state = 'queued' AND failures > 0 AND $4))
               AND updated_at >= $5
               AND subscriber_id IN (SELECT s.id FROM subscribers s WHERE ",
            mailable!(),
            ")"
        ))
        .bind(message_id)
        .bind(now)
        .bind(scope.failed)
        .bind(scope.waiting)
        .bind(scope.since.unwrap_or(i64::MIN))
        .execute(self.writer())
        .await?
        .rows_affected())
    }

    /// Takes an issue off the archive, or puts it back (published from now if it never was).
    pub async fn set_published(&self, message_id: Uuid, public: bool, now: i64) -> Result<()> {
        let sql = if public {
            "UPDATE messages SET unpublished_at = NULL, published_at = COALESCE(published_at, $2) WHERE id = $1"
        } else {
            "UPDATE messages SET unpublished_at = COALESCE(unpublished_at, $2) WHERE id = $1"
        };
        sqlx::query(sql)
            .bind(message_id)
            .bind(now)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Every stored issue with its send's state and delivery counts, newest first.
    pub async fn issues(&self) -> Result<Vec<IssueSummary>> {
        let rows = sqlx::query(
            "SELECT id, slug, issue_date, subject, enqueued_at, scheduled_at, local_time, started_at,
                    hold, hold_reason, held_at, published_at, unpublished_at
             FROM messages WHERE kind = 'issue'
             ORDER BY issue_date DESC, created_at DESC",
        )
        .fetch_all(self.reader())
        .await?;
        // Every message's counts as the triggers keep them (decision 41), confirmation
        // templates' too: a few rows per message.
        let count_rows = sqlx::query(kept_counts!(all))
            .fetch_all(self.reader())
            .await?;
        let mut counts: HashMap<Uuid, QueueCounts> = HashMap::new();
        for r in &count_rows {
            let id: Uuid = r.try_get("message_id")?;
            let state: String = r.try_get("state")?;
            tally(
                counts.entry(id).or_default(),
                &state,
                r.try_get("retrying")?,
                r.try_get("n")?,
            )?;
        }
        rows.iter()
            .map(|r| {
                let id: Uuid = r.try_get("id")?;
                Ok(IssueSummary {
                    id,
                    slug: r.try_get::<Option<String>, _>("slug")?.unwrap_or_default(),
                    issue_date: r
                        .try_get::<Option<String>, _>("issue_date")?
                        .unwrap_or_default(),
                    subject: r.try_get("subject")?,
                    enqueued_at: r.try_get("enqueued_at")?,
                    send: send_control_from_row(r)?,
                    counts: counts.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Issues whose send waits for the operator or for its time: paused, or scheduled and
    /// not started (what `status` lists first), oldest first.
    pub async fn waiting_sends(&self) -> Result<Vec<(String, SendControl)>> {
        let rows = sqlx::query(
            "SELECT slug, scheduled_at, local_time, started_at, hold, hold_reason, held_at,
                    published_at, unpublished_at
             FROM messages
             WHERE kind = 'issue' AND (hold = 'paused' OR (started_at IS NULL AND scheduled_at IS NOT NULL AND hold IS NULL))
             ORDER BY created_at",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<Option<String>, _>("slug")?.unwrap_or_default(),
                    send_control_from_row(r)?,
                ))
            })
            .collect()
    }

    /// How many of an issue's first attempts come due in each coming hour (a scheduled or
    /// local-morning send), as (start of the hour, count), at most two days ahead: from the
    /// kept counts, which hold each first attempt under the minute it is due (decision 41),
    /// so "after `now`" is to the minute.
    pub async fn due_by_hour(&self, message_id: Uuid, now: i64) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT due_minute / 60 AS hour, CAST(sum(n) AS BIGINT) AS n FROM delivery_counts
             WHERE message_id = $1 AND state IN ('queued', 'paused') AND NOT retrying
               AND due_minute > $2
             GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1 LIMIT 48",
        )
        .bind(message_id)
        .bind(now.div_euclid(60_000))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let hour: i64 = r.try_get("hour")?;
                Ok((hour.saturating_mul(3_600_000), r.try_get("n")?))
            })
            .collect()
    }
}

/// Places a hold on a send inside the caller's transaction and moves its rows under it:
/// a pause takes the queued rows, a cancel the queued and paused ones (recording why). A
/// pause needs a send that is not held; a cancel one that is not cancelled; `only_unstarted`
/// also requires a send not started yet. A cancel unpublishes a send that never started.
/// Returns how many rows the hold took, `None` when it could not be placed. Rows in flight
/// are left to their worker; they take the hold when they come back (`requeue_state!`).
async fn place_hold(
    tx: &mut Conn,
    message_id: Uuid,
    hold: Hold,
    reason: &str,
    now: i64,
    only_unstarted: bool,
) -> Result<Option<u64>> {
    let placed = sqlx::query(
        "UPDATE messages SET hold = $2, hold_reason = $3, held_at = $4,
             published_at = CASE WHEN $2 = 'cancelled' AND started_at IS NULL THEN NULL ELSE published_at END
         WHERE id = $1 AND (hold IS NULL OR (hold = 'paused' AND $2 = 'cancelled'))
           AND (started_at IS NULL OR NOT $5)",
    )
    .bind(message_id)
    .bind(hold.as_str())
    .bind(reason)
    .bind(now)
    .bind(only_unstarted)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if placed == 0 {
        return Ok(None);
    }
    let reply = (hold == Hold::Cancelled).then_some(reason);
    Ok(Some(
        sqlx::query(
            "UPDATE deliveries SET state = $2, last_reply = COALESCE($3, last_reply), updated_at = $4
             WHERE message_id = $1 AND (state = 'queued' OR (state = 'paused' AND $2 = 'cancelled'))",
        )
        .bind(message_id)
        .bind(hold.as_str())
        .bind(reply)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
    ))
}
