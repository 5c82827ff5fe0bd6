-- The booking schema. Every row carries tenant_id, and every reference is a
-- composite (tenant_id, id) foreign key, so no row can point at another
-- tenant's branch, resource, service or product.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE tenants (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    -- The last event number handed out. Incremented under the row lock as
    -- the last step of a write, so numbers are gapless and in commit order.
    last_event_seq bigint NOT NULL DEFAULT 0 CHECK (last_event_seq >= 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE branches (
    id        uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name      text NOT NULL,
    time_zone text NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE resources (
    id        uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name      text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('staff', 'room', 'equipment')),
    UNIQUE (tenant_id, id)
);

CREATE TABLE resource_branches (
    tenant_id   uuid NOT NULL,
    resource_id uuid NOT NULL,
    branch_id   uuid NOT NULL,
    schedule    jsonb NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, branch_id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id)
);
CREATE INDEX resource_branches_by_branch ON resource_branches (tenant_id, branch_id);

CREATE TABLE services (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    name                  text NOT NULL,
    duration_minutes      integer NOT NULL CHECK (duration_minutes BETWEEN 0 AND 1440),
    price_minor           bigint NOT NULL CHECK (price_minor >= 0),
    currency              text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    buffer_before_minutes integer NOT NULL CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    buffer_after_minutes  integer NOT NULL CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    UNIQUE (tenant_id, id)
);

CREATE TABLE service_branches (
    tenant_id   uuid NOT NULL,
    service_id  uuid NOT NULL,
    branch_id   uuid NOT NULL,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    PRIMARY KEY (tenant_id, service_id, branch_id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id)
);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    UNIQUE (tenant_id, id)
);

CREATE TABLE product_branches (
    tenant_id   uuid NOT NULL,
    product_id  uuid NOT NULL,
    branch_id   uuid NOT NULL,
    stock       integer NOT NULL
        CONSTRAINT product_branches_stock_in_range CHECK (stock >= 0 AND stock <= 1000000000),
    price_minor bigint CHECK (price_minor >= 0),
    currency    text CHECK (currency ~ '^[A-Z]{3}$'),
    CHECK ((price_minor IS NULL) = (currency IS NULL)),
    PRIMARY KEY (tenant_id, product_id, branch_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id)
);
CREATE INDEX product_branches_by_branch ON product_branches (tenant_id, branch_id);

-- The projection of each reservation's events.
CREATE TABLE reservations (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    branch_id             uuid NOT NULL,
    resource_id           uuid NOT NULL,
    service_id            uuid,
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL,
    buffer_before_minutes integer NOT NULL CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    buffer_after_minutes  integer NOT NULL CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    -- The time the resource is blocked: the range widened by the buffers.
    -- Computed by the application (timestamptz arithmetic is not immutable,
    -- so it cannot be a generated column) and checked below.
    occupied              tstzrange NOT NULL,
    lines                 jsonb NOT NULL,
    price                 jsonb NOT NULL,
    status                text NOT NULL
        CHECK (status IN ('held', 'confirmed', 'completed', 'cancelled', 'expired')),
    hold_expires_at       timestamptz,
    note                  text,
    version               bigint NOT NULL CHECK (version >= 1),
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CONSTRAINT reservations_range_ordered CHECK (starts_at < ends_at),
    CONSTRAINT reservations_occupied_covers_range
        CHECK (lower(occupied) <= starts_at AND upper(occupied) >= ends_at
               AND lower_inc(occupied) AND NOT upper_inc(occupied)),
    CONSTRAINT reservations_hold_expiry CHECK ((status = 'held') = (hold_expires_at IS NOT NULL)),
    UNIQUE (tenant_id, id),
    -- A resource is only booked at a branch it works at.
    CONSTRAINT reservations_resource_at_branch FOREIGN KEY (tenant_id, resource_id, branch_id)
        REFERENCES resource_branches (tenant_id, resource_id, branch_id),
    CONSTRAINT reservations_service FOREIGN KEY (tenant_id, service_id)
        REFERENCES services (tenant_id, id),
    -- The authority on double booking: no two active reservations of one
    -- resource overlap, across all its branches. A stale hold still counts
    -- until a write expires it, which every write does first in its own
    -- transaction for the holds in its way.
    CONSTRAINT reservations_no_overlap EXCLUDE USING gist (resource_id WITH =, occupied WITH &&)
        WHERE (status IN ('held', 'confirmed', 'completed'))
);
CREATE INDEX reservations_calendar ON reservations (tenant_id, starts_at, id);
CREATE INDEX reservations_holds ON reservations (hold_expires_at) WHERE status = 'held';

-- Product lines, relationally, so each references stock at the reservation's
-- branch. Immutable once written (lines never change).
CREATE TABLE reservation_lines (
    tenant_id      uuid NOT NULL,
    reservation_id uuid NOT NULL,
    product_id     uuid NOT NULL,
    branch_id      uuid NOT NULL,
    quantity       integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    PRIMARY KEY (reservation_id, product_id),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservations (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id, branch_id)
        REFERENCES product_branches (tenant_id, product_id, branch_id)
);
CREATE INDEX reservation_lines_by_stock ON reservation_lines (tenant_id, product_id, branch_id);

-- The audit log: append-only, numbered per tenant without gaps.
CREATE TABLE reservation_events (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    seq            bigint NOT NULL CHECK (seq >= 1),
    at             timestamptz NOT NULL,
    actor          text NOT NULL,
    type           text NOT NULL,
    reservation_id uuid,
    payload        jsonb NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX reservation_events_by_reservation
    ON reservation_events (tenant_id, reservation_id, seq) WHERE reservation_id IS NOT NULL;

CREATE FUNCTION reservation_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reservation_events is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER reservation_events_append_only
    BEFORE UPDATE OR DELETE ON reservation_events
    FOR EACH ROW EXECUTE FUNCTION reservation_events_refuse_change();
CREATE TRIGGER reservation_events_no_truncate
    BEFORE TRUNCATE ON reservation_events
    FOR EACH STATEMENT EXECUTE FUNCTION reservation_events_refuse_change();

-- Idempotency for the API: the first request with a key stores its
-- fingerprint and, once done, its response; repeats get the stored response.
CREATE TABLE idempotency_keys (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint text NOT NULL,
    status_code integer CHECK (status_code BETWEEN 100 AND 599),
    response    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    key_hash   text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    role       text NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
    actor      text NOT NULL,
    created_at timestamptz NOT NULL
);
