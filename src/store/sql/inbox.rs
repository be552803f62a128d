//! The sign-up inbox (docs/architecture.md decision 40): sign-ups held as they were received,
//! while the queue already holds plenty of confirmation mail, and released oldest first
//! through [`Handle::subscribe_batch`] as it drains. Each row keeps the request whole (JSON),
//! made when the reader was answered: its ids, token hashes and time are the ones it would
//! have been stored with then.

use sqlx::Row;

use super::Handle;
use crate::store::held::{decode, encode};
use crate::store::types::*;
use crate::store::{Result, StoreError};

impl Handle {
    /// Stores a batch of sign-ups in the inbox, in one transaction.
    pub async fn hold_signups(&self, requests: &[SubscribeRequest]) -> Result<()> {
        let Some(inbox) = self.inbox(true).await? else {
            return Err(StoreError::Corrupt(
                "the sign-up inbox was not created".into(),
            ));
        };
        let mut tx = inbox.begin().await?;
        for r in requests {
            sqlx::query(
                "INSERT INTO signup_inbox (email_key, received_at, request) VALUES ($1, $2, $3)",
            )
            .bind(r.email.normalized())
            .bind(r.now)
            .bind(encode(r).to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether any sign-up is held.
    pub async fn any_held(&self) -> Result<bool> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok(false);
        };
        let first: Option<i64> = sqlx::query_scalar("SELECT seq FROM signup_inbox LIMIT 1")
            .fetch_optional(inbox)
            .await?;
        Ok(first.is_some())
    }

    /// The oldest `limit` held sign-ups. A row that no longer reads as a sign-up is logged
    /// and comes back as `None`, so that releasing the batch removes it instead of it
    /// blocking every sign-up behind it.
    pub async fn held_signups(&self, limit: i64) -> Result<Vec<HeldSignup>> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query("SELECT seq, request FROM signup_inbox ORDER BY seq LIMIT $1")
            .bind(limit)
            .fetch_all(inbox)
            .await?;
        let mut held = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let text: String = row.try_get("request")?;
            let request = decode(&text)
                .inspect_err(|e| {
                    tracing::error!(seq, error = %e, "a held sign-up cannot be read: dropped");
                })
                .ok();
            held.push(HeldSignup { seq, request });
        }
        Ok(held)
    }

    /// Removes the held sign-ups up to `through` (their `seq`), once applied.
    pub async fn release_held(&self, through: i64) -> Result<u64> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok(0);
        };
        Ok(sqlx::query("DELETE FROM signup_inbox WHERE seq <= $1")
            .bind(through)
            .execute(inbox)
            .await?
            .rows_affected())
    }

    /// How many sign-ups are held, and when the oldest was received.
    pub async fn held_summary(&self) -> Result<(i64, Option<i64>)> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok((0, None));
        };
        let row = sqlx::query("SELECT count(*) AS n, min(received_at) AS oldest FROM signup_inbox")
            .fetch_one(inbox)
            .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    /// When each sign-up held for this normalised address was received.
    pub async fn held_for(&self, email_key: &str) -> Result<Vec<i64>> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok(Vec::new());
        };
        Ok(sqlx::query_scalar(
            "SELECT received_at FROM signup_inbox WHERE email_key = $1 ORDER BY seq",
        )
        .bind(email_key)
        .fetch_all(inbox)
        .await?)
    }

    /// Drops the sign-ups held for this normalised address (erasure).
    pub async fn erase_held(&self, email_key: &str) -> Result<u64> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok(0);
        };
        Ok(sqlx::query("DELETE FROM signup_inbox WHERE email_key = $1")
            .bind(email_key)
            .execute(inbox)
            .await?
            .rows_affected())
    }

    /// Drops the sign-ups held since before `cutoff` (`signups purge`).
    pub async fn purge_held(&self, cutoff: i64) -> Result<u64> {
        let Some(inbox) = self.inbox(false).await? else {
            return Ok(0);
        };
        Ok(
            sqlx::query("DELETE FROM signup_inbox WHERE received_at < $1")
                .bind(cutoff)
                .execute(inbox)
                .await?
                .rows_affected(),
        )
    }
}
