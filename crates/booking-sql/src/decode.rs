//! Rows → domain types. Every stored value is re-validated through the
//! domain constructors; one that fails is reported as corrupt.

use booking_core::{
    Actor, ApiKey, ApiKeyId, Attribution, Branch, BranchId, CatalogKey, CatalogList, CatalogRecord,
    Event, EventPayload, Minutes, Money, Name, Note, PriceSnapshot, Product, ProductBranch,
    ProductId, ProductLine, RangeLimits, RequestId, Reservation, ReservationId, Resource,
    ResourceBranch, ResourceId, Schedule, Seq, ServiceId, ServiceItem, ServiceItemBranch,
    ServiceResource, StoreError, Tenant, TenantId, TenantSettings, TimeRange,
};

use crate::{Columns, corrupt, int};

fn name(row: &impl Columns, column: &str) -> Result<Name, StoreError> {
    Name::stored(&row.text(column)?).map_err(|e| corrupt("name", e))
}

fn money(row: &impl Columns, minor: &str, currency: &str) -> Result<Money, StoreError> {
    Money::from_code(row.int(minor)?, &row.text(currency)?).map_err(|e| corrupt("money", e))
}

/// A price that may be unset: both columns set, or neither.
///
/// # Errors
/// A missing column, or one set without the other.
pub fn optional_money(
    row: &impl Columns,
    minor: &str,
    currency: &str,
) -> Result<Option<Money>, StoreError> {
    match (row.opt_int(minor)?, row.opt_text(currency)?) {
        (Some(m), Some(c)) => Ok(Some(
            Money::from_code(m, &c).map_err(|e| corrupt("money", e))?,
        )),
        (None, None) => Ok(None),
        _ => Err(corrupt(
            "price",
            "amount and currency must both be set or unset",
        )),
    }
}

fn minutes(row: &impl Columns, column: &str) -> Result<Minutes, StoreError> {
    let value = row.int(column)?;
    u32::try_from(value)
        .ok()
        .and_then(|v| Minutes::new(v).ok())
        .ok_or_else(|| corrupt("minutes", value))
}

fn actor(row: &impl Columns, column: &str) -> Result<Actor, StoreError> {
    Actor::stored(&row.text(column)?).map_err(|e| corrupt("actor", e))
}

fn tenant_id(row: &impl Columns) -> Result<TenantId, StoreError> {
    Ok(TenantId::from_uuid(row.uuid("tenant_id")?))
}

/// A row found by one read of a batch.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn read(
    read: booking_core::CatalogRead,
    row: &impl Columns,
) -> Result<CatalogRecord, StoreError> {
    match read {
        booking_core::CatalogRead::Key(key) => record(key, row),
        booking_core::CatalogRead::List(list) => listed(list, row),
    }
}

/// A `tenants` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn tenant(row: &impl Columns) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: TenantId::from_uuid(row.uuid("id")?),
        name: name(row, "name")?,
    })
}

/// A `branches` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn branch(row: &impl Columns) -> Result<Branch, StoreError> {
    Ok(Branch {
        id: BranchId::from_uuid(row.uuid("id")?),
        tenant_id: tenant_id(row)?,
        name: name(row, "name")?,
        time_zone: row
            .text("time_zone")?
            .parse()
            .map_err(|e| corrupt("time zone", e))?,
    })
}

/// A `resources` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn resource(row: &impl Columns) -> Result<Resource, StoreError> {
    Ok(Resource {
        id: ResourceId::from_uuid(row.uuid("id")?),
        tenant_id: tenant_id(row)?,
        name: name(row, "name")?,
        kind: row
            .text("kind")?
            .parse()
            .map_err(|e| corrupt("resource kind", e))?,
    })
}

/// A `resource_branches` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn resource_branch(row: &impl Columns) -> Result<ResourceBranch, StoreError> {
    Ok(ResourceBranch {
        tenant_id: tenant_id(row)?,
        resource_id: ResourceId::from_uuid(row.uuid("resource_id")?),
        branch_id: BranchId::from_uuid(row.uuid("branch_id")?),
        schedule: row.json::<Schedule>("schedule")?,
    })
}

/// A `services` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn service(row: &impl Columns) -> Result<ServiceItem, StoreError> {
    Ok(ServiceItem {
        id: ServiceId::from_uuid(row.uuid("id")?),
        tenant_id: tenant_id(row)?,
        name: name(row, "name")?,
        duration: minutes(row, "duration_minutes")?,
        price: money(row, "price_minor", "currency")?,
        buffer_before: minutes(row, "buffer_before_minutes")?,
        buffer_after: minutes(row, "buffer_after_minutes")?,
    })
}

/// A `service_branches` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn service_branch(row: &impl Columns) -> Result<ServiceItemBranch, StoreError> {
    Ok(ServiceItemBranch {
        tenant_id: tenant_id(row)?,
        service_id: ServiceId::from_uuid(row.uuid("service_id")?),
        branch_id: BranchId::from_uuid(row.uuid("branch_id")?),
        price: money(row, "price_minor", "currency")?,
    })
}

/// A `products` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn product(row: &impl Columns) -> Result<Product, StoreError> {
    Ok(Product {
        id: ProductId::from_uuid(row.uuid("id")?),
        tenant_id: tenant_id(row)?,
        name: name(row, "name")?,
        price: money(row, "price_minor", "currency")?,
    })
}

/// A `product_branches` row.
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn product_branch(row: &impl Columns) -> Result<ProductBranch, StoreError> {
    Ok(ProductBranch {
        tenant_id: tenant_id(row)?,
        product_id: ProductId::from_uuid(row.uuid("product_id")?),
        branch_id: BranchId::from_uuid(row.uuid("branch_id")?),
        stock: int(row.int("stock")?, "stock")?,
        price: optional_money(row, "price_minor", "currency")?,
    })
}

/// A `service_resources` row.
///
/// # Errors
/// A missing column.
pub fn service_resource(row: &impl Columns) -> Result<ServiceResource, StoreError> {
    Ok(ServiceResource {
        tenant_id: tenant_id(row)?,
        service_id: ServiceId::from_uuid(row.uuid("service_id")?),
        resource_id: ResourceId::from_uuid(row.uuid("resource_id")?),
    })
}

/// A `tenant_settings` row.
///
/// # Errors
/// A missing column or a value out of bounds.
pub fn settings(row: &impl Columns) -> Result<TenantSettings, StoreError> {
    let n = |column: &str| -> Result<u32, StoreError> { int(row.int(column)?, column) };
    TenantSettings::new(
        tenant_id(row)?,
        n("min_notice_minutes")?,
        n("horizon_days")?,
        n("hold_minutes")?,
        n("max_active_holds_per_key")?,
    )
    .map_err(|e| corrupt("settings", e))
}

/// A row of the table that holds records with `key`'s kind.
///
/// # Errors
/// As the record's own decoder.
pub fn record(key: CatalogKey, row: &impl Columns) -> Result<CatalogRecord, StoreError> {
    Ok(match key {
        CatalogKey::Branch(_) => CatalogRecord::Branch(branch(row)?),
        CatalogKey::Resource(_) => CatalogRecord::Resource(resource(row)?),
        CatalogKey::Service(_) => CatalogRecord::Service(service(row)?),
        CatalogKey::Product(_) => CatalogRecord::Product(product(row)?),
        CatalogKey::Schedule(..) => CatalogRecord::Schedule(resource_branch(row)?),
        CatalogKey::ServicePrice(..) => CatalogRecord::ServicePrice(service_branch(row)?),
        CatalogKey::Stock(_) => CatalogRecord::Stock(product_branch(row)?),
        CatalogKey::ServiceResource(..) => CatalogRecord::ServiceResource(service_resource(row)?),
        CatalogKey::Settings(_) => CatalogRecord::Settings(settings(row)?),
    })
}

/// A row of the table `list` reads.
///
/// # Errors
/// As the record's own decoder.
pub fn listed(list: CatalogList, row: &impl Columns) -> Result<CatalogRecord, StoreError> {
    Ok(match list {
        CatalogList::Branches => CatalogRecord::Branch(branch(row)?),
        CatalogList::Resources => CatalogRecord::Resource(resource(row)?),
        CatalogList::Services => CatalogRecord::Service(service(row)?),
        CatalogList::Products => CatalogRecord::Product(product(row)?),
        CatalogList::SchedulesAt(_) | CatalogList::SchedulesOf(_) => {
            CatalogRecord::Schedule(resource_branch(row)?)
        }
        CatalogList::ServicePricesAt(_) | CatalogList::ServicePricesOf(_) => {
            CatalogRecord::ServicePrice(service_branch(row)?)
        }
        CatalogList::StockAt(_) | CatalogList::StockOf(_) => {
            CatalogRecord::Stock(product_branch(row)?)
        }
        CatalogList::ResourcesOfService(_) | CatalogList::ServicesOfResource(_) => {
            CatalogRecord::ServiceResource(service_resource(row)?)
        }
    })
}

/// A `reservations` row ([`crate::RESERVATION_COLUMNS`]).
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn reservation(row: &impl Columns) -> Result<Reservation, StoreError> {
    Ok(Reservation {
        id: ReservationId::from_uuid(row.uuid("id")?),
        tenant_id: tenant_id(row)?,
        branch_id: BranchId::from_uuid(row.uuid("branch_id")?),
        resource_id: ResourceId::from_uuid(row.uuid("resource_id")?),
        service_id: row.opt_uuid("service_id")?.map(ServiceId::from_uuid),
        range: TimeRange::new(
            row.instant("starts_at")?,
            row.instant("ends_at")?,
            &RangeLimits::stored(),
        )
        .map_err(|e| corrupt("range", e))?,
        buffer_before: minutes(row, "buffer_before_minutes")?,
        buffer_after: minutes(row, "buffer_after_minutes")?,
        lines: row.json::<Vec<ProductLine>>("lines")?,
        price: row.json::<PriceSnapshot>("price")?,
        status: row
            .text("status")?
            .parse()
            .map_err(|e| corrupt("status", e))?,
        hold_expires_at: row.opt_instant("hold_expires_at")?,
        note: row
            .opt_text("note")?
            .map(|n| Note::stored(&n))
            .transpose()
            .map_err(|e| corrupt("note", e))?,
        version: int(row.int("version")?, "version")?,
        created_by: actor(row, "created_by")?,
        created_by_key: row.opt_uuid("created_by_key")?.map(ApiKeyId::from_uuid),
        created_at: row.instant("created_at")?,
        updated_at: row.instant("updated_at")?,
    })
}

/// An `events` row. The payload is read with the schema version it was
/// written with ([`EventPayload::decode`]), so rows of every version stay
/// readable.
///
/// # Errors
/// A missing column or a value the domain refuses; an event this code
/// cannot decode is reported, never skipped.
pub fn event(row: &impl Columns) -> Result<Event, StoreError> {
    let version: u16 = int(row.int("version")?, "event payload version")?;
    let payload = EventPayload::decode(&row.text("type")?, version, row.json("payload")?)
        .map_err(|e| corrupt("event", e))?;
    Ok(Event {
        seq: Seq(int(row.int("seq")?, "seq")?),
        tenant_id: tenant_id(row)?,
        at: row.instant("at")?,
        by: Attribution {
            actor: actor(row, "actor")?,
            key_id: row.opt_uuid("actor_key_id")?.map(ApiKeyId::from_uuid),
            request_id: row
                .opt_text("request_id")?
                .map(|id| RequestId::new(&id).map_err(|e| corrupt("request id", e)))
                .transpose()?,
        },
        payload,
    })
}

/// An `api_keys` row (`id, tenant_id, role, actor, created_at,
/// expires_at, revoked_at`).
///
/// # Errors
/// A missing column or a value the domain refuses.
pub fn api_key(row: &impl Columns) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.uuid("id")?),
        tenant_id: tenant_id(row)?,
        role: row.text("role")?.parse().map_err(|e| corrupt("role", e))?,
        actor: actor(row, "actor")?,
        created_at: row.instant("created_at")?,
        expires_at: row.opt_instant("expires_at")?,
        revoked_at: row.opt_instant("revoked_at")?,
    })
}
