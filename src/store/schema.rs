//! How a database's schema compares with the migrations this binary carries (`doctor`).

/// One row of sqlx's migrations table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i64,
    pub success: bool,
    pub checksum: Vec<u8>,
}

/// The schema's state against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No migration applied: the database was never initialised (`morningpost init`).
    Uninitialised,
    /// Every migration this binary has, and no other.
    Current { version: i64 },
    /// Migrations this binary has and the database lacks: the next command that opens it
    /// applies them.
    Behind { version: i64, latest: i64 },
    /// Migrations this binary does not know: a newer morningpost used this database, and
    /// this one refuses to open it.
    Ahead { version: i64, latest: i64 },
    /// A migration that stopped part-way (sqlx marks it unsuccessful).
    Failed { version: i64 },
    /// An applied migration whose text differs from this binary's.
    Modified { version: i64 },
}

/// Judges `applied` (in any order) against the `known` migrations, as (version, checksum).
pub fn judge(applied: &[AppliedMigration], known: &[(i64, &[u8])]) -> SchemaState {
    let Some(version) = applied.iter().map(|m| m.version).max() else {
        return SchemaState::Uninitialised;
    };
    let latest = known.iter().map(|(v, _)| *v).max().unwrap_or(0);
    if let Some(m) = applied.iter().find(|m| !m.success) {
        return SchemaState::Failed { version: m.version };
    }
    if applied
        .iter()
        .any(|m| !known.iter().any(|(v, _)| *v == m.version))
    {
        return SchemaState::Ahead { version, latest };
    }
    let modified = applied.iter().find(|m| {
        known
            .iter()
            .any(|(v, sum)| *v == m.version && *sum != m.checksum.as_slice())
    });
    if let Some(m) = modified {
        return SchemaState::Modified { version: m.version };
    }
    if known
        .iter()
        .any(|(v, _)| !applied.iter().any(|m| m.version == *v))
    {
        return SchemaState::Behind { version, latest };
    }
    SchemaState::Current { version }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(version: i64, success: bool, checksum: &[u8]) -> AppliedMigration {
        AppliedMigration {
            version,
            success,
            checksum: checksum.to_vec(),
        }
    }

    #[test]
    fn each_state_is_told_apart() {
        let known: [(i64, &[u8]); 2] = [(1, b"a"), (2, b"b")];
        assert_eq!(judge(&[], &known), SchemaState::Uninitialised);
        assert_eq!(
            judge(&[applied(1, true, b"a"), applied(2, true, b"b")], &known),
            SchemaState::Current { version: 2 }
        );
        assert_eq!(
            judge(&[applied(1, true, b"a")], &known),
            SchemaState::Behind {
                version: 1,
                latest: 2
            }
        );
        assert_eq!(
            judge(
                &[
                    applied(1, true, b"a"),
                    applied(2, true, b"b"),
                    applied(3, true, b"c")
                ],
                &known
            ),
            SchemaState::Ahead {
                version: 3,
                latest: 2
            }
        );
        assert_eq!(
            judge(&[applied(1, true, b"a"), applied(2, false, b"b")], &known),
            SchemaState::Failed { version: 2 }
        );
        assert_eq!(
            judge(&[applied(1, true, b"x"), applied(2, true, b"b")], &known),
            SchemaState::Modified { version: 1 }
        );
    }
}
