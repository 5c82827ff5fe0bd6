//! Concurrency: the same operations from many tokio tasks at once, through
//! the service on the in-memory adapters — with the lock, and with the lock
//! service down (the store alone) — never double-book and never oversell.
//!
//! Property cases: `PROPTEST_CONCURRENT_CASES` (default 64).

use std::sync::Arc;

use crate::engine::InMemoryEngine;
use booking_core::{
    BookingService, CreateError, NewReservation, ProductLine, Quantity, RangeLimits, TimeRange,
    TransitionError,
};
use booking_testkit::fixture::{Clinic, t};
use booking_testkit::invariants::check_store;
use chrono::Duration;
use futures::future::join_all;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Order {
    resource: usize,
    branch: usize,
    start: u32,
    len: u32,
    kits: u32,
    hold: bool,
    cancel: bool,
}

fn order() -> impl Strategy<Value = Order> {
    (
        0usize..2,
        0usize..2,
        0u32..16,
        1u32..=4,
        0u32..=3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(resource, branch, start, len, kits, hold, cancel)| Order {
            resource,
            branch,
            start,
            len,
            kits,
            hold,
            cancel,
        })
}

fn request(c: &Clinic, o: &Order) -> NewReservation {
    let from = t(10, 0) + Duration::minutes(i64::from(o.start) * 15);
    NewReservation {
        id: None,
        tenant_id: c.tenant,
        branch_id: [c.madrid, c.lisbon][o.branch],
        resource_id: [c.dentist, c.chair][o.resource],
        service_id: None,
        range: TimeRange::new(
            from,
            from + Duration::minutes(i64::from(o.len) * 15),
            &RangeLimits::bookings(),
        )
        .unwrap(),
        products: (o.kits > 0)
            .then(|| ProductLine {
                product_id: c.kit,
                quantity: Quantity::new(i64::from(o.kits)).unwrap(),
            })
            .into_iter()
            .collect(),
        note: None,
        hold_for: o.hold.then(|| Duration::minutes(30)),
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    }
}

async fn run(service: BookingService, c: Clinic, o: Order) -> Result<(), String> {
    match service.create(request(&c, &o)).await {
        Ok(booked) if o.cancel => match service
            .cancel(c.tenant, booked.reservation.id, None, c.by.clone())
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ TransitionError::Store(_)) => Err(format!("cancel failed: {e:?}")),
            Err(_) => Ok(()),
        },
        Ok(_)
        | Err(
            CreateError::SlotTaken(_)
            | CreateError::OutOfStock(_)
            | CreateError::ResourceNotAtBranch(_)
            | CreateError::OutsideWorkingHours(_),
        ) => Ok(()),
        Err(other) => Err(format!("unexpected refusal: {other:?}")),
    }
}

async fn race(orders: Vec<Order>, lock_available: bool, batched: bool) -> Result<(), String> {
    let engine = if batched {
        InMemoryEngine::batched(t(7, 0))
    } else {
        InMemoryEngine::new(t(7, 0))
    };
    engine.locks.set_available(lock_available);
    let c = Clinic::setup(&*engine.store).await;
    let tasks = orders
        .into_iter()
        .map(|o| tokio::spawn(run(engine.bookings().clone(), c.clone(), o)));
    for result in join_all(tasks).await {
        result.map_err(|e| e.to_string())??;
    }
    check_store(&*engine.store, c.tenant, t(7, 0)).await
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CONCURRENT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn concurrent_operations_never_double_book_or_oversell(
        orders in prop::collection::vec(order(), 10..60),
        lock_available in any::<bool>(),
        batched in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
        let outcome = rt.block_on(race(orders, lock_available, batched));
        prop_assert!(outcome.is_ok(), "{:?}", outcome);
    }
}

async fn one_slot_race(lock_available: bool, batched: bool) {
    let engine = if batched {
        InMemoryEngine::batched(t(7, 0))
    } else {
        InMemoryEngine::new(t(7, 0))
    };
    engine.locks.set_available(lock_available);
    let c = Arc::new(Clinic::setup(&*engine.store).await);
    let o = Order {
        resource: 0,
        branch: 0,
        start: 0,
        len: 4,
        kits: 1,
        hold: false,
        cancel: false,
    };
    let tasks = (0..200).map(|_| {
        let (service, c, o) = (engine.bookings().clone(), Arc::clone(&c), o.clone());
        tokio::spawn(async move { service.create(request(&c, &o)).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(CreateError::SlotTaken(_))))
        .count();
    assert_eq!(
        (created, taken),
        (1, 199),
        "{:?}",
        results
            .iter()
            .find(|r| !matches!(r, Ok(_) | Err(CreateError::SlotTaken(_))))
    );
    check_store(&*engine.store, c.tenant, t(7, 0))
        .await
        .unwrap();
    if batched {
        let batches = engine.batches.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            (25..200).contains(&batches),
            "200 creates went in {batches} batches of at most 8"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creates_for_one_slot_admit_exactly_one() {
    one_slot_race(true, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_lock_the_store_alone_still_admits_exactly_one() {
    one_slot_race(false, false).await;
}

/// Written in batches, without the lock, so the creates of the one slot
/// queue and go together: one batch's first write wins, every other write
/// of it and of the batches after hears "slot taken".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_batches_the_creates_of_one_slot_still_admit_exactly_one() {
    one_slot_race(false, true).await;
}
