//! The statements whose PostgreSQL text differs from SQLite's: JSON documents become rows
//! through `jsonb_to_recordset`, row locks where several servers may race, and the enqueue
//! anti-join that `prepare_enqueue`'s advisory lock makes safe.

/// The types the shared queries (`sql/`) are compiled against.
pub(super) type Db = sqlx::Postgres;
pub(super) type Conn = sqlx::PgConnection;
pub(super) type Handle = super::PgStore;

/// A sign-up batch's addresses (a JSON array of normalised addresses) as PostgreSQL knows them.
pub(super) const KNOWN_SIGNUPS: &str = "SELECT s.email_key, s.id, s.status,
        (SELECT max(created_at) FROM confirmation_tokens t WHERE t.subscriber_id = s.id) AS last_mail
 FROM subscribers s WHERE s.email_key IN (SELECT jsonb_array_elements_text($1::jsonb))";

pub(super) const INSERT_PENDING_SUBSCRIBERS: &str = "INSERT INTO subscribers (id, email, email_key, name, time_zone, status, unsubscribe_hash, created_at, updated_at, source)
 SELECT j.id::uuid, j.email, j.key, j.name, j.tz, 'pending', decode(j.uh, 'hex'), j.now, j.now, j.src
 FROM jsonb_to_recordset($1::jsonb) AS j(id text, email text, key text, name text, tz text, uh text, now bigint, src text)";

/// A zone for each address of a batch (`{"key", "tz", "now"}`, one per address) that has none.
pub(super) const FILL_TIME_ZONES: &str =
    "UPDATE subscribers s SET time_zone = j.tz, updated_at = j.now
 FROM jsonb_to_recordset($1::jsonb) AS j(key text, tz text, now bigint)
 WHERE s.email_key = j.key AND s.time_zone IS NULL";

pub(super) const INSERT_CONFIRMATION_TOKENS: &str = "INSERT INTO confirmation_tokens (id, subscriber_id, token_hash, created_at, expires_at)
 SELECT j.tid::uuid, j.sid::uuid, decode(j.hash, 'hex'), j.now, j.expires
 FROM jsonb_to_recordset($1::jsonb) AS j(tid text, sid text, hash text, now bigint, expires bigint)";

pub(super) const INSERT_CONFIRMATION_DELIVERIES: &str = "INSERT INTO deliveries (message_id, subscriber_id, token_id, priority, state, due_at, queued_at, updated_at)
 SELECT j.mid::uuid, j.sid::uuid, j.tid::uuid, 10, 'queued', j.now, j.now, j.now
 FROM jsonb_to_recordset($1::jsonb) AS j(tid text, sid text, mid text, now bigint)";

/// Two servers may spend the same token at once: the rows are locked until the commit.
pub(super) const CONFIRMATION_BY_HASH: &str =
    "SELECT t.subscriber_id, t.token_hash, t.expires_at, t.used_at, s.status, s.email
 FROM confirmation_tokens t JOIN subscribers s ON s.id = t.subscriber_id
 WHERE t.token_hash = $1
 FOR UPDATE OF t, s";

/// An anti-join instead of `ON CONFLICT`: no speculative insertion per row. `$3` is the
/// default due time, `$4` a JSON object of zone → due time (a local-morning send). Returns
/// how many rows it inserted, and counts them in `delivery_counts` itself: the insert
/// trigger leaves an issue's rows to it (decision 41; a million rows through a statement
/// trigger's transition table took 4 s more).
pub(super) const ENQUEUE_ISSUE: &str = concat!("WITH inserted AS (
 INSERT INTO deliveries (message_id, subscriber_id, priority, state, due_at, queued_at, updated_at)
 SELECT $1, s.id, 0, 'queued', COALESCE(z.due, $3), COALESCE(z.due, $3), $2
 FROM subscribers s
 LEFT JOIN (SELECT key AS zone, value::bigint AS due FROM jsonb_each_text($4::jsonb)) z ON z.zone = s.time_zone
 WHERE ", mailable!(), "
   AND NOT EXISTS (SELECT 1 FROM deliveries d
                   WHERE d.subscriber_id = s.id AND d.message_id = $1 AND d.token_id IS NULL)
 ORDER BY s.id
 RETURNING queued_at),
 counted AS (
 INSERT INTO delivery_counts AS c (message_id, state, retrying, due_minute, shard, n)
 SELECT $1, delivery_count_state('queued'), delivery_count_retrying('queued', 0),
        delivery_count_due_minute('queued', 0, queued_at), pg_backend_pid(), count(*)
 FROM inserted GROUP BY 4 ORDER BY 4
 ON CONFLICT (message_id, state, retrying, due_minute, shard) DO UPDATE SET n = c.n + excluded.n)
 SELECT count(*) FROM inserted");

/// `send --resume` after a cancel: the issue's cancelled rows of subscribers who are active
/// (a reader who left is not active) come due again as `ENQUEUE_ISSUE`'s would.
pub(super) const REVIVE_CANCELLED: &str = concat!("UPDATE deliveries d
 SET state = 'queued', failures = 0, due_at = COALESCE(z.due, $3), queued_at = COALESCE(z.due, $3), updated_at = $2
 FROM subscribers s
 LEFT JOIN (SELECT key AS zone, value::bigint AS due FROM jsonb_each_text($4::jsonb)) z ON z.zone = s.time_zone
 WHERE s.id = d.subscriber_id AND ", mailable!(), "
   AND d.message_id = $1 AND d.state = 'cancelled' AND d.token_id IS NULL");

/// An issue's refusals by receiving domain: the operator's problem, domain by domain.
pub(super) const REFUSED_BY_DOMAIN: &str =
    "SELECT lower(split_part(s.email, '@', 2)) AS domain, count(*) AS n
 FROM bounce_events e JOIN subscribers s ON s.id = e.subscriber_id
 WHERE e.message_id = $1 AND e.class = 'refused'
 GROUP BY 1 ORDER BY n DESC, domain LIMIT 5";

/// The active list's largest domains (the metrics' domain label).
pub(super) const TOP_DOMAINS: &str =
    "SELECT lower(split_part(email, '@', 2)) AS domain, count(*) AS n
 FROM subscribers WHERE status = 'active'
 GROUP BY 1 ORDER BY n DESC, domain LIMIT $1";

/// The head of the multi-row insert of whole subscriber rows (`sql::subscriber_data`
/// binds the values); the inserted addresses come back.
/// An address already there is left alone.
pub(super) const INSERT_SUBSCRIBER_ROWS: &str =
    "INSERT INTO subscribers (id, email, email_key, name, status,
        unsubscribe_hash, source, consent, consent_note, created_at, updated_at, confirmed_at,
        confirm_ip, confirm_user_agent, unsubscribed_at, left_via, bounced_at, bounce_reply,
        complained_at, time_zone) ";
pub(super) const INSERT_SUBSCRIBER_ROWS_END: &str = " ON CONFLICT DO NOTHING RETURNING email_key";

/// Suppression entries (`{"key", "hash", "reason", "at"}`); one already there is left alone.
pub(super) const INSERT_SUPPRESSIONS: &str =
    "INSERT INTO suppressions (email_key, email_hash, reason, suppressed_at)
 SELECT j.key, decode(j.hash, 'hex'), j.reason, j.at
 FROM jsonb_to_recordset($1::jsonb) AS j(key text, hash text, reason text, at bigint)
 ON CONFLICT DO NOTHING";

/// The entries that name any of a batch's addresses (`{"key", "hash"}`), by address or, for
/// erased ones, by keyed hash (`by_hash`).
pub(super) const SUPPRESSED_AMONG: &str = "SELECT j.key AS email_key, x.reason, false AS by_hash
 FROM jsonb_to_recordset($1::jsonb) AS j(key text, hash text) JOIN suppressions x ON x.email_key = j.key
 UNION ALL
 SELECT j.key, x.reason, true
 FROM jsonb_to_recordset($1::jsonb) AS j(key text, hash text) JOIN suppressions x ON x.email_hash = decode(j.hash, 'hex')
 WHERE x.email_key IS NULL";

/// The stored status of each of a batch's addresses (a JSON array of normalised addresses).
pub(super) const STATUS_AMONG: &str = "SELECT email_key, status FROM subscribers
 WHERE email_key IN (SELECT jsonb_array_elements_text($1::jsonb))";

/// Whether sqlx's migrations table exists (`doctor`: a database never initialised has none).
pub(super) const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
