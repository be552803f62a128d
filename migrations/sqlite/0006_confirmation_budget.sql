-- The hourly budget of confirmation mail (docs/architecture.md decision 36). Confirmations
-- sent in the last hour are counted from this index, which holds confirmation mail only.
CREATE INDEX deliveries_confirmations_sent ON deliveries (sent_at) WHERE priority > 0 AND sent_at IS NOT NULL;

-- What the workers last saw of the budget, for `status`, `signups backlog` and the
-- metrics: the limit in force, since when it has been exhausted (NULL: it is not), and when
-- a worker last looked. One row.
CREATE TABLE confirmation_budget (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    per_hour        INTEGER NOT NULL,
    exhausted_since INTEGER,
    looked_at       INTEGER NOT NULL
);
