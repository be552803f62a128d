-- Subscriber data you can trust (docs/architecture.md decision 29); the columns and the
-- table mean what the SQLite flavour's comments say.
ALTER TABLE subscribers ADD COLUMN source text NOT NULL DEFAULT 'import'
    CHECK (source IN ('form', 'api', 'import', 'admin'));
ALTER TABLE subscribers ADD COLUMN consent text
    CHECK (consent IN ('double-opt-in', 'confirmed-elsewhere', 'admin', 'unknown'));
ALTER TABLE subscribers ADD COLUMN consent_note text;
ALTER TABLE subscribers ADD COLUMN confirm_ip text;
ALTER TABLE subscribers ADD COLUMN confirm_user_agent text;
ALTER TABLE subscribers ADD COLUMN left_via text
    CHECK (left_via IN ('link', 'one-click', 'mail', 'admin', 'import'));
UPDATE subscribers s SET
    source = CASE WHEN EXISTS (SELECT 1 FROM confirmation_tokens t WHERE t.subscriber_id = s.id)
                  THEN 'form' ELSE 'import' END,
    consent = CASE WHEN s.status = 'pending' THEN NULL
                   WHEN EXISTS (SELECT 1 FROM confirmation_tokens t
                                WHERE t.subscriber_id = s.id AND t.used_at IS NOT NULL)
                   THEN 'double-opt-in' ELSE 'unknown' END;

CREATE TABLE suppressions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email_key     text UNIQUE,
    email_hash    bytea UNIQUE,
    reason        text NOT NULL CHECK (reason IN ('bounced', 'complained', 'manual', 'erased')),
    suppressed_at bigint NOT NULL,
    CHECK (email_key IS NOT NULL OR email_hash IS NOT NULL)
);
INSERT INTO suppressions (email_key, reason, suppressed_at)
SELECT email_key, status, COALESCE(complained_at, bounced_at, updated_at)
FROM subscribers WHERE status IN ('bounced', 'complained') ORDER BY created_at, id;

-- NULL: the subscriber was erased (the issue's counts stay).
ALTER TABLE deliveries ALTER COLUMN subscriber_id DROP NOT NULL;
ALTER TABLE bounce_events ALTER COLUMN subscriber_id DROP NOT NULL;
