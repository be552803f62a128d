-- Each message's deliveries counted by state (docs/architecture.md decision 41): what
-- `status`, `issues` and `send --wait`'s progress read, instead of counting a million rows.
-- Kept by triggers, in the statement that changes deliveries, so no code path can forget it.
-- The key of a delivery, kept the same by a claim so that a claim costs the counts nothing:
--   state       `sending` counts as `queued` (the rows in flight are few; a reader counts
--               them from the index and moves them over);
--   retrying    queued or in flight with a failure behind it (the status's "retrying");
--   due_minute  for a first attempt (queued, in flight or paused, no failure), the minute it
--               was due (queued_at / 60,000, which a claim leaves alone: `status` lists those
--               still to come by hour); 0 for every other row.
--
-- Many workers change deliveries at once: one row per key would be a lock every worker's
-- record waits on until the other commits. So each connection adds to rows of its own
-- (`shard` = its backend's pid; no two live connections share one), a read sums the shards,
-- and `fold_delivery_counts` moves the rows of connections that are gone into shard 0. The
-- triggers run once per statement, on its transition tables: one upsert per key whose count
-- the statement changed, none for a claim.
CREATE TABLE delivery_counts (
    message_id uuid NOT NULL,
    state      text NOT NULL,
    retrying   boolean NOT NULL,
    due_minute bigint NOT NULL,
    shard      integer NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (message_id, state, retrying, due_minute, shard)
);

-- A delivery's key, but for its message_id.
CREATE FUNCTION delivery_count_state(state text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state = 'sending' THEN 'queued' ELSE state END
$$;
CREATE FUNCTION delivery_count_retrying(state text, failures bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT state IN ('queued', 'sending') AND failures > 0
$$;
CREATE FUNCTION delivery_count_due_minute(state text, failures bigint, queued_at bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state IN ('queued', 'sending', 'paused') AND failures = 0
                THEN COALESCE(queued_at / 60000, 0) ELSE 0 END
$$;

INSERT INTO delivery_counts (message_id, state, retrying, due_minute, shard, n)
SELECT message_id, delivery_count_state(state), delivery_count_retrying(state, failures),
       delivery_count_due_minute(state, failures, queued_at), 0, count(*)
FROM deliveries GROUP BY 1, 2, 3, 4;

-- Confirmation mail only, a row at a time (a sign-up batch inserts a few): an issue's rows
-- are inserted by one statement, the enqueue, which counts them itself (`ENQUEUE_ISSUE`; a
-- million rows through a transition table took 4 s).
CREATE FUNCTION delivery_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts AS c (message_id, state, retrying, due_minute, shard, n)
    VALUES (NEW.message_id, delivery_count_state(NEW.state),
            delivery_count_retrying(NEW.state, NEW.failures),
            delivery_count_due_minute(NEW.state, NEW.failures, NEW.queued_at), pg_backend_pid(), 1)
    ON CONFLICT (message_id, state, retrying, due_minute, shard) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END $$;

-- The worker's two statements, its claim and its recording of sent mail, say so in
-- `morningpost.counted` (the statement's own timestamp, so no later statement of the
-- transaction matches): the claim changes no count, the recording counts its rows itself.
-- This trigger then leaves them: it cost four workers 14% of their rate and 120 us of the
-- database's CPU per message (decision 41).
CREATE FUNCTION delivery_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('morningpost.counted', true) = statement_timestamp()::text THEN
        RETURN NULL;
    END IF;
    INSERT INTO delivery_counts AS c (message_id, state, retrying, due_minute, shard, n)
    SELECT message_id, state, retrying, due_minute, pg_backend_pid(), sum(n)
    FROM (SELECT message_id, delivery_count_state(state) AS state,
                 delivery_count_retrying(state, failures) AS retrying,
                 delivery_count_due_minute(state, failures, queued_at) AS due_minute, -1 AS n
          FROM old_rows
          UNION ALL
          SELECT message_id, delivery_count_state(state), delivery_count_retrying(state, failures),
                 delivery_count_due_minute(state, failures, queued_at), 1
          FROM new_rows) AS d
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (message_id, state, retrying, due_minute, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE FUNCTION delivery_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts AS c (message_id, state, retrying, due_minute, shard, n)
    SELECT message_id, delivery_count_state(state), delivery_count_retrying(state, failures),
           delivery_count_due_minute(state, failures, queued_at), pg_backend_pid(), -count(*)
    FROM old_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (message_id, state, retrying, due_minute, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE TRIGGER delivery_counts_insert AFTER INSERT ON deliveries
    FOR EACH ROW WHEN (NEW.token_id IS NOT NULL) EXECUTE FUNCTION delivery_counts_inserted();
CREATE TRIGGER delivery_counts_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION delivery_counts_updated();
CREATE TRIGGER delivery_counts_delete AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION delivery_counts_deleted();

-- `status` groups failures by reply code: with the code in the index it counts them from
-- the index, reading a row only when its reply has no code.
DROP INDEX deliveries_message_state;
CREATE INDEX deliveries_message_state ON deliveries (message_id, state, failures, reply_code);
