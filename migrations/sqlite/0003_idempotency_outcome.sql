-- An idempotency record keeps the outcome of its request opaquely: what
-- the API needs to answer a retry the same way (status, headers such as
-- ETag and Location, body), so the store no longer speaks HTTP. Finished
-- records move into the new column, shaped as the API reads them.
ALTER TABLE idempotency_keys ADD COLUMN outcome TEXT;
UPDATE idempotency_keys
   SET outcome = json_object('status', status_code, 'body', response)
 WHERE status_code IS NOT NULL AND response IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN status_code;
ALTER TABLE idempotency_keys DROP COLUMN response;
