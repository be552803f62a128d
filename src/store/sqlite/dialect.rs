//! The statements whose SQLite text differs from PostgreSQL's: JSON documents become rows
//! through `json_each`, uuids and hashes travel as hex and become blobs through `unhex`.

/// The types the shared queries (`sql/`) are compiled against.
pub(super) type Db = sqlx::Sqlite;
pub(super) type Conn = sqlx::SqliteConnection;
pub(super) type Handle = super::SqliteStore;

/// A sign-up batch's addresses (a JSON array of normalised addresses) as SQLite knows them.
pub(super) const KNOWN_SIGNUPS: &str = "SELECT s.email_key, s.id, s.status,
        (SELECT max(created_at) FROM confirmation_tokens t WHERE t.subscriber_id = s.id) AS last_mail
 FROM subscribers s WHERE s.email_key IN (SELECT value FROM json_each($1))";

pub(super) const INSERT_PENDING_SUBSCRIBERS: &str = "INSERT INTO subscribers (id, email, email_key, name, time_zone, status, unsubscribe_hash, created_at, updated_at, source)
 SELECT unhex(j.value ->> 'id'), j.value ->> 'email', j.value ->> 'key', j.value ->> 'name', j.value ->> 'tz', 'pending',
        unhex(j.value ->> 'uh'), j.value ->> 'now', j.value ->> 'now', j.value ->> 'src'
 FROM json_each($1) AS j";

/// A zone for each address of a batch (`{"key", "tz", "now"}`, one per address) that has none.
pub(super) const FILL_TIME_ZONES: &str =
    "UPDATE subscribers SET time_zone = j.value ->> 'tz', updated_at = j.value ->> 'now'
 FROM json_each($1) AS j
 WHERE subscribers.email_key = j.value ->> 'key' AND subscribers.time_zone IS NULL";

pub(super) const INSERT_CONFIRMATION_TOKENS: &str = "INSERT INTO confirmation_tokens (id, subscriber_id, token_hash, created_at, expires_at)
 SELECT unhex(j.value ->> 'tid'), unhex(j.value ->> 'sid'), unhex(j.value ->> 'hash'), j.value ->> 'now', j.value ->> 'expires'
 FROM json_each($1) AS j";

pub(super) const INSERT_CONFIRMATION_DELIVERIES: &str = "INSERT INTO deliveries (message_id, subscriber_id, token_id, priority, state, due_at, queued_at, updated_at)
 SELECT unhex(j.value ->> 'mid'), unhex(j.value ->> 'sid'), unhex(j.value ->> 'tid'), 10, 'queued',
        j.value ->> 'now', j.value ->> 'now', j.value ->> 'now'
 FROM json_each($1) AS j";

/// The writer connection serialises confirmations: no row lock needed.
pub(super) const CONFIRMATION_BY_HASH: &str =
    "SELECT t.subscriber_id, t.token_hash, t.expires_at, t.used_at, s.status, s.email
 FROM confirmation_tokens t JOIN subscribers s ON s.id = t.subscriber_id
 WHERE t.token_hash = $1";

/// The unique index settles duplicates (a second `send` of the same issue). `$3` is the
/// default due time, `$4` a JSON object of zone → due time (a local-morning send).
pub(super) const ENQUEUE_ISSUE: &str = concat!("INSERT INTO deliveries (message_id, subscriber_id, priority, state, due_at, queued_at, updated_at)
 SELECT $1, s.id, 0, 'queued', COALESCE(z.value, $3), COALESCE(z.value, $3), $2
 FROM subscribers s LEFT JOIN json_each($4) AS z ON z.key = s.time_zone
 WHERE ", mailable!(), "
 ORDER BY s.id
 ON CONFLICT (message_id, subscriber_id) WHERE token_id IS NULL DO NOTHING");

/// After `ENQUEUE_ISSUE`: counts the rows it inserted in `delivery_counts` in one pass (the
/// insert trigger leaves an issue's rows to this, decision 41: a million trigger runs took
/// 4 s more). They are this message's rows above `$2`, the largest id before it: the one
/// writer gives new rows ids above every other. (`+message_id`: read the id range, not the
/// message's index entries, which may be a million older rows.)
pub(super) const COUNT_ENQUEUED: &str =
    "INSERT INTO delivery_counts (message_id, state, retrying, due_minute, n)
 SELECT message_id, 'queued', 0, COALESCE(queued_at / 60000, 0), count(*) FROM deliveries
 WHERE id > $2 AND +message_id = $1 GROUP BY 1, 2, 3, 4
 ON CONFLICT (message_id, state, retrying, due_minute) DO UPDATE SET n = n + excluded.n";

/// `send --resume` after a cancel: the issue's cancelled rows of subscribers who are active
/// (a reader who left is not active) come due again as `ENQUEUE_ISSUE`'s would.
pub(super) const REVIVE_CANCELLED: &str = concat!("UPDATE deliveries
 SET state = 'queued', failures = 0, due_at = COALESCE(z.value, $3), queued_at = COALESCE(z.value, $3), updated_at = $2
 FROM subscribers s LEFT JOIN json_each($4) AS z ON z.key = s.time_zone
 WHERE s.id = deliveries.subscriber_id AND ", mailable!(), "
   AND deliveries.message_id = $1 AND deliveries.state = 'cancelled' AND deliveries.token_id IS NULL");

/// An issue's refusals by receiving domain: the operator's problem, domain by domain.
pub(super) const REFUSED_BY_DOMAIN: &str =
    "SELECT lower(substr(s.email, instr(s.email, '@') + 1)) AS domain, count(*) AS n
 FROM bounce_events e JOIN subscribers s ON s.id = e.subscriber_id
 WHERE e.message_id = $1 AND e.class = 'refused'
 GROUP BY 1 ORDER BY n DESC, domain LIMIT 5";

/// The active list's largest domains (the metrics' domain label).
pub(super) const TOP_DOMAINS: &str =
    "SELECT lower(substr(email, instr(email, '@') + 1)) AS domain, count(*) AS n
 FROM subscribers WHERE status = 'active'
 GROUP BY 1 ORDER BY n DESC, domain LIMIT $1";

/// The head of the multi-row insert of whole subscriber rows (`sql::subscriber_data`
/// binds the values); the inserted addresses come back.
/// `OR IGNORE` rather than `ON CONFLICT DO NOTHING`: no constraint can then abort the
/// statement half-way, so SQLite keeps no statement journal of the pages it changes (5% of a
/// million-row import). The values come from our own enums: no CHECK fails.
pub(super) const INSERT_SUBSCRIBER_ROWS: &str =
    "INSERT OR IGNORE INTO subscribers (id, email, email_key, name, status,
        unsubscribe_hash, source, consent, consent_note, created_at, updated_at, confirmed_at,
        confirm_ip, confirm_user_agent, unsubscribed_at, left_via, bounced_at, bounce_reply,
        complained_at, time_zone) ";
pub(super) const INSERT_SUBSCRIBER_ROWS_END: &str = " RETURNING email_key";

/// Suppression entries (`{"key", "hash", "reason", "at"}`); one already there is left alone.
pub(super) const INSERT_SUPPRESSIONS: &str =
    "INSERT INTO suppressions (email_key, email_hash, reason, suppressed_at)
 SELECT j.value ->> 'key', unhex(j.value ->> 'hash'), j.value ->> 'reason', j.value ->> 'at'
 FROM json_each($1) AS j WHERE true
 ON CONFLICT DO NOTHING";

/// The entries that name any of a batch's addresses (`{"key", "hash"}`), by address or, for
/// erased ones, by keyed hash (`by_hash`).
pub(super) const SUPPRESSED_AMONG: &str =
    "SELECT j.value ->> 'key' AS email_key, x.reason, false AS by_hash
 FROM json_each($1) AS j JOIN suppressions x ON x.email_key = j.value ->> 'key'
 UNION ALL
 SELECT j.value ->> 'key', x.reason, true
 FROM json_each($1) AS j JOIN suppressions x ON x.email_hash = unhex(j.value ->> 'hash')
 WHERE x.email_key IS NULL";

/// The stored status of each of a batch's addresses (a JSON array of normalised addresses).
pub(super) const STATUS_AMONG: &str = "SELECT email_key, status FROM subscribers
 WHERE email_key IN (SELECT value FROM json_each($1))";

/// Whether sqlx's migrations table exists (`doctor`: a database never initialised has none).
pub(super) const MIGRATIONS_TABLE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";
