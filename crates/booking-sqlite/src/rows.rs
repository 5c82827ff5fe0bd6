//! Rows → domain types, re-validated through the domain constructors.

use booking_core::{
    Actor, Branch, Event, EventPayload, Minutes, Money, Name, Note, PriceSnapshot, Product,
    ProductBranch, ProductLine, RangeLimits, Reservation, Resource, ResourceBranch, Schedule, Seq,
    ServiceItem, ServiceItemBranch, StoreError, Tenant, TimeRange,
};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{corrupt, store_error};

pub(crate) const RESERVATION_COLUMNS: &str = "id, tenant_id, branch_id, resource_id, service_id, \
    starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, lines, price, status, \
    hold_expires_at, note, version, created_by, created_at, updated_at";

/// A checked integer conversion for a column; a value that does not fit is
/// an error, never clamped.
pub(crate) fn int<T, U>(value: T, what: &str) -> Result<U, StoreError>
where
    T: Copy + std::fmt::Display,
    U: TryFrom<T>,
{
    U::try_from(value).map_err(|_| StoreError::Internal(format!("{what} {value} does not fit")))
}

/// An instant as stored: microseconds since the epoch.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn instant(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt("instant", us))
}

pub(crate) fn get<'r, T>(row: &'r SqliteRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col).map_err(store_error)
}

fn id(row: &SqliteRow, col: &str) -> Result<Uuid, StoreError> {
    get(row, col)
}

fn name(row: &SqliteRow) -> Result<Name, StoreError> {
    Name::new(&get::<String>(row, "name")?).map_err(|e| corrupt("name", e))
}

fn money(minor: i64, currency: &str) -> Result<Money, StoreError> {
    Money::from_code(minor, currency).map_err(|e| corrupt("money", e))
}

fn minutes(row: &SqliteRow, col: &str) -> Result<Minutes, StoreError> {
    let v: i64 = get(row, col)?;
    u32::try_from(v)
        .ok()
        .and_then(|v| Minutes::new(v).ok())
        .ok_or_else(|| corrupt("minutes", v))
}

fn price(row: &SqliteRow) -> Result<Money, StoreError> {
    money(get(row, "price_minor")?, &get::<String>(row, "currency")?)
}

pub(crate) fn tenant(row: &SqliteRow) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: booking_core::TenantId::from_uuid(id(row, "id")?),
        name: name(row)?,
    })
}

pub(crate) fn branch(row: &SqliteRow) -> Result<Branch, StoreError> {
    let tz: String = get(row, "time_zone")?;
    Ok(Branch {
        id: booking_core::BranchId::from_uuid(id(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        name: name(row)?,
        time_zone: tz.parse().map_err(|e| corrupt("time zone", e))?,
    })
}

pub(crate) fn resource(row: &SqliteRow) -> Result<Resource, StoreError> {
    Ok(Resource {
        id: booking_core::ResourceId::from_uuid(id(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        name: name(row)?,
        kind: get::<String>(row, "kind")?
            .parse()
            .map_err(|e| corrupt("resource kind", e))?,
    })
}

pub(crate) fn resource_branch(row: &SqliteRow) -> Result<ResourceBranch, StoreError> {
    let Json(schedule): Json<Schedule> = get(row, "schedule")?;
    Ok(ResourceBranch {
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        resource_id: booking_core::ResourceId::from_uuid(id(row, "resource_id")?),
        branch_id: booking_core::BranchId::from_uuid(id(row, "branch_id")?),
        schedule,
    })
}

pub(crate) fn service(row: &SqliteRow) -> Result<ServiceItem, StoreError> {
    Ok(ServiceItem {
        id: booking_core::ServiceId::from_uuid(id(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        name: name(row)?,
        duration: minutes(row, "duration_minutes")?,
        price: price(row)?,
        buffer_before: minutes(row, "buffer_before_minutes")?,
        buffer_after: minutes(row, "buffer_after_minutes")?,
    })
}

pub(crate) fn service_branch(row: &SqliteRow) -> Result<ServiceItemBranch, StoreError> {
    Ok(ServiceItemBranch {
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        service_id: booking_core::ServiceId::from_uuid(id(row, "service_id")?),
        branch_id: booking_core::BranchId::from_uuid(id(row, "branch_id")?),
        price: price(row)?,
    })
}

pub(crate) fn product(row: &SqliteRow) -> Result<Product, StoreError> {
    Ok(Product {
        id: booking_core::ProductId::from_uuid(id(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        name: name(row)?,
        price: price(row)?,
    })
}

/// A price that may be unset: both columns set, or neither.
pub(crate) fn optional_money(
    row: &SqliteRow,
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

pub(crate) fn product_branch(row: &SqliteRow) -> Result<ProductBranch, StoreError> {
    let stock: i64 = get(row, "stock")?;
    Ok(ProductBranch {
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        product_id: booking_core::ProductId::from_uuid(id(row, "product_id")?),
        branch_id: booking_core::BranchId::from_uuid(id(row, "branch_id")?),
        stock: u32::try_from(stock).map_err(|e| corrupt("stock", e))?,
        price: optional_money(row, "price_minor", "currency")?,
    })
}

pub(crate) fn reservation(row: &SqliteRow) -> Result<Reservation, StoreError> {
    let Json(lines): Json<Vec<ProductLine>> = get(row, "lines")?;
    let Json(price): Json<PriceSnapshot> = get(row, "price")?;
    let note: Option<String> = get(row, "note")?;
    let version: i64 = get(row, "version")?;
    let hold: Option<i64> = get(row, "hold_expires_at")?;
    Ok(Reservation {
        id: booking_core::ReservationId::from_uuid(id(row, "id")?),
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        branch_id: booking_core::BranchId::from_uuid(id(row, "branch_id")?),
        resource_id: booking_core::ResourceId::from_uuid(id(row, "resource_id")?),
        service_id: get::<Option<Uuid>>(row, "service_id")?.map(booking_core::ServiceId::from_uuid),
        range: TimeRange::new(
            instant(get(row, "starts_at")?)?,
            instant(get(row, "ends_at")?)?,
            &RangeLimits::stored(),
        )
        .map_err(|e| corrupt("range", e))?,
        buffer_before: minutes(row, "buffer_before_minutes")?,
        buffer_after: minutes(row, "buffer_after_minutes")?,
        lines,
        price,
        status: get::<String>(row, "status")?
            .parse()
            .map_err(|e| corrupt("status", e))?,
        hold_expires_at: hold.map(instant).transpose()?,
        note: note
            .map(|n| Note::new(&n))
            .transpose()
            .map_err(|e| corrupt("note", e))?,
        version: u64::try_from(version).map_err(|e| corrupt("version", e))?,
        created_by: Actor::new(&get::<String>(row, "created_by")?)
            .map_err(|e| corrupt("actor", e))?,
        created_at: instant(get(row, "created_at")?)?,
        updated_at: instant(get(row, "updated_at")?)?,
    })
}

pub(crate) fn event(row: &SqliteRow) -> Result<Event, StoreError> {
    let Json(payload): Json<EventPayload> = get(row, "payload")?;
    let seq: i64 = get(row, "seq")?;
    Ok(Event {
        seq: Seq(u64::try_from(seq).map_err(|e| corrupt("seq", e))?),
        tenant_id: booking_core::TenantId::from_uuid(id(row, "tenant_id")?),
        at: instant(get(row, "at")?)?,
        actor: Actor::new(&get::<String>(row, "actor")?).map_err(|e| corrupt("actor", e))?,
        payload,
    })
}
