-- no-transaction
-- Late bounces and complaints (docs/architecture.md decision 28): a 'complained' subscriber
-- status, and one row per failed recipient of each report that came back.
--
-- SQLite cannot change a CHECK constraint, and `subscribers` is referenced by other tables:
-- the table is rebuilt the way SQLite documents (foreign keys off, outside a transaction,
-- then checked before they are on again). Hence this file runs without sqlx's transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE subscribers_new (
    id               BLOB PRIMARY KEY,
    email            TEXT NOT NULL,
    email_key        TEXT NOT NULL UNIQUE,
    name             TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')),
    unsubscribe_hash BLOB NOT NULL UNIQUE,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    confirmed_at     INTEGER,
    unsubscribed_at  INTEGER,
    bounced_at       INTEGER,
    bounce_reply     TEXT,
    time_zone        TEXT,
    complained_at    INTEGER
);
INSERT INTO subscribers_new (id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at,
                             confirmed_at, unsubscribed_at, bounced_at, bounce_reply, time_zone)
SELECT id, email, email_key, name, status, unsubscribe_hash, created_at, updated_at,
       confirmed_at, unsubscribed_at, bounced_at, bounce_reply, time_zone FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_new RENAME TO subscribers;
CREATE INDEX subscribers_status ON subscribers (status);

-- One row per failed (or complained-about) recipient of a report. `report_key` is the
-- SHA-256 of the report's bytes and the recipient's place in it: ingesting the same report
-- twice records nothing new. The subscriber, the delivery and its message are what the
-- report was matched to (by `matched_by`).
CREATE TABLE bounce_events (
    id            INTEGER PRIMARY KEY,
    report_key    BLOB NOT NULL UNIQUE,
    subscriber_id BLOB NOT NULL REFERENCES subscribers (id),
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
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, received_at);
CREATE INDEX bounce_events_message ON bounce_events (message_id, class);
CREATE INDEX bounce_events_delivery ON bounce_events (delivery_id);
COMMIT;
PRAGMA foreign_key_check;
PRAGMA foreign_keys = ON;
