-- Idempotency records are per API key: one key's requests never meet
-- another's (a read-only key cannot pre-claim a staff member's keys, nor
-- replay their answers). Records from before are at most a day old and
-- cannot be attributed to a key; they are dropped, so a retry of such a
-- request runs again. SQLite cannot change a primary key: the table is
-- made again.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    api_key_id  BLOB NOT NULL REFERENCES api_keys (id),
    key         TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint TEXT NOT NULL,
    outcome     TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, api_key_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
