-- Late bounces and complaints (docs/architecture.md decision 28); the columns mean what the
-- SQLite flavour's comments say.
ALTER TABLE subscribers DROP CONSTRAINT subscribers_status_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check
    CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained'));
ALTER TABLE subscribers ADD COLUMN complained_at bigint;

CREATE TABLE bounce_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_key    bytea NOT NULL UNIQUE,
    subscriber_id uuid NOT NULL REFERENCES subscribers (id),
    delivery_id   bigint,
    message_id    uuid,
    class         text NOT NULL CHECK (class IN ('hard', 'soft', 'refused', 'complaint')),
    status        text,
    reply_code    text,
    diagnostic    text,
    feedback_type text,
    matched_by    text NOT NULL CHECK (matched_by IN ('verp', 'message-id', 'recipient', 'smtp')),
    received_at   bigint NOT NULL
);
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, received_at);
CREATE INDEX bounce_events_message ON bounce_events (message_id, class);
CREATE INDEX bounce_events_delivery ON bounce_events (delivery_id);
