-- morningpost schema, SQLite flavour. Times are integer milliseconds since the Unix epoch
-- (the PostgreSQL flavour uses the same columns and meanings).

CREATE TABLE subscribers (
    id              BLOB PRIMARY KEY,          -- uuid v7
    email           TEXT NOT NULL,
    email_key       TEXT NOT NULL UNIQUE,      -- lower-case address: unique case-insensitively
    name            TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    -- SHA-256 of the subscriber's unsubscribe token (the token itself is never stored)
    unsubscribe_hash BLOB NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    bounced_at      INTEGER,
    bounce_reply    TEXT
);
CREATE INDEX subscribers_status ON subscribers (status);

-- Double opt-in: one row per confirmation mail. The token itself is derived from `id` with the
-- installation's secret key and never stored; `token_hash` is what a link is looked up by.
CREATE TABLE confirmation_tokens (
    id            BLOB PRIMARY KEY,            -- uuid v4
    subscriber_id BLOB NOT NULL REFERENCES subscribers (id),
    token_hash    BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX confirmation_tokens_subscriber ON confirmation_tokens (subscriber_id, created_at);

-- What is sent: an issue (kind 'issue') or a transactional mail. Rendered once.
CREATE TABLE messages (
    id          BLOB PRIMARY KEY,              -- uuid v7
    kind        TEXT NOT NULL CHECK (kind IN ('issue', 'confirmation')),
    slug        TEXT UNIQUE,                   -- issues only
    subject     TEXT NOT NULL,
    title       TEXT NOT NULL,
    issue_date  TEXT,
    html        TEXT NOT NULL,                 -- with slots
    text        TEXT NOT NULL,                 -- with slots
    web_html    TEXT,
    source_hash BLOB NOT NULL,                 -- SHA-256 of the rendered parts
    created_at  INTEGER NOT NULL,
    enqueued_at INTEGER
);

-- One row per (message, recipient): the queue.
--   queued  → sending (leased: due_at = lease expiry, attempts = fence) → sent | failed | cancelled
--   sending → queued again on a temporary failure (due_at = next attempt)
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    message_id    BLOB NOT NULL REFERENCES messages (id),
    subscriber_id BLOB NOT NULL REFERENCES subscribers (id),
    token_id      BLOB REFERENCES confirmation_tokens (id),  -- confirmation mail only
    priority      INTEGER NOT NULL DEFAULT 0,  -- transactional mail goes first
    state         TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,  -- claims so far: the fence
    failures      INTEGER NOT NULL DEFAULT 0,  -- temporary failures so far: the backoff step
    due_at        INTEGER,                     -- queued: next attempt; sending: lease expiry
    last_reply    TEXT,
    queued_at     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    sent_at       INTEGER
);
-- An issue goes to a subscriber once; a confirmation mail once per token.
CREATE UNIQUE INDEX deliveries_once ON deliveries (message_id, subscriber_id) WHERE token_id IS NULL;
CREATE UNIQUE INDEX deliveries_token ON deliveries (token_id) WHERE token_id IS NOT NULL;
-- The claim query's index: only live rows, in claim order.
CREATE INDEX deliveries_due ON deliveries (priority DESC, due_at) WHERE state IN ('queued', 'sending');
-- Covers the status counts (state, failures) of one message without reading the rows.
CREATE INDEX deliveries_message_state ON deliveries (message_id, state, failures);
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id) WHERE state IN ('queued', 'sending');
CREATE INDEX deliveries_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
