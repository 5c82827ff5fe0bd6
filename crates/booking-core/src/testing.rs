//! Helpers for this crate's unit tests.

use chrono::{TimeZone, Utc};

use crate::{
    Actor, BranchId, Minutes, PriceSnapshot, RangeLimits, Reservation, ReservationId, ResourceId,
    Status, TenantId, TimeRange,
};

/// A confirmed reservation of one fixed resource on 2026-03-02 from hour
/// `a` to hour `b` (UTC), created at 08:00 that day.
pub(crate) fn reservation_at(a: u32, b: u32) -> Reservation {
    let day = |h| Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap();
    // Fixed ids so two calls describe the same tenant, branch and resource.
    let tenant_id = TenantId::from_uuid(uuid::Uuid::from_u128(1));
    Reservation {
        id: ReservationId::generate(),
        tenant_id,
        branch_id: BranchId::from_uuid(uuid::Uuid::from_u128(2)),
        resource_id: ResourceId::from_uuid(uuid::Uuid::from_u128(3)),
        service_id: None,
        range: TimeRange::new(day(a), day(b), &RangeLimits::bookings()).unwrap(),
        buffer_before: Minutes::ZERO,
        buffer_after: Minutes::ZERO,
        lines: vec![],
        price: PriceSnapshot::default(),
        status: Status::Confirmed,
        hold_expires_at: None,
        note: None,
        version: 1,
        created_by: Actor::new("tester").unwrap(),
        created_by_key: None,
        created_at: day(8),
        updated_at: day(8),
    }
}
