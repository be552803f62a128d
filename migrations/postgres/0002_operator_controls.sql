-- The operator's controls over a send: schedules, local-morning sends, pause and cancel,
-- publishing; a subscriber's own time zone (docs/architecture.md decision 24). The columns
-- mean what the SQLite flavour's comments say.
ALTER TABLE messages
    ADD COLUMN scheduled_at bigint,
    ADD COLUMN local_time text,
    ADD COLUMN started_at bigint,
    ADD COLUMN hold text CHECK (hold IN ('paused', 'cancelled')),
    ADD COLUMN hold_reason text,
    ADD COLUMN held_at bigint,
    ADD COLUMN published_at bigint,
    ADD COLUMN unpublished_at bigint;
UPDATE messages SET started_at = enqueued_at, published_at = enqueued_at WHERE kind = 'issue';
CREATE INDEX messages_to_start ON messages (scheduled_at) WHERE started_at IS NULL AND hold IS NULL;

ALTER TABLE subscribers ADD COLUMN time_zone text;

-- A delivery of a paused issue is 'paused': out of the claim index.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled', 'paused'));
