//! The suppression list (addresses never to be mailed again, whatever their subscriber row
//! says) and erasure, which keeps of an address only its entry's keyed hash
//! (docs/architecture.md decision 29).

use uuid::Uuid;

use super::queue::cancel_pending;
use super::subscriber_data::reason_of;
use super::{Conn, Handle};
use crate::store::Result;
use crate::store::subscriber_data::*;

impl Handle {
    /// Puts an address on the list (`subscribers suppress`) and cancels what is queued for
    /// its subscriber, if any. Returns the reason it was already listed for, if it was.
    pub async fn suppress(
        &self,
        email_key: &str,
        email_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<SuppressionReason>> {
        let mut tx = self.begin_write().await?;
        let listed: Option<String> = sqlx::query_scalar(
            "SELECT reason FROM suppressions WHERE email_key = $1 OR email_hash = $2",
        )
        .bind(email_key)
        .bind(&email_hash[..])
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(reason) = listed {
            tx.commit().await?;
            return Ok(Some(reason_of(&reason)?));
        }
        sqlx::query(
            "INSERT INTO suppressions (email_key, reason, suppressed_at) VALUES ($1, 'manual', $2)",
        )
        .bind(email_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(id) = subscriber_id(&mut tx, email_key).await? {
            cancel_pending(&mut tx, id, "address suppressed", now).await?;
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Takes an address off the list, whether it is kept as itself or, erased, as its hash.
    /// Returns the reason it was listed for; `None`: it was not.
    pub async fn unsuppress(
        &self,
        email_key: &str,
        email_hash: &[u8; 32],
    ) -> Result<Option<SuppressionReason>> {
        let reason: Option<String> = sqlx::query_scalar(
            "DELETE FROM suppressions WHERE email_key = $1 OR email_hash = $2 RETURNING reason",
        )
        .bind(email_key)
        .bind(&email_hash[..])
        .fetch_optional(self.writer())
        .await?;
        reason.as_deref().map(reason_of).transpose()
    }

    /// Deletes what is held about an address (`subscribers erase`): its sign-ups held in the
    /// inbox, the subscriber row and their confirmation tokens and mails; their issue
    /// deliveries and reports stay for the issues' counts, without the subscriber and without
    /// reply texts (which may quote the address). What is queued for them is cancelled first. The suppression entry keeps only
    /// the keyed hash: a later import or sign-up of the address is recognised.
    pub async fn erase(&self, email_key: &str, email_hash: &[u8; 32], now: i64) -> Result<Erased> {
        // The inbox first: should the rest fail, erasing again finds the subscriber still there.
        let held_signups = self.erase_held(email_key).await?;
        let mut tx = self.begin_write().await?;
        let mut erased = Erased::default();
        if let Some(id) = subscriber_id(&mut tx, email_key).await? {
            Handle::lock_subscriber(&mut tx, id).await?;
            erased = erase_subscriber(&mut tx, id, now).await?;
        }
        let kept: Option<String> = sqlx::query_scalar(
            "UPDATE suppressions SET email_key = NULL, email_hash = $2
             WHERE email_key = $1 RETURNING reason",
        )
        .bind(email_key)
        .bind(&email_hash[..])
        .fetch_optional(&mut *tx)
        .await?;
        erased.suppression = Some(match kept {
            Some(reason) => reason_of(&reason)?,
            None => {
                let hashed: Option<String> =
                    sqlx::query_scalar("SELECT reason FROM suppressions WHERE email_hash = $1")
                        .bind(&email_hash[..])
                        .fetch_optional(&mut *tx)
                        .await?;
                match hashed {
                    Some(reason) => reason_of(&reason)?,
                    None => {
                        sqlx::query(
                            "INSERT INTO suppressions (email_hash, reason, suppressed_at)
                             VALUES ($1, 'erased', $2)",
                        )
                        .bind(&email_hash[..])
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        SuppressionReason::Erased
                    }
                }
            }
        });
        tx.commit().await?;
        erased.held_signups = held_signups;
        Ok(erased)
    }
}

/// The id of the subscriber with this normalised address, inside the transaction.
async fn subscriber_id(tx: &mut Conn, email_key: &str) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM subscribers WHERE email_key = $1")
            .bind(email_key)
            .fetch_optional(&mut *tx)
            .await?,
    )
}

async fn erase_subscriber(tx: &mut Conn, id: Uuid, now: i64) -> Result<Erased> {
    // A leased row too: its worker's outcome is then fenced out.
    let cancelled = sqlx::query(
        "UPDATE deliveries SET state = 'cancelled', due_at = NULL, updated_at = $2
         WHERE subscriber_id = $1 AND token_id IS NULL AND state IN ('queued', 'sending', 'paused')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let of_subscriber = async |tx: &mut Conn, statement: &'static str| -> Result<u64> {
        Ok(sqlx::query(statement)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected())
    };
    of_subscriber(
        tx,
        "DELETE FROM deliveries WHERE subscriber_id = $1 AND token_id IS NOT NULL",
    )
    .await?;
    let confirmation_mails = of_subscriber(
        tx,
        "DELETE FROM confirmation_tokens WHERE subscriber_id = $1",
    )
    .await?;
    // The reply's code stays (status groups failures by it); its text may name the address.
    // SQLite has no index on every delivery of one subscriber: an erasure scans the table,
    // a fraction of a second at a million rows, and rare.
    let detached = of_subscriber(
        tx,
        "UPDATE deliveries SET subscriber_id = NULL,
             last_reply = CASE WHEN last_reply IS NULL THEN NULL
                               ELSE substr(last_reply, 1, 3) || ' (reply text erased)' END
         WHERE subscriber_id = $1",
    )
    .await?;
    let reports = of_subscriber(
        tx,
        "UPDATE bounce_events SET subscriber_id = NULL, diagnostic = NULL WHERE subscriber_id = $1",
    )
    .await?;
    of_subscriber(tx, "DELETE FROM subscribers WHERE id = $1").await?;
    Ok(Erased {
        subscriber: true,
        confirmation_mails,
        deliveries_detached: detached,
        deliveries_cancelled: cancelled,
        reports_detached: reports,
        suppression: None,
        held_signups: 0,
    })
}

/// Lists a subscriber's address (a hard bounce, a complaint); an address already listed keeps
/// its first entry.
pub(super) async fn suppress_subscriber(
    tx: &mut Conn,
    subscriber_id: Uuid,
    reason: SuppressionReason,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO suppressions (email_key, reason, suppressed_at)
         SELECT email_key, $2, $3 FROM subscribers WHERE id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(subscriber_id)
    .bind(reason.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A reader's own new double opt-in lifts every entry but the operator's block.
pub(super) async fn lift_on_opt_in(tx: &mut Conn, subscriber_id: Uuid) -> Result<()> {
    sqlx::query(
        "DELETE FROM suppressions WHERE reason <> 'manual'
           AND email_key = (SELECT email_key FROM subscribers WHERE id = $1)",
    )
    .bind(subscriber_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
