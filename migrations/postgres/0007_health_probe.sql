-- One row that `/healthz` rewrites: a read answers whether the database is up, only a
-- write answers whether it can take a sign-up (a full disk, a read-only or deleted file).
CREATE TABLE health_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at BIGINT NOT NULL
);
INSERT INTO health_probe (id, probed_at) VALUES (1, 0);
