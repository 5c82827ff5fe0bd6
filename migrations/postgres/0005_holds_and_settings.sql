-- A tenant's booking settings: one row per tenant, created with it.
CREATE TABLE tenant_settings (
    tenant_id                uuid PRIMARY KEY REFERENCES tenants (id),
    min_notice_minutes       integer NOT NULL CHECK (min_notice_minutes BETWEEN 0 AND 43200),
    horizon_days             integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 3650),
    hold_minutes             integer NOT NULL CHECK (hold_minutes BETWEEN 1 AND 1440),
    max_active_holds_per_key integer NOT NULL
        CHECK (max_active_holds_per_key BETWEEN 1 AND 10000)
);
-- Tenants that exist already get the defaults they have been running on.
INSERT INTO tenant_settings (tenant_id, min_notice_minutes, horizon_days, hold_minutes,
                             max_active_holds_per_key)
SELECT id, 0, 3650, 5, 20 FROM tenants;

-- Which resources perform a service (a service with none listed can be
-- done by any resource).
CREATE TABLE service_resources (
    tenant_id   uuid NOT NULL,
    service_id  uuid NOT NULL,
    resource_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, service_id, resource_id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id)
);
CREATE INDEX service_resources_by_resource ON service_resources (tenant_id, resource_id);

-- The key that made a reservation: its unexpired holds count against the
-- key's quota.
ALTER TABLE reservations ADD COLUMN created_by_key uuid;
CREATE INDEX reservations_holds_by_key ON reservations (tenant_id, created_by_key, hold_expires_at)
    WHERE status = 'held';
