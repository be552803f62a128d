//! Subscribers: adding, importing, listing, unsubscribing.

use sqlx::Row;
use uuid::Uuid;

use super::SqliteStore;
use super::rows::*;
use crate::domain::TokenHash;
use crate::store::types::*;
use crate::store::{Result, StoreError};

impl SqliteStore {
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
        .execute(&self.writer)
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
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
}

impl SqliteStore {
    /// The whole double-opt-in decision in one transaction (DESIGN.md decision 9).
    pub async fn subscribe(&self, r: &SubscribeRequest<'_>) -> Result<SubscribeOutcome> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let existing = sqlx::query(
            "SELECT s.id, s.status,
                    (SELECT max(created_at) FROM confirmation_tokens t WHERE t.subscriber_id = s.id) AS last_mail
             FROM subscribers s WHERE s.email_key = ?1",
        )
        .bind(r.email.normalized())
        .fetch_optional(&mut *tx)
        .await?;
        let (subscriber_id, outcome) = match existing {
            None => {
                sqlx::query(
                    "INSERT INTO subscribers (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6)",
                )
                .bind(r.new_id)
                .bind(r.email.as_str())
                .bind(r.email.normalized())
                .bind(r.name.map(|n| n.as_str()))
                .bind(&r.new_unsubscribe_hash.0[..])
                .bind(r.now)
                .execute(&mut *tx)
                .await?;
                (r.new_id, SubscribeOutcome::Created)
            }
            Some(row) => {
                let id: Uuid = row.try_get("id")?;
                let last_mail: Option<i64> = row.try_get("last_mail")?;
                let outcome = match status_of(&row.try_get::<String, _>("status")?)? {
                    SubscriberStatus::Active => SubscribeOutcome::AlreadyActive,
                    SubscriberStatus::Bounced if !r.allow_bounced => SubscribeOutcome::Bounced,
                    SubscriberStatus::Pending
                        if last_mail.is_some_and(|t| r.now - t < r.resend_after_ms) =>
                    {
                        SubscribeOutcome::TooSoon
                    }
                    SubscriberStatus::Pending => SubscribeOutcome::Resent,
                    SubscriberStatus::Unsubscribed | SubscriberStatus::Bounced => {
                        sqlx::query(
                            "UPDATE subscribers SET status = 'pending', name = COALESCE(?2, name), updated_at = ?3 WHERE id = ?1",
                        )
                        .bind(id)
                        .bind(r.name.map(|n| n.as_str()))
                        .bind(r.now)
                        .execute(&mut *tx)
                        .await?;
                        SubscribeOutcome::Reactivated
                    }
                };
                (id, outcome)
            }
        };
        if outcome.queued_mail() {
            sqlx::query(
                "INSERT INTO confirmation_tokens (id, subscriber_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(r.confirmation.id)
            .bind(subscriber_id)
            .bind(&r.confirmation.hash.0[..])
            .bind(r.now)
            .bind(r.confirmation.expires_at)
            .execute(&mut *tx)
            .await?;
            // Priority 10: confirmation mail goes ahead of bulk issue mail.
            sqlx::query(
                "INSERT INTO deliveries (message_id, subscriber_id, token_id, priority, state, due_at, queued_at, updated_at)
                 VALUES (?1, ?2, ?3, 10, 'queued', ?4, ?4, ?4)",
            )
            .bind(r.confirmation_message)
            .bind(subscriber_id)
            .bind(r.confirmation.id)
            .bind(r.now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Spends a confirmation token: pending → active.
    pub async fn confirm(&self, hash: &TokenHash, now: i64) -> Result<ConfirmOutcome> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT t.subscriber_id, t.token_hash, t.expires_at, t.used_at, s.status, s.email
             FROM confirmation_tokens t JOIN subscribers s ON s.id = t.subscriber_id
             WHERE t.token_hash = ?1",
        )
        .bind(&hash.0[..])
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row.filter(|r| {
            r.try_get::<Vec<u8>, _>("token_hash")
                .is_ok_and(|h| hash.matches(&h))
        }) else {
            return Ok(ConfirmOutcome::Unknown);
        };
        let subscriber_id: Uuid = row.try_get("subscriber_id")?;
        let email: String = row.try_get("email")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let status = status_of(&row.try_get::<String, _>("status")?)?;
        let outcome = match (used_at, status) {
            (Some(_), _) | (None, SubscriberStatus::Active) => ConfirmOutcome::AlreadyConfirmed,
            (None, _) if now >= expires_at => ConfirmOutcome::Expired { email },
            (None, SubscriberStatus::Pending) => {
                sqlx::query("UPDATE subscribers SET status = 'active', confirmed_at = ?2, updated_at = ?2 WHERE id = ?1")
                    .bind(subscriber_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE confirmation_tokens SET used_at = ?2 WHERE subscriber_id = ?1 AND used_at IS NULL")
                    .bind(subscriber_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                ConfirmOutcome::Confirmed { email }
            }
            // Unsubscribed or bounced since the mail went out: a fresh sign-up is needed.
            (None, _) => ConfirmOutcome::Expired { email },
        };
        tx.commit().await?;
        Ok(outcome)
    }
}
