-- Each message's deliveries counted by state (docs/architecture.md decision 41): what
-- `status`, `issues` and `send --wait`'s progress read, instead of counting a million rows.
-- Kept by triggers, in the statement that changes a delivery, so no code path can forget it.
-- The key of a delivery, kept the same by a claim so that a claim costs the counts nothing:
--   state       `sending` counts as `queued` (the rows in flight are few; a reader counts
--               them from the index and moves them over);
--   retrying    queued or in flight with a failure behind it (the status's "retrying");
--   due_minute  for a first attempt (queued, in flight or paused, no failure), the minute it
--               was due (queued_at / 60,000, which a claim leaves alone: `status` lists those
--               still to come by hour); 0 for every other row.
-- SQLite has one writer: one row per key.
CREATE TABLE delivery_counts (
    message_id BLOB NOT NULL,
    state      TEXT NOT NULL,
    retrying   INTEGER NOT NULL,
    due_minute INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (message_id, state, retrying, due_minute)
) WITHOUT ROWID;

INSERT INTO delivery_counts (message_id, state, retrying, due_minute, n)
SELECT message_id,
       CASE WHEN state = 'sending' THEN 'queued' ELSE state END,
       state IN ('queued', 'sending') AND failures > 0,
       CASE WHEN state IN ('queued', 'sending', 'paused') AND failures = 0
            THEN COALESCE(queued_at / 60000, 0) ELSE 0 END,
       count(*)
FROM deliveries GROUP BY 1, 2, 3, 4;

-- Confirmation mail only: an issue's rows are inserted by one statement, the enqueue, which
-- counts them itself in one pass (`COUNT_ENQUEUED`; a million runs of this trigger took 4 s).
CREATE TRIGGER delivery_counts_insert AFTER INSERT ON deliveries
WHEN NEW.token_id IS NOT NULL
BEGIN
    INSERT INTO delivery_counts (message_id, state, retrying, due_minute, n)
    VALUES (NEW.message_id,
            CASE WHEN NEW.state = 'sending' THEN 'queued' ELSE NEW.state END,
            NEW.state IN ('queued', 'sending') AND NEW.failures > 0,
            CASE WHEN NEW.state IN ('queued', 'sending', 'paused') AND NEW.failures = 0
                 THEN COALESCE(NEW.queued_at / 60000, 0) ELSE 0 END,
            1)
    ON CONFLICT (message_id, state, retrying, due_minute) DO UPDATE SET n = n + 1;
END;

-- Only when the row's key changes: a claim (queued to sending), a lease renewed, a new reply
-- or a later retry cost nothing.
CREATE TRIGGER delivery_counts_update AFTER UPDATE OF message_id, state, failures, queued_at ON deliveries
WHEN OLD.message_id IS NOT NEW.message_id
  OR (CASE WHEN OLD.state = 'sending' THEN 'queued' ELSE OLD.state END)
     IS NOT (CASE WHEN NEW.state = 'sending' THEN 'queued' ELSE NEW.state END)
  OR (OLD.state IN ('queued', 'sending') AND OLD.failures > 0)
     IS NOT (NEW.state IN ('queued', 'sending') AND NEW.failures > 0)
  OR (CASE WHEN OLD.state IN ('queued', 'sending', 'paused') AND OLD.failures = 0
           THEN COALESCE(OLD.queued_at / 60000, 0) ELSE 0 END)
     IS NOT (CASE WHEN NEW.state IN ('queued', 'sending', 'paused') AND NEW.failures = 0
                  THEN COALESCE(NEW.queued_at / 60000, 0) ELSE 0 END)
BEGIN
    UPDATE delivery_counts SET n = n - 1
    WHERE message_id = OLD.message_id
      AND state = (CASE WHEN OLD.state = 'sending' THEN 'queued' ELSE OLD.state END)
      AND retrying = (OLD.state IN ('queued', 'sending') AND OLD.failures > 0)
      AND due_minute = CASE WHEN OLD.state IN ('queued', 'sending', 'paused') AND OLD.failures = 0
                            THEN COALESCE(OLD.queued_at / 60000, 0) ELSE 0 END;
    INSERT INTO delivery_counts (message_id, state, retrying, due_minute, n)
    VALUES (NEW.message_id,
            CASE WHEN NEW.state = 'sending' THEN 'queued' ELSE NEW.state END,
            NEW.state IN ('queued', 'sending') AND NEW.failures > 0,
            CASE WHEN NEW.state IN ('queued', 'sending', 'paused') AND NEW.failures = 0
                 THEN COALESCE(NEW.queued_at / 60000, 0) ELSE 0 END,
            1)
    ON CONFLICT (message_id, state, retrying, due_minute) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER delivery_counts_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE delivery_counts SET n = n - 1
    WHERE message_id = OLD.message_id
      AND state = (CASE WHEN OLD.state = 'sending' THEN 'queued' ELSE OLD.state END)
      AND retrying = (OLD.state IN ('queued', 'sending') AND OLD.failures > 0)
      AND due_minute = CASE WHEN OLD.state IN ('queued', 'sending', 'paused') AND OLD.failures = 0
                            THEN COALESCE(OLD.queued_at / 60000, 0) ELSE 0 END;
END;

-- `status` groups failures by reply code: with the code in the index it counts them from
-- the index, reading a row only when its reply has no code.
DROP INDEX deliveries_message_state;
CREATE INDEX deliveries_message_state ON deliveries (message_id, state, failures, reply_code);
