-- The booking schema on SQLite (the embedded, single-node default). Same
-- rules as PostgreSQL: tenant-scoped composite foreign keys, CHECKs, and
-- triggers as the backstop for overlap and the append-only log. Ids are
-- 16-byte UUID blobs; instants are INTEGER microseconds since the epoch
-- (exact, and they compare correctly in SQL).

CREATE TABLE tenants (
    id             BLOB PRIMARY KEY,
    name           TEXT NOT NULL,
    last_event_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_event_seq >= 0)
);

CREATE TABLE branches (
    id        BLOB PRIMARY KEY,
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    name      TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE resources (
    id        BLOB PRIMARY KEY,
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('staff', 'room', 'equipment')),
    UNIQUE (tenant_id, id)
);

CREATE TABLE resource_branches (
    tenant_id   BLOB NOT NULL,
    resource_id BLOB NOT NULL,
    branch_id   BLOB NOT NULL,
    schedule    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, branch_id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id)
);
CREATE INDEX resource_branches_by_branch ON resource_branches (tenant_id, branch_id);

CREATE TABLE services (
    id                    BLOB PRIMARY KEY,
    tenant_id             BLOB NOT NULL REFERENCES tenants (id),
    name                  TEXT NOT NULL,
    duration_minutes      INTEGER NOT NULL CHECK (duration_minutes BETWEEN 0 AND 1440),
    price_minor           INTEGER NOT NULL CHECK (price_minor >= 0),
    currency              TEXT NOT NULL CHECK (length(currency) = 3),
    buffer_before_minutes INTEGER NOT NULL CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    buffer_after_minutes  INTEGER NOT NULL CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    UNIQUE (tenant_id, id)
);

CREATE TABLE service_branches (
    tenant_id   BLOB NOT NULL,
    service_id  BLOB NOT NULL,
    branch_id   BLOB NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency    TEXT NOT NULL CHECK (length(currency) = 3),
    PRIMARY KEY (tenant_id, service_id, branch_id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id)
);

CREATE TABLE products (
    id          BLOB PRIMARY KEY,
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency    TEXT NOT NULL CHECK (length(currency) = 3),
    UNIQUE (tenant_id, id)
);

CREATE TABLE product_branches (
    tenant_id   BLOB NOT NULL,
    product_id  BLOB NOT NULL,
    branch_id   BLOB NOT NULL,
    stock       INTEGER NOT NULL CHECK (stock >= 0 AND stock <= 1000000000),
    price_minor INTEGER CHECK (price_minor >= 0),
    currency    TEXT CHECK (length(currency) = 3),
    CHECK ((price_minor IS NULL) = (currency IS NULL)),
    PRIMARY KEY (tenant_id, product_id, branch_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id)
);
CREATE INDEX product_branches_by_branch ON product_branches (tenant_id, branch_id);

CREATE TABLE reservations (
    id                    BLOB PRIMARY KEY,
    tenant_id             BLOB NOT NULL,
    branch_id             BLOB NOT NULL,
    resource_id           BLOB NOT NULL,
    service_id            BLOB,
    starts_at             INTEGER NOT NULL,
    ends_at               INTEGER NOT NULL,
    buffer_before_minutes INTEGER NOT NULL CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    buffer_after_minutes  INTEGER NOT NULL CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    occupied_start        INTEGER NOT NULL,
    occupied_end          INTEGER NOT NULL,
    lines                 TEXT NOT NULL,
    price                 TEXT NOT NULL,
    status                TEXT NOT NULL
        CHECK (status IN ('held', 'confirmed', 'completed', 'cancelled', 'expired')),
    hold_expires_at       INTEGER,
    note                  TEXT,
    version               INTEGER NOT NULL CHECK (version >= 1),
    created_by            TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    CHECK (starts_at < ends_at),
    CHECK (occupied_start <= starts_at AND occupied_end >= ends_at),
    CHECK ((status = 'held') = (hold_expires_at IS NOT NULL)),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, resource_id, branch_id)
        REFERENCES resource_branches (tenant_id, resource_id, branch_id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id)
);
CREATE INDEX reservations_calendar ON reservations (tenant_id, starts_at, id);
CREATE INDEX reservations_by_resource ON reservations (resource_id, occupied_start);
CREATE INDEX reservations_holds ON reservations (hold_expires_at) WHERE status = 'held';

-- Backstop for "no double booking": refuses an active reservation that
-- overlaps another active one of the same resource, whatever the code did.
CREATE TRIGGER reservations_no_overlap_insert
BEFORE INSERT ON reservations
WHEN NEW.status IN ('held', 'confirmed', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'reservations_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM reservations r
        WHERE r.resource_id = NEW.resource_id AND r.id <> NEW.id
          AND r.status IN ('held', 'confirmed', 'completed')
          AND r.occupied_start < NEW.occupied_end AND NEW.occupied_start < r.occupied_end);
END;

CREATE TRIGGER reservations_no_overlap_update
BEFORE UPDATE OF resource_id, occupied_start, occupied_end, status ON reservations
WHEN NEW.status IN ('held', 'confirmed', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'reservations_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM reservations r
        WHERE r.resource_id = NEW.resource_id AND r.id <> NEW.id
          AND r.status IN ('held', 'confirmed', 'completed')
          AND r.occupied_start < NEW.occupied_end AND NEW.occupied_start < r.occupied_end);
END;

CREATE TABLE reservation_lines (
    tenant_id      BLOB NOT NULL,
    reservation_id BLOB NOT NULL,
    product_id     BLOB NOT NULL,
    branch_id      BLOB NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    PRIMARY KEY (reservation_id, product_id),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservations (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id, branch_id)
        REFERENCES product_branches (tenant_id, product_id, branch_id)
);

CREATE TABLE reservation_events (
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    at             INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    type           TEXT NOT NULL,
    reservation_id BLOB,
    payload        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX reservation_events_by_reservation ON reservation_events (tenant_id, reservation_id, seq);

CREATE TRIGGER reservation_events_no_update BEFORE UPDATE ON reservation_events
BEGIN SELECT RAISE(ABORT, 'reservation_events is append-only'); END;
CREATE TRIGGER reservation_events_no_delete BEFORE DELETE ON reservation_events
BEGIN SELECT RAISE(ABORT, 'reservation_events is append-only'); END;

CREATE TABLE idempotency_keys (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    key         TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint TEXT NOT NULL,
    status_code INTEGER CHECK (status_code BETWEEN 100 AND 599),
    response    TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    key_hash   TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
    actor      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
