//! Subscribers: adding, importing, listing, unsubscribing, setting a time zone.

use std::collections::HashSet;

use sqlx::Row;
use uuid::Uuid;

use super::Handle;
use super::queue::cancel_pending;
use super::rows::subscriber_from_row;
use crate::domain::{TimeZoneName, TokenHash};
use crate::store::Result;
use crate::store::subscriber_data::*;
use crate::store::types::*;

const SUBSCRIBER_COLUMNS: &str =
    "SELECT id, email, name, status, created_at, time_zone, unsubscribe_hash FROM subscribers";

impl Handle {
    /// The active list's largest domains, largest first.
    pub async fn top_domains(&self, limit: usize) -> Result<Vec<String>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(super::dialect::TOP_DOMAINS)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(self.reader())
            .await?;
        Ok(rows.into_iter().map(|(domain, _)| domain).collect())
    }

    /// Adds many subscribers in one transaction; existing addresses are left as they are.
    pub async fn import_subscribers(&self, batch: &[NewSubscriber<'_>]) -> Result<Vec<AddOutcome>> {
        let rows: Vec<SubscriberRow> = batch.iter().map(NewSubscriber::to_row).collect();
        let suppressions: Vec<Suppression> = batch
            .iter()
            .filter_map(|new| {
                new.status.suppression().map(|reason| Suppression {
                    email_key: Some(new.email.normalized()),
                    email_hash: None,
                    reason,
                    suppressed_at: new.now,
                })
            })
            .collect();
        let inserted: HashSet<String> = self
            .write_subscribers(&SubscriberBatch {
                rows: &rows,
                suppressions: &suppressions,
                changes: &[],
            })
            .await?
            .into_iter()
            .collect();
        let others: Vec<String> = rows
            .iter()
            .filter(|r| !inserted.contains(&r.email_key))
            .map(|r| r.email_key.clone())
            .collect();
        let statuses = self.statuses_among(&others).await?;
        rows.iter()
            .map(|r| {
                if inserted.contains(&r.email_key) {
                    return Ok(AddOutcome::Added);
                }
                statuses
                    .get(&r.email_key)
                    .map(|s| AddOutcome::Exists(*s))
                    .ok_or_else(|| {
                        crate::store::StoreError::Corrupt(format!(
                            "{} was neither added nor found",
                            r.email_key
                        ))
                    })
            })
            .collect()
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
    pub async fn unsubscribe(&self, id: Uuid, via: LeftVia, now: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $2, updated_at = $2,
                 left_via = $3
             WHERE id = $1 AND status IN ('active', 'pending')",
        )
        .bind(id)
        .bind(now)
        .bind(via.as_str())
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
