-- Idempotency records are per API key: one key's requests never meet
-- another's (a read-only key cannot pre-claim a staff member's keys, nor
-- replay their answers). Records from before are at most a day old and
-- cannot be attributed to a key; they are dropped, so a retry of such a
-- request runs again.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys
    ADD COLUMN api_key_id uuid NOT NULL REFERENCES api_keys (id),
    DROP CONSTRAINT idempotency_keys_pkey,
    ADD PRIMARY KEY (tenant_id, api_key_id, key);
