//! Helpers shared by the SQLite queries, and the row decoders for SQLite rows.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

pub(super) use crate::store::decode::status_of;
use crate::store::types::*;
use crate::store::{Result, StoreError};

pub(super) async fn cancel_pending(
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

crate::store::decode::row_decoders!(SqliteRow);
