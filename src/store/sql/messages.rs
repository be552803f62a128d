//! Messages: issues and the templates of transactional mail.

use sqlx::Row;
use uuid::Uuid;

use super::Handle;
use super::rows::message_from_row;
use crate::store::types::*;
use crate::store::{Result, StoreError};

const MESSAGE_COLUMNS: &str = "SELECT id, kind, slug, subject, title, issue_date, html, text, web_html, source_hash, created_at, enqueued_at,
 scheduled_at, local_time, started_at, hold, hold_reason, held_at, published_at, unpublished_at FROM messages";

impl Handle {
    pub async fn store_issue(&self, m: &NewMessage<'_>) -> Result<StoreIssueOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO messages (id, kind, slug, subject, title, issue_date, html, text, web_html, source_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
        .execute(self.writer())
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
            "{MESSAGE_COLUMNS} WHERE slug = $1"
        )))
        .bind(slug)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    pub async fn message(&self, id: Uuid) -> Result<Option<StoredMessage>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MESSAGE_COLUMNS} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// The id of a stored template (transactional mail) with this content, stored if new.
    pub async fn ensure_template(&self, m: &NewMessage<'_>) -> Result<Uuid> {
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM messages WHERE kind = $1 AND source_hash = $2")
                .bind(m.kind.as_str())
                .bind(&m.source_hash[..])
                .fetch_optional(self.reader())
                .await?;
        if let Some(id) = existing {
            return Ok(id);
        }
        sqlx::query(
            "INSERT INTO messages (id, kind, slug, subject, title, issue_date, html, text, web_html, source_hash, created_at)
             VALUES ($1, $2, NULL, $3, $4, NULL, $5, $6, NULL, $7, $8)",
        )
        .bind(m.id)
        .bind(m.kind.as_str())
        .bind(m.subject)
        .bind(m.title)
        .bind(m.html)
        .bind(m.text)
        .bind(&m.source_hash[..])
        .bind(m.now)
        .execute(self.writer())
        .await?;
        Ok(m.id)
    }

    /// Issues public at `now` (their send has started and they were not taken down),
    /// newest first. `SendControl::is_public` is the same rule for one issue.
    pub async fn archive(&self, now: i64) -> Result<Vec<ArchiveEntry>> {
        let rows = sqlx::query(
            "SELECT slug, title, issue_date, published_at FROM messages
             WHERE kind = 'issue' AND slug IS NOT NULL
               AND published_at <= $1 AND unpublished_at IS NULL
             ORDER BY issue_date DESC, created_at DESC",
        )
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ArchiveEntry {
                    slug: r.try_get("slug")?,
                    title: r.try_get("title")?,
                    issue_date: r
                        .try_get::<Option<String>, _>("issue_date")?
                        .unwrap_or_default(),
                    published_at: r.try_get("published_at")?,
                })
            })
            .collect()
    }

    /// A read: the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    /// A read and a one-row write: the database is up and can take a sign-up.
    pub async fn health(&self, now: i64) -> Result<()> {
        self.check_file()?;
        self.ping().await?;
        sqlx::query("UPDATE health_probe SET probed_at = $1 WHERE id = 1")
            .bind(now)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
