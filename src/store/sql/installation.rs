//! The installation's own facts: the secret key's fingerprint (docs/architecture.md decision
//! 37), the schema's state and a write probe, for `doctor`.

use sqlx::Row;

use super::{Handle, dialect};
use crate::store::schema::{AppliedMigration, SchemaState, judge};
use crate::store::types::KeyRecord;
use crate::store::{Result, StoreError};

impl Handle {
    /// The fingerprint recorded for this database, if one is.
    pub async fn key_fingerprint(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT key_fingerprint FROM installation WHERE id = 1")
                .fetch_optional(self.reader())
                .await?,
        )
    }

    /// Records `fingerprint` when none is; says how it compares with one recorded before.
    /// The recorded one is never replaced.
    pub async fn record_key_fingerprint(&self, fingerprint: &str, now: i64) -> Result<KeyRecord> {
        if let Some(recorded) = self.key_fingerprint().await? {
            return Ok(KeyRecord::compare(recorded, fingerprint));
        }
        let inserted = sqlx::query(
            "INSERT INTO installation (id, key_fingerprint, recorded_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(fingerprint)
        .bind(now)
        .execute(self.writer())
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(KeyRecord::Recorded);
        }
        // Another process recorded one in between.
        let recorded = self.key_fingerprint().await?.ok_or_else(|| {
            StoreError::Corrupt("the key fingerprint conflicted but cannot be found".into())
        })?;
        Ok(KeyRecord::compare(recorded, fingerprint))
    }

    /// The schema's state against this binary's migrations, read without changing anything.
    pub async fn schema_state(&self) -> Result<SchemaState> {
        let exists: bool = sqlx::query_scalar(dialect::MIGRATIONS_TABLE_EXISTS)
            .fetch_one(self.reader())
            .await?;
        let applied = if exists {
            sqlx::query("SELECT version, success, checksum FROM _sqlx_migrations")
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| {
                    Ok(AppliedMigration {
                        version: r.try_get("version")?,
                        success: r.try_get("success")?,
                        checksum: r.try_get("checksum")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        } else {
            Vec::new()
        };
        let migrator = crate::store::migrator(super::super::MIGRATIONS);
        let known: Vec<(i64, &[u8])> = migrator
            .iter()
            .map(|m| (m.version, m.checksum.as_ref()))
            .collect();
        Ok(judge(&applied, &known))
    }
}
