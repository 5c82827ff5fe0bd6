-- Every change is an event now — the catalog, tenants and keys as well as
-- reservations and stock — so the log is named after what it holds. Each
-- event records who made it (the key's id beside its actor name, and the
-- request) and the version of its payload's schema. Renaming and adding
-- columns rewrite no row: the log stays exactly as it was written.
ALTER TABLE reservation_events RENAME TO events;
ALTER INDEX reservation_events_by_reservation RENAME TO events_by_reservation;
ALTER TRIGGER reservation_events_append_only ON events RENAME TO events_append_only;
ALTER TRIGGER reservation_events_no_truncate ON events RENAME TO events_no_truncate;
ALTER FUNCTION reservation_events_refuse_change() RENAME TO audit_log_refuse_change;
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;

-- Rows written before this migration have payload version 1, no key id and
-- no request id.
ALTER TABLE events ADD COLUMN version smallint NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE events ADD COLUMN actor_key_id uuid;
ALTER TABLE events ADD COLUMN request_id text CHECK (length(request_id) BETWEEN 1 AND 128);

-- What each event is about (a reservation; a branch, resource, service or
-- product; both ends of a link, branch price or stock record; a key): an
-- item's history is the events naming it here. Written with the event,
-- append-only like it.
CREATE TABLE event_subjects (
    tenant_id uuid   NOT NULL,
    entity_id uuid   NOT NULL,
    seq       bigint NOT NULL,
    PRIMARY KEY (tenant_id, entity_id, seq)
);
CREATE TRIGGER event_subjects_append_only
    BEFORE UPDATE OR DELETE ON event_subjects
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER event_subjects_no_truncate
    BEFORE TRUNCATE ON event_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
-- The subjects of the events already written (reservation and stock
-- events), read from the rows as they are.
INSERT INTO event_subjects (tenant_id, entity_id, seq)
SELECT tenant_id, reservation_id, seq FROM events WHERE reservation_id IS NOT NULL
UNION
SELECT tenant_id, (payload ->> 'product_id')::uuid, seq FROM events WHERE type = 'StockChanged'
UNION
SELECT tenant_id, (payload ->> 'branch_id')::uuid, seq FROM events WHERE type = 'StockChanged';

-- Keys can expire and be revoked; an administrator lists a tenant's keys.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
