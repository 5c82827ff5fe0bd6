//! Rows → domain types. Every stored value is re-validated through the
//! domain constructors; a value that fails is reported as corrupt.

use std::ops::Bound;

use booking_core::{
    Actor, Branch, Event, EventPayload, Minutes, Money, Name, Note, PriceSnapshot, Product,
    ProductBranch, ProductLine, RangeLimits, Reservation, Resource, ResourceBranch, Schedule, Seq,
    ServiceItem, ServiceItemBranch, StoreError, Tenant, TimeRange,
};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgRow, types::PgRange};
use sqlx::types::Json;

use crate::error::{corrupt, store_error};

/// A number converted for the database or back, or an error naming it: a
/// value that does not fit is never silently replaced.
pub(crate) fn int<T, U>(value: T, what: &str) -> Result<U, StoreError>
where
    T: Copy + std::fmt::Display,
    U: TryFrom<T>,
{
    U::try_from(value).map_err(|_| StoreError::Internal(format!("{what} {value} does not fit")))
}

/// The columns [`reservation`] reads, in order.
pub(crate) const RESERVATION_COLUMNS: &str = "id, tenant_id, branch_id, resource_id, service_id, \
    starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, lines, price, status, \
    hold_expires_at, note, version, created_by, created_at, updated_at";

/// `[start, end)` as a `tstzrange`.
pub(crate) fn pg_range(r: &TimeRange) -> PgRange<DateTime<Utc>> {
    PgRange {
        start: Bound::Included(r.start()),
        end: Bound::Excluded(r.end()),
    }
}

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(store_error)
}

pub(crate) fn name(value: &str) -> Result<Name, StoreError> {
    Name::new(value).map_err(|e| corrupt("name", e))
}

pub(crate) fn money(minor: i64, currency: &str) -> Result<Money, StoreError> {
    Money::from_code(minor, currency).map_err(|e| corrupt("money", e))
}

pub(crate) fn minutes(value: i32) -> Result<Minutes, StoreError> {
    u32::try_from(value)
        .ok()
        .and_then(|v| Minutes::new(v).ok())
        .ok_or_else(|| corrupt("minutes", value))
}

pub(crate) fn tenant(row: &PgRow) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: booking_core::TenantId::from_uuid(get(row, "id")?),
        name: name(&get::<String>(row, "name")?)?,
    })
}

pub(crate) fn branch(row: &PgRow) -> Result<Branch, StoreError> {
    let tz: String = get(row, "time_zone")?;
    Ok(Branch {
        id: booking_core::BranchId::from_uuid(get(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        name: name(&get::<String>(row, "name")?)?,
        time_zone: tz.parse().map_err(|e| corrupt("time zone", e))?,
    })
}

pub(crate) fn resource(row: &PgRow) -> Result<Resource, StoreError> {
    Ok(Resource {
        id: booking_core::ResourceId::from_uuid(get(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        name: name(&get::<String>(row, "name")?)?,
        kind: get::<String>(row, "kind")?
            .parse()
            .map_err(|e| corrupt("resource kind", e))?,
    })
}

pub(crate) fn resource_branch(row: &PgRow) -> Result<ResourceBranch, StoreError> {
    let Json(schedule): Json<Schedule> = get(row, "schedule")?;
    Ok(ResourceBranch {
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        resource_id: booking_core::ResourceId::from_uuid(get(row, "resource_id")?),
        branch_id: booking_core::BranchId::from_uuid(get(row, "branch_id")?),
        schedule,
    })
}

pub(crate) fn service(row: &PgRow) -> Result<ServiceItem, StoreError> {
    Ok(ServiceItem {
        id: booking_core::ServiceId::from_uuid(get(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        name: name(&get::<String>(row, "name")?)?,
        duration: minutes(get(row, "duration_minutes")?)?,
        price: money(get(row, "price_minor")?, &get::<String>(row, "currency")?)?,
        buffer_before: minutes(get(row, "buffer_before_minutes")?)?,
        buffer_after: minutes(get(row, "buffer_after_minutes")?)?,
    })
}

pub(crate) fn service_branch(row: &PgRow) -> Result<ServiceItemBranch, StoreError> {
    Ok(ServiceItemBranch {
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        service_id: booking_core::ServiceId::from_uuid(get(row, "service_id")?),
        branch_id: booking_core::BranchId::from_uuid(get(row, "branch_id")?),
        price: money(get(row, "price_minor")?, &get::<String>(row, "currency")?)?,
    })
}

pub(crate) fn product(row: &PgRow) -> Result<Product, StoreError> {
    Ok(Product {
        id: booking_core::ProductId::from_uuid(get(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        name: name(&get::<String>(row, "name")?)?,
        price: money(get(row, "price_minor")?, &get::<String>(row, "currency")?)?,
    })
}

/// A price kept in two nullable columns (amount, currency).
pub(crate) fn optional_money(
    row: &PgRow,
    minor: &str,
    currency: &str,
) -> Result<Option<Money>, StoreError> {
    match (
        get::<Option<i64>>(row, minor)?,
        get::<Option<String>>(row, currency)?,
    ) {
        (Some(m), Some(c)) => Ok(Some(money(m, &c)?)),
        (None, None) => Ok(None),
        _ => Err(corrupt(
            "price",
            "amount and currency must both be set or unset",
        )),
    }
}

pub(crate) fn product_branch(row: &PgRow) -> Result<ProductBranch, StoreError> {
    let price = optional_money(row, "price_minor", "currency")?;
    let stock: i32 = get(row, "stock")?;
    Ok(ProductBranch {
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        product_id: booking_core::ProductId::from_uuid(get(row, "product_id")?),
        branch_id: booking_core::BranchId::from_uuid(get(row, "branch_id")?),
        stock: u32::try_from(stock).map_err(|e| corrupt("stock", e))?,
        price,
    })
}

pub(crate) fn reservation(row: &PgRow) -> Result<Reservation, StoreError> {
    let Json(lines): Json<Vec<ProductLine>> = get(row, "lines")?;
    let Json(price): Json<PriceSnapshot> = get(row, "price")?;
    let note: Option<String> = get(row, "note")?;
    let version: i64 = get(row, "version")?;
    Ok(Reservation {
        id: booking_core::ReservationId::from_uuid(get(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        branch_id: booking_core::BranchId::from_uuid(get(row, "branch_id")?),
        resource_id: booking_core::ResourceId::from_uuid(get(row, "resource_id")?),
        service_id: get::<Option<uuid::Uuid>>(row, "service_id")?
            .map(booking_core::ServiceId::from_uuid),
        range: TimeRange::new(
            get(row, "starts_at")?,
            get(row, "ends_at")?,
            &RangeLimits::stored(),
        )
        .map_err(|e| corrupt("range", e))?,
        buffer_before: minutes(get(row, "buffer_before_minutes")?)?,
        buffer_after: minutes(get(row, "buffer_after_minutes")?)?,
        lines,
        price,
        status: get::<String>(row, "status")?
            .parse()
            .map_err(|e| corrupt("status", e))?,
        hold_expires_at: get(row, "hold_expires_at")?,
        note: note
            .map(|n| Note::new(&n))
            .transpose()
            .map_err(|e| corrupt("note", e))?,
        version: u64::try_from(version).map_err(|e| corrupt("version", e))?,
        created_by: Actor::new(&get::<String>(row, "created_by")?)
            .map_err(|e| corrupt("actor", e))?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
    let Json(payload): Json<EventPayload> = get(row, "payload")?;
    let seq: i64 = get(row, "seq")?;
    Ok(Event {
        seq: Seq(u64::try_from(seq).map_err(|e| corrupt("seq", e))?),
        tenant_id: booking_core::TenantId::from_uuid(get(row, "tenant_id")?),
        at: get(row, "at")?,
        actor: Actor::new(&get::<String>(row, "actor")?).map_err(|e| corrupt("actor", e))?,
        payload,
    })
}
