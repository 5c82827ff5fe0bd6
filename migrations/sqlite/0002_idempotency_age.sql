-- Idempotency records are purged by age (the server's sweeper).
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
