-- morningpost schema, PostgreSQL flavour: the same tables, columns and meanings as
-- migrations/sqlite/0001_init.sql. Times are bigint milliseconds since the Unix epoch.

CREATE TABLE subscribers (
    id               uuid PRIMARY KEY,
    email            text NOT NULL,
    email_key        text NOT NULL UNIQUE,
    name             text,
    status           text NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    unsubscribe_hash bytea NOT NULL UNIQUE,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    confirmed_at     bigint,
    unsubscribed_at  bigint,
    bounced_at       bigint,
    bounce_reply     text
);
CREATE INDEX subscribers_status ON subscribers (status);

CREATE TABLE confirmation_tokens (
    id            uuid PRIMARY KEY,
    subscriber_id uuid NOT NULL REFERENCES subscribers (id),
    token_hash    bytea NOT NULL UNIQUE,
    created_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    used_at       bigint
);
CREATE INDEX confirmation_tokens_subscriber ON confirmation_tokens (subscriber_id, created_at);

CREATE TABLE messages (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('issue', 'confirmation')),
    slug        text UNIQUE,
    subject     text NOT NULL,
    title       text NOT NULL,
    issue_date  text,
    html        text NOT NULL,
    text        text NOT NULL,
    web_html    text,
    source_hash bytea NOT NULL,
    created_at  bigint NOT NULL,
    enqueued_at bigint
);

-- No foreign keys on message_id and subscriber_id here (the SQLite flavour has them):
-- enqueueing an issue for 1,000,000 subscribers would check and KEY SHARE-lock a million
-- subscriber rows, ~5 s on its own. Neither subscribers nor messages are ever deleted.
CREATE TABLE deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000) PRIMARY KEY,
    message_id    uuid NOT NULL,
    subscriber_id uuid NOT NULL,
    token_id      uuid REFERENCES confirmation_tokens (id),
    priority      bigint NOT NULL DEFAULT 0,
    state         text NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts      bigint NOT NULL DEFAULT 0,
    failures      bigint NOT NULL DEFAULT 0,
    due_at        bigint,
    last_reply    text,
    queued_at     bigint NOT NULL,
    updated_at    bigint NOT NULL,
    sent_at       bigint
);
-- Subscriber first: the same index finds a subscriber's rows (cancel on unsubscribe), so the
-- queue needs one index fewer per enqueued row.
CREATE UNIQUE INDEX deliveries_once ON deliveries (subscriber_id, message_id) WHERE token_id IS NULL;
CREATE UNIQUE INDEX deliveries_token ON deliveries (token_id) WHERE token_id IS NOT NULL;
CREATE INDEX deliveries_due ON deliveries (priority DESC, due_at) WHERE state IN ('queued', 'sending');
-- Covers the status counts (state, failures) of one message without reading the rows.
CREATE INDEX deliveries_message_state ON deliveries (message_id, state, failures);
CREATE INDEX deliveries_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
