//! The delivery queue: enqueue, fenced outcomes, counts. Claiming and the clock differ by
//! backend and live there.

use sqlx::Row;
use uuid::Uuid;

use super::suppressions::suppress_subscriber;
use super::{Conn, Handle, dialect};
use crate::store::Result;
use crate::store::rules::{RATE_SAMPLE, rate_over, tally};
use crate::store::subscriber_data::SuppressionReason;
use crate::store::types::*;

impl Handle {
    /// One statement inserts a delivery per active subscriber who has none for this issue,
    /// due when `due` says (a local-morning send: by the subscriber's zone); then the issue
    /// is marked queued, and started and published unless its first due time is later.
    pub async fn enqueue_issue(&self, message_id: Uuid, due: &DueTimes, now: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        Handle::prepare_enqueue(&mut tx, message_id).await?;
        let (default, zones) = due_params(due);
        let n = Handle::insert_issue_deliveries(&mut tx, message_id, now, default, &zones).await?;
        mark_enqueued(&mut tx, message_id, due, now).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Undoes a cancel: the issue's cancelled deliveries to subscribers who are active go
    /// back to the queue, due when `due` says, and the hold is lifted.
    pub async fn revive_cancelled(
        &self,
        message_id: Uuid,
        due: &DueTimes,
        now: i64,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let (default, zones) = due_params(due);
        let n = sqlx::query(dialect::REVIVE_CANCELLED)
            .bind(message_id)
            .bind(now)
            .bind(default)
            .bind(zones)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE messages SET hold = NULL, hold_reason = NULL, held_at = NULL
             WHERE id = $1 AND hold = 'cancelled'",
        )
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
        mark_enqueued(&mut tx, message_id, due, now).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The distinct zones of active subscribers (a local-morning send computes a due time
    /// for each).
    pub async fn subscriber_zones(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT DISTINCT s.time_zone FROM subscribers s WHERE ",
            mailable!(),
            " AND s.time_zone IS NOT NULL"
        ))
        .fetch_all(self.reader())
        .await?)
    }

    /// How many deliveries `enqueue_issue` would add now: active subscribers without a
    /// delivery of this issue (the enqueue's rule; confirmation rows carry a token and are
    /// not deliveries of an issue).
    pub async fn count_new_deliveries(&self, message_id: Uuid) -> Result<i64> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT count(*) FROM subscribers s
             WHERE ", mailable!(), "
               AND NOT EXISTS (SELECT 1 FROM deliveries d
                               WHERE d.subscriber_id = s.id AND d.message_id = $1 AND d.token_id IS NULL)",
        ))
        .bind(message_id)
        .fetch_one(self.reader())
        .await?)
    }

    pub async fn count_active(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT count(*) FROM subscribers s WHERE ",
            mailable!()
        ))
        .fetch_one(self.reader())
        .await?)
    }

    /// A message's deliveries (or all) by state, from the counts the triggers keep
    /// (`kept_counts!`, decision 41): a few rows per message however many deliveries it has.
    pub async fn queue_counts(&self, message_id: Option<Uuid>) -> Result<QueueCounts> {
        let rows = match message_id {
            Some(id) => sqlx::query(kept_counts!(one)).bind(id),
            None => sqlx::query(kept_counts!(all)),
        }
        .fetch_all(self.reader())
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

    /// The queue's depth for the metrics: rows due now (queued, or a lease run out), rows
    /// waiting for a later time (a schedule, a retry, a lease), and the sends paused. The rows
    /// are counted from the partial index of queued and leased rows, never from the table:
    /// the sent rows of past issues cost nothing (a million queued rows still take ~100 ms,
    /// so the metrics read this in the background: metrics/scrape.rs).
    pub async fn queue_depth(&self, now: i64) -> Result<QueueDepth> {
        let (due, later): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN due_at <= $1 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN due_at > $1 THEN 1 ELSE 0 END), 0)
             FROM deliveries WHERE state IN ('queued', 'sending')",
        )
        .bind(now)
        .fetch_one(self.reader())
        .await?;
        let paused_sends: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE hold = 'paused'")
                .fetch_one(self.reader())
                .await?;
        Ok(QueueDepth {
            due,
            later,
            paused_sends,
        })
    }

    /// Whether anything (of this message) is queued or in flight: an index probe, not a count.
    pub async fn has_pending(&self, message_id: Option<Uuid>) -> Result<bool> {
        let query = match message_id {
            Some(id) => sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE message_id = $1 AND state IN ('queued', 'sending'))",
            )
            .bind(id),
            None => sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state IN ('queued', 'sending'))",
            ),
        };
        Ok(query.fetch_one(self.reader()).await?)
    }

    /// Whether a delivery of this message is in flight or queued with an attempt due before
    /// `horizon` (`send --wait` polls it). The kept counts answer for first attempts, queued
    /// or in flight (counted by the minute they were due: one due in the horizon's minute
    /// counts as due); only retries need the rows, read from the index entries of this
    /// message's retrying rows until one is in flight or due (decision 41).
    pub async fn has_due_before(&self, message_id: Uuid, horizon: i64) -> Result<bool> {
        let (first_due, retrying): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(sum(CASE WHEN state = 'queued' AND NOT retrying AND due_minute <= $2
                                           THEN n ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(sum(CASE WHEN retrying THEN n ELSE 0 END), 0) AS BIGINT)
             FROM delivery_counts WHERE message_id = $1",
        )
        .bind(message_id)
        .bind(horizon.div_euclid(60_000))
        .fetch_one(self.reader())
        .await?;
        if first_due > 0 {
            return Ok(true);
        }
        if retrying <= 0 {
            return Ok(false);
        }
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM deliveries
                            WHERE message_id = $1 AND state IN ('queued', 'sending') AND failures > 0
                              AND (state = 'sending' OR due_at < $2))",
        )
        .bind(message_id)
        .bind(horizon)
        .fetch_one(self.reader())
        .await?)
    }

    /// The five largest groups of this message's failed deliveries, or (`retrying`) of those
    /// queued again after a temporary failure, by reply code, with their earliest next attempt.
    pub async fn reply_groups(&self, message_id: Uuid, retrying: bool) -> Result<Vec<ReplyGroup>> {
        let (state, min_failures) = if retrying {
            ("queued", 1)
        } else {
            ("failed", 0)
        };
        let q = sqlx::AssertSqlSafe(format!(
            "{FAILURE_GROUPS} WHERE d.message_id = $1 AND d.state = $2 AND d.failures >= $3 {GROUPED}"
        ));
        let rows = sqlx::query(q)
            .bind(message_id)
            .bind(state)
            .bind(min_failures)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(reply_group).collect()
    }

    /// What `status` shows of the queue, cheap at any size (decision 41): the kept counts,
    /// the send rate from the most recent sends only, the largest failure groups.
    pub async fn status_report(&self, message_id: Option<Uuid>, now: i64) -> Result<StatusReport> {
        let counts = self.queue_counts(message_id).await?;
        Ok(StatusReport {
            counts,
            send_rate: self.send_rate(message_id, now).await?,
            top_failures: self
                .failure_groups(message_id, counts.failed + counts.retrying)
                .await?,
        })
    }

    /// The five largest groups of failed and retrying deliveries (`failing` of them, of this
    /// message or all), by reply code, each with one of its replies and the address it came
    /// for. Counted from the (message_id, state, failures, reply_code) index; the rows are
    /// read only when some have no code (their reply is their group). For all mail, message
    /// by message.
    async fn failure_groups(
        &self,
        message_id: Option<Uuid>,
        failing: i64,
    ) -> Result<Vec<ReplyGroup>> {
        if failing <= 0 {
            return Ok(Vec::new());
        }
        let of = match message_id {
            Some(_) => "d.message_id = $1",
            None => "d.message_id IN (SELECT id FROM messages)",
        };
        let [failed, retrying] = FAILING;
        let coded = sqlx::AssertSqlSafe(format!(
            "SELECT code, count(*) AS n FROM (
                 SELECT d.reply_code AS code FROM deliveries d
                 WHERE {of} AND {failed} AND d.reply_code IS NOT NULL
                 UNION ALL
                 SELECT d.reply_code FROM deliveries d
                 WHERE {of} AND {retrying} AND d.reply_code IS NOT NULL) AS f
             GROUP BY code"
        ));
        let mut groups = self.code_counts(coded, message_id, true).await?;
        if groups.iter().map(|g| g.1).sum::<i64>() < failing {
            let uncoded = sqlx::AssertSqlSafe(format!(
                "SELECT code, count(*) AS n FROM (
                     SELECT COALESCE(d.last_reply, '') AS code FROM deliveries d
                     WHERE {of} AND {failed} AND d.reply_code IS NULL
                     UNION ALL
                     SELECT COALESCE(d.last_reply, '') FROM deliveries d
                     WHERE {of} AND {retrying} AND d.reply_code IS NULL) AS f
                 GROUP BY code"
            ));
            groups.extend(self.code_counts(uncoded, message_id, false).await?);
        }
        groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        groups.truncate(5);
        let mut top = Vec::with_capacity(groups.len());
        for (code, count, coded) in groups {
            let (example, example_address) = self.failure_example(message_id, &code, coded).await?;
            top.push(ReplyGroup {
                code,
                count,
                example,
                example_address,
                next_attempt: None,
            });
        }
        Ok(top)
    }

    /// (code, count, `coded`) rows of a failure-group count.
    async fn code_counts(
        &self,
        q: sqlx::AssertSqlSafe<String>,
        message_id: Option<Uuid>,
        coded: bool,
    ) -> Result<Vec<(String, i64, bool)>> {
        let rows = match message_id {
            Some(id) => sqlx::query(q).bind(id),
            None => sqlx::query(q),
        }
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("code")?, r.try_get("n")?, coded)))
            .collect()
    }

    /// One delivery of a failure group (failed first, else retrying): its reply and address.
    async fn failure_example(
        &self,
        message_id: Option<Uuid>,
        code: &str,
        coded: bool,
    ) -> Result<(String, Option<String>)> {
        // The code is the last parameter: `$2` after the message's id, else `$1`.
        let (of, param) = match message_id {
            Some(_) => ("d.message_id = $1", "$2"),
            None => ("d.message_id IN (SELECT id FROM messages)", "$1"),
        };
        let is_code = if coded {
            format!("d.reply_code = {param}")
        } else {
            format!("d.reply_code IS NULL AND COALESCE(d.last_reply, '') = {param}")
        };
        for state in FAILING {
            let q = sqlx::AssertSqlSafe(format!(
                "SELECT d.last_reply, s.email FROM deliveries d
                 LEFT JOIN subscribers s ON s.id = d.subscriber_id
                 WHERE {of} AND {state} AND {is_code} LIMIT 1"
            ));
            let q = match message_id {
                Some(id) => sqlx::query_as(q).bind(id),
                None => sqlx::query_as(q),
            };
            let row: Option<(Option<String>, Option<String>)> =
                q.bind(code).fetch_optional(self.reader()).await?;
            if let Some((reply, address)) = row {
                return Ok((reply.unwrap_or_default(), address));
            }
        }
        Ok((String::new(), None))
    }

    /// Messages sent per second (of this message, or all) over the last minute, or over
    /// the last [`RATE_SAMPLE`] sends when more went out in that minute: the rate stays a
    /// walk of a few thousand entries of the `sent_at` index at any speed or size.
    async fn send_rate(&self, message_id: Option<Uuid>, now: i64) -> Result<f64> {
        let since = now - 60_000;
        let (recent, oldest, ours): (i64, Option<i64>, i64) = sqlx::query_as(
            "SELECT count(*), min(sent_at),
                    CAST(COALESCE(sum(CASE WHEN $3 OR message_id = $4 THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM (SELECT sent_at, message_id FROM deliveries
                   WHERE sent_at IS NOT NULL AND sent_at >= $1
                   ORDER BY sent_at DESC LIMIT $2) AS r",
        )
        .bind(since)
        .bind(RATE_SAMPLE)
        .bind(message_id.is_none())
        .bind(message_id.unwrap_or_default())
        .fetch_one(self.reader())
        .await?;
        Ok(rate_over(recent, oldest, ours, now))
    }
}

/// The failure groups' two kinds of row, each one range of the (message_id, state,
/// failures, reply_code) index: failed for good, and queued again after a failure.
const FAILING: [&str; 2] = [
    "d.state = 'failed'",
    "d.state = 'queued' AND d.failures > 0",
];

/// Failed or retrying deliveries grouped by their reply code (`550 5.1.1`; the reply itself
/// when it has none), so that one reply per address makes one group: the count, an example
/// reply and address, the earliest next attempt. `WHERE …` and [`GROUPED`] follow.
const FAILURE_GROUPS: &str =
    "SELECT COALESCE(d.reply_code, d.last_reply, '') AS code, count(*) AS n,
        min(d.last_reply) AS example, min(s.email) AS address, min(d.due_at) AS next
 FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id";
const GROUPED: &str =
    "GROUP BY COALESCE(d.reply_code, d.last_reply, '') ORDER BY n DESC, code LIMIT 5";

fn reply_group(r: &<super::Db as sqlx::Database>::Row) -> Result<ReplyGroup> {
    Ok(ReplyGroup {
        code: r.try_get("code")?,
        count: r.try_get("n")?,
        example: r
            .try_get::<Option<String>, _>("example")?
            .unwrap_or_default(),
        example_address: r.try_get("address")?,
        next_attempt: r.try_get("next")?,
    })
}

/// A due-time plan as the enqueue statements take it: the default instant, and a JSON object
/// of zone name → instant.
fn due_params(due: &DueTimes) -> (i64, String) {
    match due {
        DueTimes::At(t) => (*t, "{}".to_owned()),
        DueTimes::Local {
            default, by_zone, ..
        } => {
            let zones: serde_json::Map<String, serde_json::Value> = by_zone
                .iter()
                .map(|(zone, t)| (zone.clone(), serde_json::Value::from(*t)))
                .collect();
            (*default, serde_json::Value::Object(zones).to_string())
        }
    }
}

/// After an enqueue: queued; a send whose first delivery is due later is scheduled (the
/// worker starts it then, see `start_due_sends`) with this timing's local time, one due now
/// is started and published (a later plain send, for readers who joined since, keeps the
/// local time it was scheduled with).
async fn mark_enqueued(tx: &mut Conn, message_id: Uuid, due: &DueTimes, now: i64) -> Result<()> {
    let local_time = match due {
        DueTimes::At(_) => None,
        DueTimes::Local { local_time, .. } => Some(local_time.as_str()),
    };
    sqlx::query(
        "UPDATE messages SET enqueued_at = COALESCE(enqueued_at, $2),
             scheduled_at = CASE WHEN $3 > $2 THEN $3 ELSE NULL END,
             local_time = CASE WHEN $3 > $2 THEN $4 ELSE COALESCE($4, local_time) END,
             started_at = CASE WHEN $3 > $2 THEN NULL ELSE COALESCE(started_at, $2) END,
             published_at = CASE WHEN $3 > $2 THEN published_at ELSE COALESCE(published_at, $2) END
         WHERE id = $1",
    )
    .bind(message_id)
    .bind(now)
    .bind(due.first())
    .bind(local_time)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Applies outcomes one row at a time inside the caller's transaction, each fenced by its
/// attempt number; returns how many the fence refused (a newer attempt owns the row).
pub async fn record_fenced<'a>(
    tx: &mut Conn,
    outcomes: impl IntoIterator<Item = &'a OutcomeRecord>,
    now: i64,
) -> Result<usize> {
    let mut fenced = 0;
    for r in outcomes {
        if !record_one(tx, r, now).await? {
            fenced += 1;
        }
    }
    Ok(fenced)
}

/// The state change of one outcome; `false` when the fence refused it. Every arm requires
/// `attempts = attempt AND state = 'sending'`: only the lease holder's outcome lands.
async fn record_one(tx: &mut Conn, r: &OutcomeRecord, now: i64) -> Result<bool> {
    let (sql, reply, due_at): (&'static str, Option<&str>, Option<i64>) = match &r.outcome {
        Outcome::Sent { reply } => (
            "UPDATE deliveries SET state = 'sent', sent_at = $3, due_at = NULL, last_reply = $4, updated_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            Some(reply),
            None,
        ),
        Outcome::Retry { reply, due_at } => (
            concat!("UPDATE deliveries SET state = ", requeue_state!(), ",
                 failures = failures + 1, due_at = $5, last_reply = $4, reply_code = $6, updated_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'"),
            Some(reply),
            Some(*due_at),
        ),
        Outcome::Deferred { reply, due_at } => (
            concat!("UPDATE deliveries SET state = ", requeue_state!(), ",
                 failures = failures + 1, due_at = $5, last_reply = $4, reply_code = $6, updated_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'"),
            Some(reply),
            Some(*due_at),
        ),
        Outcome::Failed { reply, .. } => (
            "UPDATE deliveries SET state = 'failed', due_at = NULL, last_reply = $4, reply_code = $5,
                 updated_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            Some(reply),
            None,
        ),
        Outcome::Cancelled { reason } => (
            "UPDATE deliveries SET state = 'cancelled', due_at = NULL, last_reply = $4, updated_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'",
            Some(reason),
            None,
        ),
        Outcome::Released => (
            concat!("UPDATE deliveries SET state = ", requeue_state!(), ",
                 due_at = $3, updated_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'"),
            None,
            None,
        ),
    };
    let mut q = sqlx::query(sql)
        .bind(r.delivery_id)
        .bind(r.attempt)
        .bind(now);
    if let Some(reply) = reply {
        q = q.bind(reply);
    }
    if let Some(due_at) = due_at {
        q = q.bind(due_at);
    }
    if let Outcome::Retry { reply, .. }
    | Outcome::Deferred { reply, .. }
    | Outcome::Failed { reply, .. } = &r.outcome
    {
        q = q.bind(crate::domain::reply_code(reply));
    }
    if q.execute(&mut *tx).await?.rows_affected() != 1 {
        return Ok(false);
    }
    if let Outcome::Failed {
        reply,
        bounce: true,
    } = &r.outcome
    {
        // Counted with the late bounces, so `status` shows every hard bounce of the issue.
        sqlx::query(
            "INSERT INTO bounce_events (report_key, subscriber_id, delivery_id, message_id, class,
                                        diagnostic, matched_by, received_at)
             SELECT $1, subscriber_id, id, message_id, 'hard', $3, 'smtp', $4 FROM deliveries WHERE id = $2
             ON CONFLICT (report_key) DO NOTHING",
        )
        .bind(smtp_report_key(r.delivery_id, r.attempt))
        .bind(r.delivery_id)
        .bind(reply)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE subscribers SET status = 'bounced', bounced_at = $2, bounce_reply = $3, updated_at = $2
             WHERE id = $1 AND status IN ('active', 'pending')",
        )
        .bind(r.subscriber_id)
        .bind(now)
        .bind(reply)
        .execute(&mut *tx)
        .await?;
        suppress_subscriber(tx, r.subscriber_id, SuppressionReason::Bounced, now).await?;
        cancel_pending(tx, r.subscriber_id, "subscriber bounced", now).await?;
    }
    Ok(true)
}

/// The identity of a bounce the relay answered during the conversation: one per attempt.
fn smtp_report_key(delivery_id: i64, attempt: i64) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"smtp:");
    hash.update(delivery_id.to_be_bytes());
    hash.update(attempt.to_be_bytes());
    hash.finalize().to_vec()
}

/// Cancels a subscriber's queued issue deliveries. Rows leased right now (and confirmation
/// mail) are left to their worker, which checks the subscriber's status before sending.
pub(super) async fn cancel_pending(
    tx: &mut Conn,
    subscriber_id: Uuid,
    reason: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        // Written so that each backend finds the subscriber's rows by index: SQLite's
        // `deliveries_subscriber` and PostgreSQL's `deliveries_once` are partial indexes, used
        // only when the query repeats their condition (with `state = 'queued'` alone both
        // scanned the queue: a second per unsubscribe or bounce at 100,000 rows). Queued
        // confirmation mail is left to its worker, which sends it only to a pending reader.
        "UPDATE deliveries SET state = 'cancelled', due_at = NULL, last_reply = $2, updated_at = $3
         WHERE subscriber_id = $1 AND token_id IS NULL
           AND state IN ('queued', 'sending') AND state = 'queued'",
    )
    .bind(subscriber_id)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
