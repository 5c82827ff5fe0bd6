//! Embedding booking-core in your own Rust service, with the in-memory
//! adapters: set up a clinic through the catalog use cases, book a cleaning
//! with a product, and see a double booking refused with the reason.
//!
//! Run: `cargo run -p booking-memory --example embed`

#![allow(clippy::print_stdout)] // an example talks to its user

use std::sync::Arc;

use booking_core::{
    Actor, Attribution, BookingPolicy, Branch, BranchId, CatalogRecord, CreateError, DayInterval,
    Minutes, Money, Name, NewReservation, Ports, Product, ProductId, ProductLine, PutMode,
    Quantity, RangeLimits, Resource, ResourceBranch, ResourceId, ResourceKind, Schedule, ServiceId,
    ServiceItem, Services, StockChange, StockOp, SystemClock, TimeRange, WeeklyHours,
};
use booking_memory::{InMemoryBroadcaster, InMemoryLocks, InMemoryStore};
use chrono::{Duration, TimeZone, Utc};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Wire the ports. Swap in the PostgreSQL store or the Valkey lock
    //    here; nothing else changes.
    let broadcaster = Arc::new(InMemoryBroadcaster::default());
    let mut live = broadcaster.subscribe();
    let services = Services::new(
        Ports {
            store: Arc::new(InMemoryStore::new()),
            locks: Arc::new(InMemoryLocks::new()),
            broadcaster,
            clock: Arc::new(SystemClock),
        },
        BookingPolicy::default(),
    );

    // 2. The catalog: one clinic, one branch, one dentist, a service, a
    //    product. Every change goes through the use cases.
    // Who does what: every change is recorded with it (an embedding
    // program names its own users; the HTTP API uses the caller's key).
    let admin = Attribution::named(Actor::new("admin@smile")?);
    let clinic = services
        .access()
        .provision_tenant(
            Name::new("Smile Dental")?,
            Actor::new("admin@smile")?,
            &admin,
        )
        .await?;
    let tenant = clinic.tenant.id;
    let catalog = services.catalog();
    let branch = BranchId::generate();
    let dentist = ResourceId::generate();
    let cleaning = ServiceId::generate();
    let kit = ProductId::generate();
    for record in [
        CatalogRecord::Branch(Branch {
            id: branch,
            tenant_id: tenant,
            name: Name::new("Madrid Centro")?,
            time_zone: chrono_tz::Europe::Madrid,
        }),
        CatalogRecord::Resource(Resource {
            id: dentist,
            tenant_id: tenant,
            name: Name::new("Dr. Vega")?,
            kind: ResourceKind::Staff,
        }),
        CatalogRecord::Schedule(ResourceBranch {
            tenant_id: tenant,
            resource_id: dentist,
            branch_id: branch,
            schedule: Schedule::weekly(WeeklyHours::weekdays(DayInterval::hm(9, 0, 18, 0)?)),
        }),
        CatalogRecord::Service(ServiceItem {
            id: cleaning,
            tenant_id: tenant,
            name: Name::new("Cleaning")?,
            duration: Minutes::new(30)?,
            price: Money::from_code(6000, "EUR")?,
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::new(10)?,
        }),
        CatalogRecord::Product(Product {
            id: kit,
            tenant_id: tenant,
            name: Name::new("Whitening kit")?,
            price: Money::from_code(2500, "EUR")?,
        }),
    ] {
        catalog.put(&record, PutMode::Create, &admin).await?;
    }
    catalog
        .adjust_stock(&StockChange {
            tenant_id: tenant,
            product_id: kit,
            branch_id: branch,
            op: StockOp::Set {
                stock: 5,
                price: None,
            },
            by: admin.clone(),
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
    let reception = Attribution::named(Actor::new("reception@smile")?);
    let request = NewReservation {
        id: None,
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
        override_hours: None,
        override_start: None,
        by: reception.clone(),
    };
    let booked = services.bookings().create(request.clone()).await?;
    let total = booked.reservation.price.total.ok_or("priced")?;
    println!(
        "booked {} {} for {total}",
        booked.reservation.id, booked.reservation.range
    );

    // 4. A second booking of the same slot is refused, and says why.
    match services.bookings().create(request).await {
        Err(CreateError::SlotTaken(taken)) => println!("refused: {taken}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // 5. What a live calendar would have received.
    while let Ok(event) = live.try_recv() {
        println!(
            "event #{} {} by {}",
            event.seq,
            event.type_name(),
            event.by.actor
        );
    }
    Ok(())
}
