-- Every write appends its events in one statement that also bumps the
-- tenant's counter (`UPDATE tenants ... RETURNING last_event_seq`, the
-- events inserted FROM it), so an event row can only go in for a tenant
-- that exists: the foreign key from events to tenants guards nothing more.
-- It cost every event a key-share lock on the tenant's row beside the
-- counter's own update lock: a multixact on the one row every writer of
-- the tenant queues on.
ALTER TABLE events DROP CONSTRAINT IF EXISTS reservation_events_tenant_id_fkey;
