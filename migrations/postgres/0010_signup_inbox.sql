-- The sign-up inbox (docs/architecture.md decision 40): sign-ups answered while the queue
-- already holds plenty of confirmation mail wait here, as received, oldest first, until the
-- queue has room for them. (SQLite keeps the same table in a file of its own beside the
-- database, `<file>-signups`, so that it has its own write lock; number 9 is SQLite's clock
-- floor, which PostgreSQL does not need.)
CREATE TABLE signup_inbox (
    seq         bigserial PRIMARY KEY,
    -- The normalised address: erasure and `subscribers show` find a held sign-up by it.
    email_key   text NOT NULL,
    received_at bigint NOT NULL,
    -- The sign-up as the store will apply it (JSON): store/sql/inbox.rs.
    request     text NOT NULL
);
CREATE INDEX signup_inbox_email ON signup_inbox (email_key);
