-- The installation's own facts (docs/architecture.md decision 38): the fingerprint of the
-- secret key its links and keyed hashes are made under, recorded once (by `init`, or by the
-- first command that opens the database with a key), so that `doctor` can tell when the key
-- in use is another one. One row.
CREATE TABLE installation (
    id              bigint PRIMARY KEY CHECK (id = 1),
    key_fingerprint text NOT NULL,
    recorded_at     bigint NOT NULL
);
