-- The operator's controls over a send: schedules, local-morning sends, pause and cancel,
-- publishing; a subscriber's own time zone (docs/architecture.md decision 24).

-- scheduled_at: when a scheduled send's first deliveries come due (NULL: sent at once).
-- local_time:   'HH:MM' of a local-morning send (each subscriber at that time in their zone).
-- started_at:   when the send started (its first due time arrived and a worker saw it).
-- hold:         'paused' or 'cancelled' by the operator or the worker; hold_reason says why.
-- published_at / unpublished_at: the archive shows an issue from when its send starts until
--               the operator takes it down.
ALTER TABLE messages ADD COLUMN scheduled_at INTEGER;
ALTER TABLE messages ADD COLUMN local_time TEXT;
ALTER TABLE messages ADD COLUMN started_at INTEGER;
ALTER TABLE messages ADD COLUMN hold TEXT CHECK (hold IN ('paused', 'cancelled'));
ALTER TABLE messages ADD COLUMN hold_reason TEXT;
ALTER TABLE messages ADD COLUMN held_at INTEGER;
ALTER TABLE messages ADD COLUMN published_at INTEGER;
ALTER TABLE messages ADD COLUMN unpublished_at INTEGER;
UPDATE messages SET started_at = enqueued_at, published_at = enqueued_at WHERE kind = 'issue';
-- Sends the worker must look at (started or judged stale): a handful of rows at most.
CREATE INDEX messages_to_start ON messages (scheduled_at) WHERE started_at IS NULL AND hold IS NULL;

-- An IANA zone name, checked against the tz database before it is stored; NULL: the
-- newsletter's `timezone`.
ALTER TABLE subscribers ADD COLUMN time_zone TEXT;

-- A delivery of a paused issue is 'paused': out of the claim index, so a paused million rows
-- cost a claim nothing. SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE deliveries_new (
    id            INTEGER PRIMARY KEY,
    message_id    BLOB NOT NULL REFERENCES messages (id),
    subscriber_id BLOB NOT NULL REFERENCES subscribers (id),
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
