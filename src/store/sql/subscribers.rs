//! Subscribers: adding, importing, listing, unsubscribing, setting a time zone.

use sqlx::Row;
use uuid::Uuid;

use super::Handle;
use super::queue::cancel_pending;
use super::rows::{status_of, subscriber_from_row};
use crate::domain::{TimeZoneName, TokenHash};
use crate::store::Result;
use crate::store::types::*;

const SUBSCRIBER_COLUMNS: &str =
    "SELECT id, email, name, status, created_at, time_zone, unsubscribe_hash FROM subscribers";

impl Handle {
    /// Adds many subscribers in one transaction; existing addresses are left as they are.
    pub async fn import_subscribers(&self, batch: &[NewSubscriber<'_>]) -> Result<Vec<AddOutcome>> {
        let mut tx = self.begin_write().await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for new in batch {
            let inserted = sqlx::query(
                "INSERT INTO subscribers (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at,
                                          confirmed_at, unsubscribed_at, bounced_at, complained_at, time_zone)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, CASE WHEN $5 = 'active' THEN $7 END,
                         CASE WHEN $5 IN ('unsubscribed', 'complained') THEN $7 END,
                         CASE WHEN $5 = 'bounced' THEN $7 END, CASE WHEN $5 = 'complained' THEN $7 END, $8)
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
            .bind(new.time_zone.map(|z| z.as_str()))
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match inserted {
                Some(_) => AddOutcome::Added,
                None => {
                    let status: String =
                        sqlx::query_scalar("SELECT status FROM subscribers WHERE email_key = $1")
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
        let order = "ORDER BY created_at, email_key";
        let rows = match status {
            Some(status) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SUBSCRIBER_COLUMNS} WHERE status = $1 {order}"
                )))
                .bind(status.as_str())
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{SUBSCRIBER_COLUMNS} {order}")))
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.iter().map(subscriber_from_row).collect()
    }

    pub async fn subscriber_by_email(&self, email_key: &str) -> Result<Option<Subscriber>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUBSCRIBER_COLUMNS} WHERE email_key = $1"
        )))
        .bind(email_key)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(subscriber_from_row).transpose()
    }

    pub async fn subscriber_by_unsubscribe_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Subscriber>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUBSCRIBER_COLUMNS} WHERE unsubscribe_hash = $1"
        )))
        .bind(&hash.0[..])
        .fetch_optional(self.reader())
        .await?;
        match row {
            Some(row) if hash.matches(&row.try_get::<Vec<u8>, _>("unsubscribe_hash")?) => {
                Ok(Some(subscriber_from_row(&row)?))
            }
            _ => Ok(None),
        }
    }

    /// Only an active or pending subscriber becomes unsubscribed: a bounced address keeps
    /// its stronger "never mail" (an old one-click link must not make it mailable again).
    pub async fn unsubscribe(&self, id: Uuid, now: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $2, updated_at = $2
             WHERE id = $1 AND status IN ('active', 'pending')",
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

    /// Sets (or, with `None`, clears) a subscriber's zone, whatever their status. False: no
    /// subscriber has this normalised address.
    pub async fn set_time_zone(
        &self,
        email_key: &str,
        zone: Option<&TimeZoneName>,
        now: i64,
    ) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE subscribers SET time_zone = $2, updated_at = $3 WHERE email_key = $1",
        )
        .bind(email_key)
        .bind(zone.map(|z| z.as_str()))
        .bind(now)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(changed == 1)
    }
}
