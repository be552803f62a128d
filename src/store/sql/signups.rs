//! Double opt-in: sign-ups (many per transaction) and confirmations.

use std::collections::HashMap;

use sqlx::Row;
use uuid::Uuid;

use super::rows::status_of;
use super::subscriber_data::reason_of;
use super::suppressions::lift_on_opt_in;
use super::{Conn, Handle, dialect};
use crate::domain::TokenHash;
use crate::store::Result;
use crate::store::rules::{ConfirmStep, Known, confirm_step, plan_signups};
use crate::store::subscriber_data::ConfirmedBy;
use crate::store::types::*;

impl Handle {
    /// One transaction for the whole batch; six statements whatever its size, plus one
    /// update per reactivated address. Rows travel as one JSON document per statement
    /// (`dialect` turns it into rows), so the statement text does not depend on the batch size.
    pub async fn subscribe_batch(
        &self,
        requests: &[SubscribeRequest],
    ) -> Result<Vec<SubscribeOutcome>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write_after_others().await?;
        // The decision below reads, then writes: batches from several servers take turns.
        Handle::lock_signups(&mut tx).await?;
        let keys = json_array(requests.iter().map(|r| r.email.normalized().into()));
        let rows = sqlx::query(dialect::KNOWN_SIGNUPS)
            .bind(keys)
            .fetch_all(&mut *tx)
            .await?;
        let mut known: HashMap<String, Known> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let status = status_of(&row.try_get::<String, _>("status")?)?;
            known.insert(
                row.try_get("email_key")?,
                Known {
                    id: row.try_get("id")?,
                    status,
                    last_mail: row.try_get("last_mail")?,
                },
            );
        }

        let pairs = json_array(requests.iter().map(
            |r| serde_json::json!({"key": r.email.normalized(), "hash": hex::encode(r.email_hash)}),
        ));
        let mut suppressed = HashMap::new();
        let mut erased = Vec::new();
        for row in sqlx::query(dialect::SUPPRESSED_AMONG)
            .bind(&pairs)
            .fetch_all(&mut *tx)
            .await?
        {
            let key: String = row.try_get("email_key")?;
            if row.try_get::<bool, _>("by_hash")? {
                erased.push(key.clone());
            }
            suppressed.insert(key, reason_of(&row.try_get::<String, _>("reason")?)?);
        }

        let plan = plan_signups(requests, known, &suppressed);
        for (id, r) in &plan.reactivate {
            sqlx::query("UPDATE subscribers SET status = 'pending', name = COALESCE($2, name), updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(r.name.as_ref().map(|n| n.as_str()))
                .bind(r.now)
                .execute(&mut *tx)
                .await?;
        }
        insert_subscribers(&mut tx, &plan.new).await?;
        fill_time_zones(&mut tx, &plan.zones).await?;
        insert_confirmations(&mut tx, &plan.mails).await?;
        // An erased address that signs up again is a subscriber again: its entry takes the
        // address back, so that enqueue keeps skipping it until the reader confirms.
        for (_, r) in &plan.mails {
            let key = r.email.normalized();
            if erased.contains(&key) {
                sqlx::query(
                    "UPDATE suppressions SET email_key = $1 WHERE email_hash = $2 AND email_key IS NULL",
                )
                .bind(&key)
                .bind(&r.email_hash[..])
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(plan.outcomes)
    }

    /// Spends a confirmation token: pending → active, on the basis of this double opt-in
    /// (recorded with who clicked), which lifts every suppression but the operator's block.
    pub async fn confirm(
        &self,
        hash: &TokenHash,
        by: &ConfirmedBy,
        now: i64,
    ) -> Result<ConfirmOutcome> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(dialect::CONFIRMATION_BY_HASH)
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
        let outcome = match confirm_step(used_at.is_some(), status, now >= expires_at) {
            ConfirmStep::AlreadyConfirmed => ConfirmOutcome::AlreadyConfirmed,
            ConfirmStep::Expired => ConfirmOutcome::Expired { email },
            ConfirmStep::Activate => {
                sqlx::query(
                    "UPDATE subscribers SET status = 'active', confirmed_at = $2, updated_at = $2,
                         consent = 'double-opt-in', consent_note = NULL, confirm_ip = $3,
                         confirm_user_agent = $4
                     WHERE id = $1",
                )
                .bind(subscriber_id)
                .bind(now)
                .bind(by.ip.as_deref())
                .bind(by.user_agent.as_deref())
                .execute(&mut *tx)
                .await?;
                lift_on_opt_in(&mut tx, subscriber_id).await?;
                sqlx::query("UPDATE confirmation_tokens SET used_at = $2 WHERE subscriber_id = $1 AND used_at IS NULL")
                    .bind(subscriber_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                ConfirmOutcome::Confirmed { email }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

async fn insert_subscribers(tx: &mut Conn, new: &[&SubscribeRequest]) -> Result<()> {
    if new.is_empty() {
        return Ok(());
    }
    let rows = json_array(new.iter().map(|r| {
        serde_json::json!({
            "id": hex::encode(r.new_id.as_bytes()),
            "email": r.email.as_str(),
            "key": r.email.normalized(),
            "name": r.name.as_ref().map(|n| n.as_str()),
            "tz": r.time_zone.as_ref().map(|z| z.as_str()),
            "uh": hex::encode(r.new_unsubscribe_hash.0),
            "src": r.source.as_str(),
            "now": r.now,
        })
    }));
    sqlx::query(dialect::INSERT_PENDING_SUBSCRIBERS)
        .bind(rows)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Gives each address of the batch that has no zone the first one the batch offered for it
/// (a new row inserted without one, because its first request had none, included). A zone
/// already stored is never replaced from a form: docs/architecture.md decision 26.
async fn fill_time_zones(tx: &mut Conn, zones: &[&SubscribeRequest]) -> Result<()> {
    if zones.is_empty() {
        return Ok(());
    }
    let rows = json_array(zones.iter().map(|r| {
        serde_json::json!({
            "key": r.email.normalized(),
            "tz": r.time_zone.as_ref().map(|z| z.as_str()),
            "now": r.now,
        })
    }));
    sqlx::query(dialect::FILL_TIME_ZONES)
        .bind(rows)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A confirmation token and its mail (priority 10: ahead of bulk issue mail) per sign-up.
async fn insert_confirmations(tx: &mut Conn, mails: &[(Uuid, &SubscribeRequest)]) -> Result<()> {
    if mails.is_empty() {
        return Ok(());
    }
    let rows = json_array(mails.iter().map(|(subscriber, r)| {
        serde_json::json!({
            "tid": hex::encode(r.confirmation.id.as_bytes()),
            "sid": hex::encode(subscriber.as_bytes()),
            "hash": hex::encode(r.confirmation.hash.0),
            "expires": r.confirmation.expires_at,
            "mid": hex::encode(r.confirmation_message.as_bytes()),
            "now": r.now,
        })
    }));
    sqlx::query(dialect::INSERT_CONFIRMATION_TOKENS)
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
    sqlx::query(dialect::INSERT_CONFIRMATION_DELIVERIES)
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn json_array(values: impl Iterator<Item = serde_json::Value>) -> String {
    serde_json::Value::Array(values.collect()).to_string()
}
