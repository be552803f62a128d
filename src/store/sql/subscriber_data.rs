//! Subscriber rows written and read whole: an import's and a restore's batches, and the
//! pages `subscribers export` streams (docs/architecture.md decision 29).

use std::collections::HashMap;

use sqlx::Row;
use uuid::Uuid;

use super::queue::cancel_pending;
use super::rows::status_of;
use super::suppressions::suppress_subscriber;
use super::{Conn, Db, Handle, dialect};
use crate::store::subscriber_data::*;
use crate::store::types::*;
use crate::store::{Result, StoreError};

type DbRow = <Db as sqlx::Database>::Row;

const BACKUP_COLUMNS: &str = "SELECT s.id, s.email, s.name, s.status, s.source, s.consent, s.consent_note,
        s.created_at, s.updated_at, s.confirmed_at, s.confirm_ip, s.confirm_user_agent, s.unsubscribed_at,
        s.left_via, s.bounced_at, s.bounce_reply, s.complained_at, s.time_zone,
        x.reason AS suppressed, x.suppressed_at
 FROM subscribers s LEFT JOIN suppressions x ON x.email_key = s.email_key";

impl Handle {
    /// Writes an import's or a restore's batch in one transaction: new rows (an address
    /// already there is left alone), suppression entries, and status changes the operator
    /// asked for. Returns the addresses inserted.
    pub async fn write_subscribers(&self, batch: &SubscriberBatch<'_>) -> Result<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let mut inserted = Vec::with_capacity(batch.rows.len());
        for rows in batch.rows.chunks(ROWS_PER_INSERT) {
            inserted.extend(insert_rows(&mut tx, rows).await?);
        }
        if !batch.suppressions.is_empty() {
            let rows = json_array(batch.suppressions.iter().map(|s| {
                serde_json::json!({
                    "key": s.email_key,
                    "hash": s.email_hash.map(hex::encode),
                    "reason": s.reason.as_str(),
                    "at": s.suppressed_at,
                })
            }));
            sqlx::query(dialect::INSERT_SUPPRESSIONS)
                .bind(rows)
                .execute(&mut *tx)
                .await?;
        }
        for change in batch.changes {
            change_status(&mut tx, change).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// What the database knows of a batch's addresses (normalised, each with its keyed
    /// hash): their subscribers' statuses, and the suppression entries naming them.
    pub async fn known_among(&self, addresses: &[(String, [u8; 32])]) -> Result<KnownAddresses> {
        let keys: Vec<String> = addresses.iter().map(|(k, _)| k.clone()).collect();
        let mut known = KnownAddresses {
            statuses: self.statuses_among(&keys).await?,
            ..KnownAddresses::default()
        };
        if addresses.is_empty() {
            return Ok(known);
        }
        let pairs = json_array(
            addresses
                .iter()
                .map(|(k, h)| serde_json::json!({"key": k, "hash": hex::encode(h)})),
        );
        for row in sqlx::query(dialect::SUPPRESSED_AMONG)
            .bind(pairs)
            .fetch_all(self.reader())
            .await?
        {
            let reason = reason_of(&row.try_get::<String, _>("reason")?)?;
            let key: String = row.try_get("email_key")?;
            if row.try_get::<bool, _>("by_hash")? {
                known.erased.insert(key.clone());
            }
            known.suppressed.insert(key, reason);
        }
        Ok(known)
    }

    /// The stored status of each of these normalised addresses that is a subscriber's.
    pub async fn statuses_among(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, SubscriberStatus>> {
        let mut statuses = HashMap::with_capacity(keys.len());
        if keys.is_empty() {
            return Ok(statuses);
        }
        let keys = json_array(keys.iter().map(|k| k.as_str().into()));
        for row in sqlx::query(dialect::STATUS_AMONG)
            .bind(keys)
            .fetch_all(self.reader())
            .await?
        {
            let status = status_of(&row.try_get::<String, _>("status")?)?;
            statuses.insert(row.try_get("email_key")?, status);
        }
        Ok(statuses)
    }

    /// Up to `limit` subscribers after `after` in id order (uuid v7: the order they
    /// joined), each with its suppression entry: one page of an export.
    pub async fn backup_page(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<(SubscriberBackup, Option<(SuppressionReason, i64)>)>> {
        let rows = match after {
            Some(after) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{BACKUP_COLUMNS} WHERE s.id > $1 ORDER BY s.id LIMIT $2"
                )))
                .bind(after)
                .bind(limit)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{BACKUP_COLUMNS} ORDER BY s.id LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(self.reader())
                .await?
            }
        };
        rows.iter().map(backup_with_suppression).collect()
    }

    /// One subscriber's whole row and suppression entry, by normalised address.
    pub async fn backup_of(
        &self,
        email_key: &str,
    ) -> Result<Option<(SubscriberBackup, Option<(SuppressionReason, i64)>)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{BACKUP_COLUMNS} WHERE s.email_key = $1"
        )))
        .bind(email_key)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(backup_with_suppression).transpose()
    }

    /// The suppression entries that belong to no subscriber (erased addresses, blocked ones
    /// that never subscribed), in an order both backends give alike.
    pub async fn orphan_suppressions(&self) -> Result<Vec<Suppression>> {
        let rows = sqlx::query(
            "SELECT x.email_key, x.email_hash, x.reason, x.suppressed_at FROM suppressions x
             WHERE x.email_key IS NULL
                OR NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email_key = x.email_key)
             ORDER BY x.suppressed_at, x.email_key IS NULL, x.email_key, x.email_hash",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let hash: Option<Vec<u8>> = r.try_get("email_hash")?;
                let email_hash = hash
                    .map(|h| {
                        <[u8; 32]>::try_from(h.as_slice()).map_err(|_| {
                            StoreError::Corrupt("a suppression hash is not 32 bytes".into())
                        })
                    })
                    .transpose()?;
                Ok(Suppression {
                    email_key: r.try_get("email_key")?,
                    email_hash,
                    reason: reason_of(&r.try_get::<String, _>("reason")?)?,
                    suppressed_at: r.try_get("suppressed_at")?,
                })
            })
            .collect()
    }

    /// Whether any subscriber or suppression entry is stored (a restore wants neither).
    pub async fn holds_subscriber_data(&self) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM subscribers) OR EXISTS (SELECT 1 FROM suppressions)",
        )
        .fetch_one(self.reader())
        .await?)
    }
}

/// An import's `--update-status`: the subscriber takes the file's status, with the time of
/// the change where the status has one; leaving cancels what is queued for them, and a
/// bounce or complaint suppresses the address.
async fn change_status(tx: &mut Conn, c: &StatusChange) -> Result<()> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE subscribers SET status = $2, updated_at = $3,
             confirmed_at = CASE WHEN $2 = 'active' THEN COALESCE(confirmed_at, $3) ELSE confirmed_at END,
             consent_note = CASE WHEN $2 = 'active' AND consent IS NULL THEN $5 ELSE consent_note END,
             consent = CASE WHEN $2 = 'active' THEN COALESCE(consent, $4) ELSE consent END,
             unsubscribed_at = CASE WHEN $2 IN ('unsubscribed', 'complained') THEN $3 ELSE unsubscribed_at END,
             left_via = CASE WHEN $2 = 'unsubscribed' THEN 'import' ELSE left_via END,
             bounced_at = CASE WHEN $2 = 'bounced' THEN $3 ELSE bounced_at END,
             complained_at = CASE WHEN $2 = 'complained' THEN $3 ELSE complained_at END
         WHERE email_key = $1 AND status <> $2
         RETURNING id",
    )
    .bind(&c.email_key)
    .bind(c.status.as_str())
    .bind(c.now)
    .bind(c.consent.map(Consent::as_str))
    .bind(c.consent_note.as_deref())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else { return Ok(()) };
    if c.status != SubscriberStatus::Active {
        cancel_pending(tx, id, "status changed by an import", c.now).await?;
    }
    match c.status {
        SubscriberStatus::Bounced => {
            suppress_subscriber(tx, id, SuppressionReason::Bounced, c.now).await?
        }
        SubscriberStatus::Complained => {
            suppress_subscriber(tx, id, SuppressionReason::Complained, c.now).await?
        }
        _ => {}
    }
    Ok(())
}

/// Rows per INSERT statement: 20 parameters each, under SQLite's 32,766 and PostgreSQL's
/// 65,535 per statement.
const ROWS_PER_INSERT: usize = 1000;

/// Inserts whole rows (an address already there is left alone); returns the inserted
/// addresses. Bound parameters, not a JSON document: SQLite re-parsed each row's JSON once
/// per column, a quarter of an import's time.
async fn insert_rows(tx: &mut Conn, rows: &[SubscriberRow]) -> Result<Vec<String>> {
    let mut q = sqlx::QueryBuilder::<Db>::new(dialect::INSERT_SUBSCRIBER_ROWS);
    q.push_values(rows, |mut v, row| {
        let b = &row.data;
        v.push_bind(b.id)
            .push_bind(b.email.as_str())
            .push_bind(row.email_key.as_str())
            .push_bind(b.name.as_deref())
            .push_bind(b.status.as_str())
            .push_bind(&row.unsubscribe_hash.0[..])
            .push_bind(b.source.as_str())
            .push_bind(b.consent.map(Consent::as_str))
            .push_bind(b.consent_note.as_deref())
            .push_bind(b.created_at)
            .push_bind(b.updated_at)
            .push_bind(b.confirmed_at)
            .push_bind(b.confirm_ip.as_deref())
            .push_bind(b.confirm_user_agent.as_deref())
            .push_bind(b.unsubscribed_at)
            .push_bind(b.left_via.map(LeftVia::as_str))
            .push_bind(b.bounced_at)
            .push_bind(b.bounce_reply.as_deref())
            .push_bind(b.complained_at)
            .push_bind(b.time_zone.as_deref());
    });
    q.push(dialect::INSERT_SUBSCRIBER_ROWS_END);
    Ok(q.build_query_scalar().fetch_all(&mut *tx).await?)
}

type WithSuppression = (SubscriberBackup, Option<(SuppressionReason, i64)>);

fn backup_with_suppression(r: &DbRow) -> Result<WithSuppression> {
    let suppressed = match r.try_get::<Option<String>, _>("suppressed")? {
        Some(reason) => Some((reason_of(&reason)?, r.try_get("suppressed_at")?)),
        None => None,
    };
    Ok((backup_from_row(r)?, suppressed))
}

fn backup_from_row(r: &DbRow) -> Result<SubscriberBackup> {
    let word = |column: &str| -> Result<Option<String>> { Ok(r.try_get(column)?) };
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("unknown {what} {v:?}"));
    let source = word("source")?.unwrap_or_default();
    Ok(SubscriberBackup {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        status: status_of(&r.try_get::<String, _>("status")?)?,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", &source))?,
        consent: word("consent")?
            .map(|c| Consent::parse(&c).ok_or_else(|| corrupt("consent", &c)))
            .transpose()?,
        consent_note: r.try_get("consent_note")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        confirmed_at: r.try_get("confirmed_at")?,
        confirm_ip: r.try_get("confirm_ip")?,
        confirm_user_agent: r.try_get("confirm_user_agent")?,
        unsubscribed_at: r.try_get("unsubscribed_at")?,
        left_via: word("left_via")?
            .map(|v| LeftVia::parse(&v).ok_or_else(|| corrupt("way of leaving", &v)))
            .transpose()?,
        bounced_at: r.try_get("bounced_at")?,
        bounce_reply: r.try_get("bounce_reply")?,
        complained_at: r.try_get("complained_at")?,
        time_zone: r.try_get("time_zone")?,
    })
}

pub(super) fn reason_of(s: &str) -> Result<SuppressionReason> {
    SuppressionReason::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown suppression reason {s:?}")))
}

fn json_array(values: impl Iterator<Item = serde_json::Value>) -> String {
    serde_json::Value::Array(values.collect()).to_string()
}
