//! Turning rows into values.

use sqlx::Row;

use super::Db;
use crate::store::types::*;
use crate::store::{Result, StoreError};

type DbRow = <Db as sqlx::Database>::Row;

pub(super) fn status_of(s: &str) -> Result<SubscriberStatus> {
    SubscriberStatus::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown subscriber status {s:?}")))
}

pub(super) fn subscriber_from_row(row: &DbRow) -> Result<Subscriber> {
    Ok(Subscriber {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        status: status_of(&row.try_get::<String, _>("status")?)?,
        created_at: row.try_get("created_at")?,
        time_zone: row.try_get("time_zone")?,
    })
}

pub(super) fn message_from_row(row: &DbRow) -> Result<StoredMessage> {
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
        send: send_control_from_row(row)?,
    })
}

/// The columns of a send's schedule and holds (see `SEND_COLUMNS`).
pub(super) fn send_control_from_row(row: &DbRow) -> Result<SendControl> {
    let hold = row
        .try_get::<Option<String>, _>("hold")?
        .map(|h| Hold::parse(&h).ok_or_else(|| StoreError::Corrupt(format!("unknown hold {h:?}"))))
        .transpose()?;
    Ok(SendControl {
        scheduled_at: row.try_get("scheduled_at")?,
        local_time: row.try_get("local_time")?,
        started_at: row.try_get("started_at")?,
        hold,
        hold_reason: row.try_get("hold_reason")?,
        held_at: row.try_get("held_at")?,
        published_at: row.try_get("published_at")?,
        unpublished_at: row.try_get("unpublished_at")?,
    })
}

/// A claimed delivery joined with its subscriber (both backends' claims return these columns).
pub fn claimed_from_row(row: &DbRow) -> Result<Claimed> {
    Ok(Claimed {
        delivery_id: row.try_get("id")?,
        attempt: row.try_get("attempts")?,
        failures: row.try_get("failures")?,
        message_id: row.try_get("message_id")?,
        token_id: row.try_get("token_id")?,
        subscriber_id: row.try_get("subscriber_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        subscriber_status: status_of(&row.try_get::<String, _>("status")?)?,
        consent: row
            .try_get::<Option<String>, _>("consent")?
            .map(|c| {
                crate::store::Consent::parse(&c)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown consent {c:?}")))
            })
            .transpose()?,
        queued_at: row.try_get("queued_at")?,
    })
}

/// A delivery a report may be about (`id, subscriber_id, message_id`).
pub(super) fn delivery_from_row(r: &DbRow) -> Result<DeliveryRef> {
    Ok(DeliveryRef {
        delivery_id: r.try_get("id")?,
        subscriber_id: r.try_get("subscriber_id")?,
        message_id: r.try_get("message_id")?,
    })
}
