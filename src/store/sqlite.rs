//! SQLite: WAL mode, a busy timeout, foreign keys on; one writer at a time, which the claim
//! query and the group-committing recorder respect.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};
use uuid::Uuid;

use super::types::*;
use super::{Result, StoreError};
use crate::domain::TokenHash;

const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/sqlite/0001_init.sql"),
)];

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let connect_err = |source| StoreError::Connect {
            url: url.to_owned(),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a process crash; after a power loss the
            // last commits may roll back, and those rows are then simply sent again.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations).run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn add_subscriber(&self, new: &NewSubscriber<'_>) -> Result<AddOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO subscribers (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at, confirmed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, CASE WHEN ?5 = 'active' THEN ?7 END)
             ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(new.id)
        .bind(new.email.as_str())
        .bind(new.email.normalized())
        .bind(new.name.map(|n| n.as_str()))
        .bind(new.status.as_str())
        .bind(&new.unsubscribe_hash.0[..])
        .bind(new.now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(AddOutcome::Added);
        }
        let existing = self
            .subscriber_by_email(&new.email.normalized())
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt("an address conflicted but cannot be found".into())
            })?;
        Ok(AddOutcome::Exists(existing.status))
    }

    /// Adds many subscribers in one transaction; existing addresses are left as they are.
    pub async fn import_subscribers(&self, batch: &[NewSubscriber<'_>]) -> Result<Vec<AddOutcome>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for new in batch {
            let inserted = sqlx::query(
                "INSERT INTO subscribers (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at, confirmed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, CASE WHEN ?5 = 'active' THEN ?7 END)
                 ON CONFLICT (email_key) DO NOTHING
                 RETURNING status",
            )
            .bind(new.id)
            .bind(new.email.as_str())
            .bind(new.email.normalized())
            .bind(new.name.map(|n| n.as_str()))
            .bind(new.status.as_str())
            .bind(&new.unsubscribe_hash.0[..])
            .bind(new.now)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match inserted {
                Some(_) => AddOutcome::Added,
                None => {
                    let status: String =
                        sqlx::query_scalar("SELECT status FROM subscribers WHERE email_key = ?1")
                            .bind(new.email.normalized())
                            .fetch_one(&mut *tx)
                            .await?;
                    AddOutcome::Exists(status_of(&status)?)
                }
            };
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    pub async fn subscribers(&self, status: Option<SubscriberStatus>) -> Result<Vec<Subscriber>> {
        let rows = sqlx::query(
            "SELECT id, email, name, status, created_at FROM subscribers
             WHERE ?1 IS NULL OR status = ?1 ORDER BY created_at, email_key",
        )
        .bind(status.map(SubscriberStatus::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscriber_from_row).collect()
    }

    pub async fn subscriber_by_email(&self, email_key: &str) -> Result<Option<Subscriber>> {
        let row = sqlx::query(
            "SELECT id, email, name, status, created_at FROM subscribers WHERE email_key = ?1",
        )
        .bind(email_key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscriber_from_row).transpose()
    }

    pub async fn subscriber_by_unsubscribe_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Subscriber>> {
        let row = sqlx::query(
            "SELECT id, email, name, status, created_at, unsubscribe_hash FROM subscribers WHERE unsubscribe_hash = ?1",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) if hash.matches(&row.try_get::<Vec<u8>, _>("unsubscribe_hash")?) => {
                Ok(Some(subscriber_from_row(&row)?))
            }
            _ => Ok(None),
        }
    }

    pub async fn unsubscribe(&self, id: Uuid, now: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?2, updated_at = ?2
             WHERE id = ?1 AND status <> 'unsubscribed'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        cancel_pending(&mut tx, id, "unsubscribed", now).await?;
        tx.commit().await?;
        Ok(changed == 1)
    }

    pub async fn store_issue(&self, m: &NewMessage<'_>) -> Result<StoreIssueOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO messages (id, kind, slug, subject, title, issue_date, html, text, web_html, source_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (slug) DO NOTHING",
        )
        .bind(m.id)
        .bind(m.kind.as_str())
        .bind(m.slug)
        .bind(m.subject)
        .bind(m.title)
        .bind(m.issue_date.as_deref())
        .bind(m.html)
        .bind(m.text)
        .bind(m.web_html)
        .bind(&m.source_hash[..])
        .bind(m.now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(StoreIssueOutcome::Created(m.id));
        }
        let slug = m.slug.unwrap_or_default();
        let existing = self.message_by_slug(slug).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("issue {slug} conflicted but cannot be found"))
        })?;
        Ok(StoreIssueOutcome::Existing {
            id: existing.id,
            same_content: existing.source_hash == m.source_hash,
        })
    }

    pub async fn message_by_slug(&self, slug: &str) -> Result<Option<StoredMessage>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MESSAGE_COLUMNS} WHERE slug = ?1"
        )))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    pub async fn message(&self, id: Uuid) -> Result<Option<StoredMessage>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MESSAGE_COLUMNS} WHERE id = ?1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    pub async fn enqueue_issue(&self, message_id: Uuid, now: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "INSERT INTO deliveries (message_id, subscriber_id, priority, state, due_at, queued_at, updated_at)
             SELECT ?1, id, 0, 'queued', ?2, ?2, ?2 FROM subscribers WHERE status = 'active'
             ORDER BY id
             ON CONFLICT (message_id, subscriber_id) DO NOTHING",
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
            "SELECT d.id, d.attempts, d.failures, d.message_id, d.queued_at, s.id AS subscriber_id, s.email, s.name, s.status
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

    pub async fn record(&self, outcomes: &[OutcomeRecord], now: i64) -> Result<usize> {
        let mut fenced = 0;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
            "SELECT state, failures > 0 AS retrying, count(*) AS n FROM deliveries
             WHERE ?1 IS NULL OR message_id = ?1 GROUP BY 1, 2",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        let mut c = QueueCounts::default();
        for row in &rows {
            let state: String = row.try_get("state")?;
            let retrying: bool = row.try_get("retrying")?;
            let n: i64 = row.try_get("n")?;
            match state.as_str() {
                "queued" => {
                    c.queued += n;
                    if retrying {
                        c.retrying += n;
                    }
                }
                "sending" => c.sending += n,
                "sent" => c.sent += n,
                "failed" => c.failed += n,
                "cancelled" => c.cancelled += n,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "unknown delivery state {other:?}"
                    )));
                }
            }
        }
        Ok(c)
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
        let rows = sqlx::query(
            "SELECT last_reply, count(*) AS n FROM deliveries
             WHERE (state = 'failed' OR (state = 'queued' AND failures > 0)) AND (?1 IS NULL OR message_id = ?1)
             GROUP BY last_reply ORDER BY n DESC LIMIT 5",
        )
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

const MESSAGE_COLUMNS: &str = "SELECT id, kind, slug, subject, title, issue_date, html, text, web_html, source_hash, created_at, enqueued_at FROM messages";

async fn cancel_pending(
    tx: &mut sqlx::SqliteConnection,
    subscriber_id: Uuid,
    reason: &str,
    now: i64,
) -> Result<()> {
    // Rows leased right now are left to their worker, which checks the subscriber before sending.
    sqlx::query(
        "UPDATE deliveries SET state = 'cancelled', due_at = NULL, last_reply = ?2, updated_at = ?3
         WHERE subscriber_id = ?1 AND state = 'queued'",
    )
    .bind(subscriber_id)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
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

fn status_of(s: &str) -> Result<SubscriberStatus> {
    SubscriberStatus::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown subscriber status {s:?}")))
}

fn subscriber_from_row(row: &SqliteRow) -> Result<Subscriber> {
    Ok(Subscriber {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        status: status_of(&row.try_get::<String, _>("status")?)?,
        created_at: row.try_get("created_at")?,
    })
}

fn message_from_row(row: &SqliteRow) -> Result<StoredMessage> {
    let kind: String = row.try_get("kind")?;
    Ok(StoredMessage {
        id: row.try_get("id")?,
        kind: MessageKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown message kind {kind:?}")))?,
        slug: row.try_get("slug")?,
        subject: row.try_get("subject")?,
        title: row.try_get("title")?,
        issue_date: row.try_get("issue_date")?,
        html: row.try_get("html")?,
        text: row.try_get("text")?,
        web_html: row.try_get("web_html")?,
        source_hash: row.try_get("source_hash")?,
        created_at: row.try_get("created_at")?,
        enqueued_at: row.try_get("enqueued_at")?,
    })
}

fn claimed_from_row(row: &SqliteRow) -> Result<Claimed> {
    Ok(Claimed {
        delivery_id: row.try_get("id")?,
        attempt: row.try_get("attempts")?,
        failures: row.try_get("failures")?,
        message_id: row.try_get("message_id")?,
        subscriber_id: row.try_get("subscriber_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        subscriber_status: status_of(&row.try_get::<String, _>("status")?)?,
        queued_at: row.try_get("queued_at")?,
    })
}
