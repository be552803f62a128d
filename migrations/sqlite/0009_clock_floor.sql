-- The latest time this database has acted on (docs/architecture.md decision 39): written by
-- each claim and each enqueue, read when a process opens the database, so a process started
-- after the host clock went back counts from here rather than from the host's earlier time
-- (rows queued "in the future" of that time would otherwise wait for the clock to catch up).
-- SQLite only: on PostgreSQL leases and claims are timed by the database server's clock.
CREATE TABLE clock_floor (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
);
INSERT INTO clock_floor (id, at_ms) VALUES (1, 0);
