//! Embedding booking-core in your own Rust service, with the in-memory
//! adapters from booking-testkit: set up a clinic, book a cleaning with a
//! product, and see a double booking refused with the reason.
//!
//! Run: `cargo run -p booking-testkit --example embed`

#![allow(clippy::print_stdout)] // an example talks to its user

use std::sync::Arc;

use booking_core::{
    Actor, BookingPolicy, BookingService, Branch, BranchId, CatalogStore, CreateError, DayInterval,
    Minutes, Money, Name, NewReservation, Product, ProductId, ProductLine, Quantity, RangeLimits,
    Resource, ResourceBranch, ResourceId, ResourceKind, Schedule, ServiceId, ServiceItem,
    StockChange, StockOp, SystemClock, Tenant, TenantId, TimeRange, WeeklyHours,
};
use booking_testkit::memory::{InMemoryBroadcaster, InMemoryLocks, InMemoryStore};
use chrono::{Duration, TimeZone, Utc};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Wire the ports. Swap in the PostgreSQL store or the Valkey lock
    //    here; nothing else changes.
    let store = Arc::new(InMemoryStore::new());
    let broadcaster = Arc::new(InMemoryBroadcaster::default());
    let mut live = broadcaster.subscribe();
    let service = BookingService::new(
        store.clone(),
        Arc::new(InMemoryLocks::new()),
        broadcaster,
        Arc::new(SystemClock),
        BookingPolicy::default(),
    );

    // 2. The catalog: one clinic, one branch, one dentist, a service, a product.
    let tenant = TenantId::generate();
    store
        .insert_tenant(&Tenant {
            id: tenant,
            name: Name::new("Smile Dental")?,
        })
        .await?;
    let branch = BranchId::generate();
    store
        .put_branch(&Branch {
            id: branch,
            tenant_id: tenant,
            name: Name::new("Madrid Centro")?,
            time_zone: chrono_tz::Europe::Madrid,
        })
        .await?;
    let dentist = ResourceId::generate();
    store
        .put_resource(&Resource {
            id: dentist,
            tenant_id: tenant,
            name: Name::new("Dr. Vega")?,
            kind: ResourceKind::Staff,
        })
        .await?;
    store
        .put_resource_branch(&ResourceBranch {
            tenant_id: tenant,
            resource_id: dentist,
            branch_id: branch,
            schedule: Schedule::weekly(WeeklyHours::weekdays(DayInterval::hm(9, 0, 18, 0)?)),
        })
        .await?;
    let cleaning = ServiceId::generate();
    store
        .put_service(&ServiceItem {
            id: cleaning,
            tenant_id: tenant,
            name: Name::new("Cleaning")?,
            duration: Minutes::new(30)?,
            price: Money::from_code(6000, "EUR")?,
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::new(10)?,
        })
        .await?;
    let kit = ProductId::generate();
    store
        .put_product(&Product {
            id: kit,
            tenant_id: tenant,
            name: Name::new("Whitening kit")?,
            price: Money::from_code(2500, "EUR")?,
        })
        .await?;
    let admin = Actor::new("admin@smile")?;
    store
        .adjust_stock(&StockChange {
            tenant_id: tenant,
            product_id: kit,
            branch_id: branch,
            op: StockOp::Set {
                stock: 5,
                price: None,
            },
            actor: admin,
            at: Utc::now(),
        })
        .await?;

    // 3. Book next Monday 10:00 Madrid time (09:00 UTC in winter).
    let monday = Utc
        .with_ymd_and_hms(2030, 1, 7, 9, 0, 0)
        .single()
        .ok_or("date")?;
    let slot = TimeRange::new(
        monday,
        monday + Duration::minutes(30),
        &RangeLimits::bookings(),
    )?;
    let reception = Actor::new("reception@smile")?;
    let request = NewReservation {
        tenant_id: tenant,
        branch_id: branch,
        resource_id: dentist,
        service_id: Some(cleaning),
        range: slot,
        products: vec![ProductLine {
            product_id: kit,
            quantity: Quantity::new(1)?,
        }],
        note: None,
        hold_for: None,
        allow_outside_hours: false,
        actor: reception.clone(),
    };
    let booked = service.create(request.clone()).await?;
    let total = booked.reservation.price.total.ok_or("priced")?;
    println!(
        "booked {} {} for {total}",
        booked.reservation.id, booked.reservation.range
    );

    // 4. A second booking of the same slot is refused, and says why.
    match service.create(request).await {
        Err(CreateError::SlotTaken(taken)) => println!("refused: {taken}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // 5. What a live calendar would have received.
    while let Ok(event) = live.try_recv() {
        println!(
            "event #{} {} by {}",
            event.seq,
            event.type_name(),
            event.actor
        );
    }
    Ok(())
}
