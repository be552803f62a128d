-- no-transaction
-- Subscriber data you can trust (docs/architecture.md decision 29): how each subscriber
-- joined and on what basis they are mailed, how they left, a suppression list that outlives
-- the subscriber, and erasure.
--
-- source:             how the address came in: 'form', 'api' (a JSON sign-up), 'import', 'admin'.
-- consent:            the basis they are mailed on; NULL while pending (none yet):
--                     'double-opt-in' (confirmed by the link in our mail), 'confirmed-elsewhere'
--                     (an import whose operator stated they opted in with another tool),
--                     'admin' (added by hand by an operator who vouches), 'unknown' (joined before
--                     this was recorded, without a confirmation mail from us).
-- consent_note:       an import's file name and the operator's statement.
-- confirm_ip, confirm_user_agent: who clicked the confirmation link.
-- left_via:           how an unsubscribed reader left: 'link', 'one-click', 'mail', 'admin', 'import'.
--
-- Erasure deletes the subscriber row and keeps the issue's counts: the deliveries and bounce
-- reports of an erased subscriber lose their subscriber (NULL). SQLite cannot drop a NOT NULL:
-- both tables are rebuilt the documented way, foreign keys off, outside sqlx's transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
ALTER TABLE subscribers ADD COLUMN source TEXT NOT NULL DEFAULT 'import'
    CHECK (source IN ('form', 'api', 'import', 'admin'));
ALTER TABLE subscribers ADD COLUMN consent TEXT
    CHECK (consent IN ('double-opt-in', 'confirmed-elsewhere', 'admin', 'unknown'));
ALTER TABLE subscribers ADD COLUMN consent_note TEXT;
ALTER TABLE subscribers ADD COLUMN confirm_ip TEXT;
ALTER TABLE subscribers ADD COLUMN confirm_user_agent TEXT;
ALTER TABLE subscribers ADD COLUMN left_via TEXT
    CHECK (left_via IN ('link', 'one-click', 'mail', 'admin', 'import'));
UPDATE subscribers SET
    source = CASE WHEN EXISTS (SELECT 1 FROM confirmation_tokens t WHERE t.subscriber_id = subscribers.id)
                  THEN 'form' ELSE 'import' END,
    consent = CASE WHEN status = 'pending' THEN NULL
                   WHEN EXISTS (SELECT 1 FROM confirmation_tokens t
                                WHERE t.subscriber_id = subscribers.id AND t.used_at IS NOT NULL)
                   THEN 'double-opt-in' ELSE 'unknown' END;

-- Addresses never to be mailed again, whatever their subscriber row says (or after it is
-- gone). `email_key` is the normalised address while it is known; an erased address keeps
-- only `email_hash`, an HMAC of it under the secret key, so a later import or sign-up of it
-- is recognised without the address being kept.
CREATE TABLE suppressions (
    id            INTEGER PRIMARY KEY,
    email_key     TEXT UNIQUE,
    email_hash    BLOB UNIQUE,
    reason        TEXT NOT NULL CHECK (reason IN ('bounced', 'complained', 'manual', 'erased')),
    suppressed_at INTEGER NOT NULL,
    CHECK (email_key IS NOT NULL OR email_hash IS NOT NULL)
);
INSERT INTO suppressions (email_key, reason, suppressed_at)
SELECT email_key, status, COALESCE(complained_at, bounced_at, updated_at)
FROM subscribers WHERE status IN ('bounced', 'complained') ORDER BY created_at, id;

CREATE TABLE deliveries_new (
    id            INTEGER PRIMARY KEY,
    message_id    BLOB NOT NULL REFERENCES messages (id),
    subscriber_id BLOB REFERENCES subscribers (id),  -- NULL: the subscriber was erased
    token_id      BLOB REFERENCES confirmation_tokens (id),
    priority      INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled', 'paused')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    due_at        INTEGER,
    last_reply    TEXT,
    queued_at     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    sent_at       INTEGER
);
INSERT INTO deliveries_new SELECT id, message_id, subscriber_id, token_id, priority, state, attempts,
       failures, due_at, last_reply, queued_at, updated_at, sent_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE UNIQUE INDEX deliveries_once ON deliveries (message_id, subscriber_id) WHERE token_id IS NULL;
CREATE UNIQUE INDEX deliveries_token ON deliveries (token_id) WHERE token_id IS NOT NULL;
CREATE INDEX deliveries_due ON deliveries (priority DESC, due_at) WHERE state IN ('queued', 'sending');
CREATE INDEX deliveries_message_state ON deliveries (message_id, state, failures);
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id) WHERE state IN ('queued', 'sending');
CREATE INDEX deliveries_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE bounce_events_new (
    id            INTEGER PRIMARY KEY,
    report_key    BLOB NOT NULL UNIQUE,
    subscriber_id BLOB REFERENCES subscribers (id),  -- NULL: the subscriber was erased
    delivery_id   INTEGER,
    message_id    BLOB,
    class         TEXT NOT NULL CHECK (class IN ('hard', 'soft', 'refused', 'complaint')),
    status        TEXT,
    reply_code    TEXT,
    diagnostic    TEXT,
    feedback_type TEXT,
    matched_by    TEXT NOT NULL CHECK (matched_by IN ('verp', 'message-id', 'recipient', 'smtp')),
    received_at   INTEGER NOT NULL
);
INSERT INTO bounce_events_new SELECT id, report_key, subscriber_id, delivery_id, message_id, class, status,
       reply_code, diagnostic, feedback_type, matched_by, received_at FROM bounce_events;
DROP TABLE bounce_events;
ALTER TABLE bounce_events_new RENAME TO bounce_events;
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, received_at);
CREATE INDEX bounce_events_message ON bounce_events (message_id, class);
CREATE INDEX bounce_events_delivery ON bounce_events (delivery_id);
COMMIT;
PRAGMA foreign_key_check;
PRAGMA foreign_keys = ON;
