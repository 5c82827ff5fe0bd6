-- Every change is an event now — the catalog, tenants and keys as well as
-- reservations and stock — so the log is named after what it holds. Each
-- event records who made it (the key's id beside its actor name, and the
-- request) and the version of its payload's schema. Renaming and adding
-- columns rewrite no row: the log stays exactly as it was written.
DROP TRIGGER reservation_events_no_update;
DROP TRIGGER reservation_events_no_delete;
ALTER TABLE reservation_events RENAME TO events;
DROP INDEX reservation_events_by_reservation;
CREATE INDEX events_by_reservation ON events (tenant_id, reservation_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

-- Rows written before this migration have payload version 1, no key id and
-- no request id.
ALTER TABLE events ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE events ADD COLUMN actor_key_id BLOB;
ALTER TABLE events ADD COLUMN request_id TEXT CHECK (length(request_id) BETWEEN 1 AND 128);

-- What each event is about (a reservation; a branch, resource, service or
-- product; both ends of a link, branch price or stock record; a key): an
-- item's history is the events naming it here. Written with the event,
-- append-only like it.
CREATE TABLE event_subjects (
    tenant_id BLOB    NOT NULL,
    entity_id BLOB    NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, entity_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER event_subjects_no_update BEFORE UPDATE ON event_subjects
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER event_subjects_no_delete BEFORE DELETE ON event_subjects
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
-- The subjects of the events already written (reservation and stock
-- events), read from the rows as they are (UUIDs are 16-byte blobs here).
INSERT INTO event_subjects (tenant_id, entity_id, seq)
SELECT tenant_id, reservation_id, seq FROM events WHERE reservation_id IS NOT NULL
UNION
SELECT tenant_id, unhex(replace(json_extract(payload, '$.product_id'), '-', '')), seq
  FROM events WHERE type = 'StockChanged'
UNION
SELECT tenant_id, unhex(replace(json_extract(payload, '$.branch_id'), '-', '')), seq
  FROM events WHERE type = 'StockChanged';

-- Keys can expire and be revoked; an administrator lists a tenant's keys.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
