//! The use cases over the in-memory adapters: every refusal the service
//! can give, holds, moves, degraded mode and broadcasting.

use std::time::Duration as StdDuration;

use crate::engine::InMemoryEngine;
use booking_core::{
    Action, Actor, Attribution, BookingPolicy, Busy, CatalogRecord, CreateError, Entity, LockKey,
    LockRequest, LockService, Money, MoveError, MoveReservation, Name, NewReservation, Product,
    ProductId, ProductLine, PutMode, Quantity, RangeLimits, Status, StockChange, StockOp,
    TimeRange, TransitionError,
};
use booking_testkit::fixture::{Clinic, range, t};
use booking_testkit::invariants::check_store;
use chrono::Duration;

async fn setup() -> (InMemoryEngine, Clinic) {
    let engine = InMemoryEngine::new(t(7, 0));
    let clinic = Clinic::setup(&*engine.store).await;
    (engine, clinic)
}

fn request(
    c: &Clinic,
    resource: booking_core::ResourceId,
    branch: booking_core::BranchId,
    r: TimeRange,
) -> NewReservation {
    NewReservation {
        id: None,
        tenant_id: c.tenant,
        branch_id: branch,
        resource_id: resource,
        service_id: None,
        range: r,
        products: vec![],
        note: None,
        hold_for: None,
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    }
}

fn kits(c: &Clinic, n: i64) -> Vec<ProductLine> {
    vec![ProductLine {
        product_id: c.kit,
        quantity: Quantity::new(n).unwrap(),
    }]
}

async fn assert_invariants(e: &InMemoryEngine, c: &Clinic) {
    let now = booking_core::Clock::now(&*e.clock);
    check_store(&*e.store, c.tenant, now)
        .await
        .expect("invariants hold");
}

#[tokio::test]
async fn a_booking_snapshots_the_branch_prices_of_its_service_and_products() {
    let (e, c) = setup().await;
    // Lisbon is UTC+0 in January; the dentist works 09–17 there.
    let mut req = request(&c, c.dentist, c.lisbon, range((10, 0), (10, 30)));
    req.service_id = Some(c.cleaning);
    req.products = kits(&c, 2);
    let booked = e.bookings().create(req).await.unwrap();
    let r = &booked.reservation;
    assert_eq!(r.status, Status::Confirmed);
    assert_eq!(r.version, 1);
    assert_eq!(r.buffer_after.get(), 10, "buffers come from the service");
    assert_eq!(
        r.price.lines[0].unit_price.amount_minor(),
        5500,
        "Lisbon's override"
    );
    assert_eq!(r.price.lines[1].line_total.amount_minor(), 5000);
    assert_eq!(
        r.price.total,
        Some(Money::from_code(10_500, "EUR").unwrap())
    );
    assert!(!booked.degraded);
    // A later price change does not touch the snapshot.
    let mut product = booking_core::CatalogStore::product(&*e.store, c.tenant, c.kit)
        .await
        .unwrap();
    product.price = Money::from_code(9999, "EUR").unwrap();
    e.catalog()
        .put(&CatalogRecord::Product(product), PutMode::Update, &c.by)
        .await
        .unwrap();
    let stored = booking_core::ReservationStore::reservation(&*e.store, c.tenant, r.id)
        .await
        .unwrap();
    assert_eq!(stored.price, r.price);
    assert_invariants(&e, &c).await;
}

#[tokio::test]
async fn bookings_outside_working_hours_are_refused_unless_overridden() {
    let (e, c) = setup().await;
    let early = request(&c, c.dentist, c.lisbon, range((8, 0), (9, 30)));
    assert!(matches!(
        e.bookings().create(early.clone()).await,
        Err(CreateError::OutsideWorkingHours(_))
    ));
    assert_eq!(
        booking_core::OverrideHours::for_role(booking_core::Role::Staff),
        None,
        "booking is not enough: the override is an administrator's"
    );
    let overridden = NewReservation {
        id: None,
        override_hours: booking_core::OverrideHours::for_role(booking_core::Role::Admin),
        override_start: None,
        ..early
    };
    assert!(e.bookings().create(overridden).await.is_ok());
    // Madrid has no hours configured: any time goes.
    assert!(
        e.bookings()
            .create(request(&c, c.dentist, c.madrid, range((22, 0), (23, 0))))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_resource_working_at_two_branches_cannot_be_booked_at_both_at_once() {
    let (e, c) = setup().await;
    e.bookings()
        .create(request(&c, c.dentist, c.madrid, range((10, 0), (11, 0))))
        .await
        .unwrap();
    let result = e
        .bookings()
        .create(request(&c, c.dentist, c.lisbon, range((10, 30), (11, 30))))
        .await;
    assert!(
        matches!(result, Err(CreateError::SlotTaken(_))),
        "got {result:?}"
    );
    e.bookings()
        .create(request(&c, c.dentist, c.lisbon, range((11, 0), (12, 0))))
        .await
        .unwrap();
    assert_invariants(&e, &c).await;
}

#[tokio::test]
async fn a_resource_is_booked_only_where_it_works() {
    let (e, c) = setup().await;
    let result = e
        .bookings()
        .create(request(&c, c.chair, c.lisbon, range((10, 0), (11, 0))))
        .await;
    assert!(
        matches!(result, Err(CreateError::ResourceNotAtBranch(_))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn another_tenants_ids_are_not_found() {
    let (e, a) = setup().await;
    let b = Clinic::setup_named(&*e.store, "Other Clinic").await;
    let theirs = e
        .bookings()
        .create(request(&a, a.dentist, a.madrid, range((10, 0), (11, 0))))
        .await
        .unwrap();
    let mut req = request(&b, a.dentist, b.madrid, range((12, 0), (13, 0)));
    assert!(matches!(
        e.bookings().create(req.clone()).await,
        Err(CreateError::NotFound(Entity::Resource(_)))
    ));
    req.resource_id = b.dentist;
    req.branch_id = a.madrid;
    assert!(matches!(
        e.bookings().create(req.clone()).await,
        Err(CreateError::NotFound(Entity::Branch(_)))
    ));
    req.branch_id = b.madrid;
    req.service_id = Some(a.cleaning);
    assert!(matches!(
        e.bookings().create(req.clone()).await,
        Err(CreateError::NotFound(Entity::Service(_)))
    ));
    req.service_id = None;
    req.products = kits(&a, 1);
    assert!(matches!(
        e.bookings().create(req).await,
        Err(CreateError::NotFound(Entity::Product(_)))
    ));
    let id = theirs.reservation.id;
    assert!(matches!(
        e.bookings().cancel(b.tenant, id, None, b.by.clone()).await,
        Err(TransitionError::NotFound(Entity::Reservation(_)))
    ));
    let mv = MoveReservation {
        tenant_id: b.tenant,
        id,
        range: Some(range((14, 0), (15, 0))),
        resource_id: None,
        expected_version: None,
        override_hours: None,
        override_start: None,
        by: b.by.clone(),
    };
    assert!(matches!(
        e.bookings().move_reservation(mv).await,
        Err(MoveError::NotFound(_))
    ));
}

#[tokio::test]
async fn malformed_requests_name_the_field_to_fix() {
    let (e, c) = setup().await;
    let mut twice = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    twice.products = [kits(&c, 1), kits(&c, 2)].concat();
    match e.bookings().create(twice).await {
        Err(CreateError::Invalid(i)) => assert_eq!(i.field, "products[1].product_id"),
        other => panic!("expected invalid, got {other:?}"),
    }
    let mut too_many = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    too_many.products = (0..21)
        .map(|_| ProductLine {
            product_id: ProductId::generate(),
            quantity: Quantity::new(1).unwrap(),
        })
        .collect();
    assert!(
        matches!(e.bookings().create(too_many).await, Err(CreateError::Invalid(i)) if i.field == "products")
    );
    let mut forever = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    forever.hold_for = Some(Duration::days(30));
    assert!(matches!(
        e.bookings().create(forever).await,
        Err(CreateError::HoldOutOfRange { .. })
    ));
    let nothing = MoveReservation {
        tenant_id: c.tenant,
        id: booking_core::ReservationId::generate(),
        range: None,
        resource_id: None,
        expected_version: None,
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    };
    assert!(matches!(
        e.bookings().move_reservation(nothing).await,
        Err(MoveError::Invalid(_))
    ));
}

#[tokio::test]
async fn prices_in_different_currencies_cannot_be_combined() {
    let (e, c) = setup().await;
    let dollars = Product {
        id: ProductId::generate(),
        tenant_id: c.tenant,
        name: Name::new("Imported brush").unwrap(),
        price: Money::from_code(500, "USD").unwrap(),
    };
    e.catalog()
        .put(
            &CatalogRecord::Product(dollars.clone()),
            PutMode::Create,
            &c.by,
        )
        .await
        .unwrap();
    e.catalog()
        .adjust_stock(&StockChange {
            tenant_id: c.tenant,
            product_id: dollars.id,
            branch_id: c.madrid,
            op: StockOp::Set {
                stock: 5,
                price: None,
            },
            by: c.by.clone(),
            at: t(6, 0),
        })
        .await
        .unwrap();
    let mut req = request(&c, c.dentist, c.madrid, range((10, 0), (10, 30)));
    req.service_id = Some(c.cleaning);
    req.products = vec![ProductLine {
        product_id: dollars.id,
        quantity: Quantity::new(1).unwrap(),
    }];
    assert!(
        matches!(e.bookings().create(req).await, Err(CreateError::Invalid(i)) if i.field == "products")
    );
}

#[tokio::test]
async fn a_hold_blocks_until_it_expires_then_frees_slot_and_stock() {
    let (e, c) = setup().await;
    let mut hold = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    hold.hold_for = Some(Duration::minutes(15));
    hold.products = kits(&c, 4);
    let held = e.bookings().create(hold).await.unwrap().reservation;
    assert_eq!(held.status, Status::Held);
    assert_eq!(held.hold_expires_at, Some(t(7, 15)));
    let mut rival = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    rival.products = kits(&c, 10);
    assert!(matches!(
        e.bookings().create(rival.clone()).await,
        Err(CreateError::SlotTaken(_))
    ));
    e.clock.advance(Duration::minutes(16));
    let booked = e
        .bookings()
        .create(rival)
        .await
        .expect("the expired hold frees slot and stock");
    assert_eq!(booked.events[0].type_name(), "ReservationExpired");
    let stored = booking_core::ReservationStore::reservation(&*e.store, c.tenant, held.id)
        .await
        .unwrap();
    assert_eq!(stored.status, Status::Expired);
    assert!(matches!(
        e.bookings()
            .confirm(c.tenant, held.id, None, c.by.clone())
            .await,
        Err(TransitionError::HoldExpired { .. })
    ));
    assert_invariants(&e, &c).await;
}

#[tokio::test]
async fn a_confirmed_hold_no_longer_expires() {
    let (e, c) = setup().await;
    let mut hold = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    hold.hold_for = Some(Duration::minutes(15));
    let held = e.bookings().create(hold).await.unwrap().reservation;
    let confirmed = e
        .bookings()
        .confirm(c.tenant, held.id, Some(1), c.by.clone())
        .await
        .unwrap()
        .reservation;
    assert_eq!(
        (
            confirmed.status,
            confirmed.hold_expires_at,
            confirmed.version
        ),
        (Status::Confirmed, None, 2)
    );
    e.clock.advance(Duration::hours(1));
    let rival = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    assert!(matches!(
        e.bookings().create(rival).await,
        Err(CreateError::SlotTaken(_))
    ));
}

#[tokio::test]
async fn a_move_rechecks_overlap_hours_membership_and_version() {
    let (e, c) = setup().await;
    let other = e
        .bookings()
        .create(request(&c, c.dentist, c.lisbon, range((14, 0), (15, 0))))
        .await
        .unwrap()
        .reservation;
    let r = e
        .bookings()
        .create(request(&c, c.dentist, c.lisbon, range((10, 0), (11, 0))))
        .await
        .unwrap()
        .reservation;
    let mv = |range: Option<TimeRange>, resource, version| MoveReservation {
        tenant_id: c.tenant,
        id: r.id,
        range,
        resource_id: resource,
        expected_version: version,
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    };
    assert!(matches!(
        e.bookings().move_reservation(mv(Some(range((14, 30), (15, 30))), None, None)).await,
        Err(MoveError::SlotTaken(s)) if s.conflicting == other.id
    ));
    assert!(matches!(
        e.bookings()
            .move_reservation(mv(Some(range((17, 0), (18, 0))), None, None))
            .await,
        Err(MoveError::OutsideWorkingHours(_))
    ));
    assert!(matches!(
        e.bookings()
            .move_reservation(mv(None, Some(c.chair), None))
            .await,
        Err(MoveError::ResourceNotAtBranch(_))
    ));
    assert!(matches!(
        e.bookings()
            .move_reservation(mv(Some(range((12, 0), (13, 0))), None, Some(7)))
            .await,
        Err(MoveError::StaleVersion(_))
    ));
    let moved = e
        .bookings()
        .move_reservation(mv(Some(range((10, 30), (11, 30))), None, Some(1)))
        .await
        .unwrap();
    assert_eq!(
        moved.reservation.range,
        range((10, 30), (11, 30)),
        "a move may overlap its own old slot"
    );
    assert_eq!(moved.reservation.version, 2);
    assert_invariants(&e, &c).await;
}

#[tokio::test]
async fn terminal_reservations_cannot_move_cancel_or_complete() {
    let (e, c) = setup().await;
    let r = e
        .bookings()
        .create(request(&c, c.dentist, c.madrid, range((10, 0), (11, 0))))
        .await
        .unwrap()
        .reservation;
    let done = e
        .bookings()
        .complete(c.tenant, r.id, None, c.by.clone())
        .await
        .unwrap()
        .reservation;
    assert_eq!(done.status, Status::Completed);
    for result in [
        e.bookings()
            .cancel(c.tenant, r.id, None, c.by.clone())
            .await,
        e.bookings()
            .complete(c.tenant, r.id, None, c.by.clone())
            .await,
    ] {
        assert!(matches!(
            result,
            Err(TransitionError::InvalidTransition(t)) if t.from == Status::Completed
        ));
    }
    let mv = MoveReservation {
        tenant_id: c.tenant,
        id: r.id,
        range: Some(range((12, 0), (13, 0))),
        resource_id: None,
        expected_version: None,
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    };
    assert!(matches!(
        e.bookings().move_reservation(mv).await,
        Err(MoveError::InvalidTransition(t)) if t.action == Action::Move
    ));
}

#[tokio::test]
async fn completing_needs_a_confirmed_reservation() {
    let (e, c) = setup().await;
    let mut hold = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    hold.hold_for = Some(Duration::minutes(15));
    let held = e.bookings().create(hold).await.unwrap().reservation;
    assert!(matches!(
        e.bookings()
            .complete(c.tenant, held.id, None, c.by.clone())
            .await,
        Err(TransitionError::InvalidTransition(_))
    ));
}

#[tokio::test]
async fn when_the_lock_service_is_down_bookings_continue_degraded_and_stay_correct() {
    let (e, c) = setup().await;
    e.locks.set_available(false);
    let booked = e
        .bookings()
        .create(request(&c, c.dentist, c.madrid, range((10, 0), (11, 0))))
        .await
        .unwrap();
    assert!(booked.degraded, "the outcome reports degraded mode");
    let rival = e
        .bookings()
        .create(request(&c, c.dentist, c.madrid, range((10, 30), (11, 30))))
        .await;
    assert!(
        matches!(rival, Err(CreateError::SlotTaken(_))),
        "the store still refuses: {rival:?}"
    );
    e.locks.set_available(true);
    let normal = e
        .bookings()
        .create(request(&c, c.dentist, c.madrid, range((12, 0), (13, 0))))
        .await
        .unwrap();
    assert!(!normal.degraded);
}

#[tokio::test]
async fn a_lock_held_past_the_wait_deadline_answers_busy() {
    let policy = BookingPolicy {
        lock_wait: StdDuration::from_millis(100),
        ..BookingPolicy::default()
    };
    let e = InMemoryEngine::with_policy(t(7, 0), policy);
    let c = Clinic::setup(&*e.store).await;
    let squatter = e
        .locks
        .acquire(&LockRequest::new(
            // The hour the booking below needs.
            LockKey::resource_time(c.tenant, c.dentist, &range((10, 0), (10, 30))),
            StdDuration::from_secs(30),
            StdDuration::ZERO,
        ))
        .await
        .unwrap();
    let result = e
        .bookings()
        .create(request(&c, c.dentist, c.madrid, range((10, 0), (11, 0))))
        .await;
    assert!(
        matches!(result, Err(CreateError::Busy(Busy::Lock { waited })) if waited >= StdDuration::from_millis(100)),
        "got {result:?}"
    );
    e.locks.release(&squatter).await.unwrap();
    assert!(
        e.bookings()
            .create(request(&c, c.dentist, c.madrid, range((10, 0), (11, 0))))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn committed_events_are_broadcast_in_sequence_order() {
    let (e, c) = setup().await;
    let mut feed = e.broadcaster.subscribe();
    let mut req = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    req.products = kits(&c, 1);
    let booked = e.bookings().create(req).await.unwrap();
    e.bookings()
        .cancel(
            c.tenant,
            booked.reservation.id,
            None,
            Attribution::named(Actor::new("manager").unwrap()),
        )
        .await
        .unwrap();
    let mut names = Vec::new();
    let mut seqs = Vec::new();
    for _ in 0..4 {
        let event = feed.recv().await.unwrap();
        names.push(event.type_name());
        seqs.push(event.seq.0);
    }
    assert_eq!(
        names,
        [
            "ReservationCreated",
            "StockChanged",
            "ReservationCancelled",
            "StockChanged"
        ]
    );
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(feed.try_recv().is_err(), "nothing else was published");
}

#[tokio::test]
async fn a_range_past_the_booking_limit_cannot_even_be_built() {
    let limits = RangeLimits::bookings();
    assert!(TimeRange::new(t(10, 0), t(10, 0) + Duration::days(2), &limits).is_err());
}

#[tokio::test]
async fn the_sweeper_records_expired_holds_frees_their_stock_and_announces_it() {
    let (e, c) = setup().await;
    let mut feed = e.broadcaster.subscribe();
    let mut hold = request(&c, c.dentist, c.madrid, range((10, 0), (11, 0)));
    hold.hold_for = Some(Duration::minutes(15));
    hold.products = kits(&c, 3);
    let held = e.bookings().create(hold).await.unwrap().reservation;
    assert_eq!(
        e.bookings().expire_stale_holds(100).await.unwrap(),
        0,
        "not yet stale"
    );
    e.clock.advance(Duration::minutes(20));
    assert_eq!(e.bookings().expire_stale_holds(100).await.unwrap(), 1);
    assert_eq!(
        e.bookings().expire_stale_holds(100).await.unwrap(),
        0,
        "recorded once"
    );
    let stored = booking_core::ReservationStore::reservation(&*e.store, c.tenant, held.id)
        .await
        .unwrap();
    assert_eq!(stored.status, Status::Expired);
    let stock = booking_core::CatalogStore::product_branch(&*e.store, c.tenant, c.kit, c.madrid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stock.stock, 10, "the units are back");
    let mut names = Vec::new();
    while let Ok(event) = feed.try_recv() {
        names.push(event.type_name());
    }
    assert_eq!(
        names,
        [
            "ReservationHeld",
            "StockChanged",
            "ReservationExpired",
            "StockChanged"
        ]
    );
    assert_invariants(&e, &c).await;
}

/// A hold whose stock can no longer be given back (here: a level raised
/// behind the rules' back to the most a level can hold) cannot be
/// expired. The sweeper parks it and goes on: another tenant's hold, and
/// the same tenant's later holds, are expired in the same sweep, and the
/// parked ones are left alone until their wait is over.
#[tokio::test]
async fn the_sweeper_is_fair_and_goes_on_past_holds_it_cannot_expire() {
    let (e, a) = setup().await;
    let b = Clinic::setup_named(&*e.store, "Other Dental").await;
    let hold = |c: &Clinic, resource, from: u32, kits_n: i64| {
        let mut h = request(c, resource, c.madrid, range((from, 0), (from, 30)));
        h.hold_for = Some(Duration::minutes(10));
        if kits_n > 0 {
            h.products = kits(c, kits_n);
        }
        h
    };
    let mut stuck = Vec::new();
    for hour in [9, 10, 11] {
        let held = e.bookings().create(hold(&a, a.dentist, hour, 1)).await;
        stuck.push(held.unwrap().reservation.id);
    }
    e.clock.advance(Duration::minutes(1));
    let later = e.bookings().create(hold(&a, a.chair, 9, 0)).await.unwrap();
    let other = e
        .bookings()
        .create(hold(&b, b.dentist, 9, 1))
        .await
        .unwrap();
    // The kit's level, set straight in the store to the most a level holds:
    // giving a unit back overflows it.
    let mut tx = booking_core::WriteStore::begin(&*e.store).await.unwrap();
    let Some(CatalogRecord::Stock(mut level)) = tx
        .catalog_record(
            a.tenant,
            booking_core::CatalogKey::Stock(booking_core::StockKey {
                product_id: a.kit,
                branch_id: a.madrid,
            }),
            true,
        )
        .await
        .unwrap()
    else {
        panic!("the kit is sold in Madrid")
    };
    level.stock = u32::MAX;
    tx.put_catalog_record(&CatalogRecord::Stock(level))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    e.clock.advance(Duration::minutes(15));
    let mut sweeper = booking_core::HoldSweeper::new(e.bookings().clone(), 2);
    let swept = sweeper.sweep().await.unwrap();
    assert_eq!((swept.expired, swept.failed), (2, 3), "{swept:?}");
    for (tenant, id) in [
        (a.tenant, later.reservation.id),
        (b.tenant, other.reservation.id),
    ] {
        let r = booking_core::ReservationStore::reservation(&*e.store, tenant, id)
            .await
            .unwrap();
        assert_eq!(r.status, Status::Expired);
    }
    let again = sweeper.sweep().await.unwrap();
    assert_eq!(
        (again.expired, again.failed, again.parked),
        (0, 0, 3),
        "parked holds are left alone"
    );
    e.clock.advance(Duration::minutes(2));
    let retried = sweeper.sweep().await.unwrap();
    assert_eq!((retried.failed, retried.parked), (3, 0), "retried once due");
    let waiting = sweeper.sweep().await.unwrap();
    assert_eq!(waiting.parked, 3, "and parked for longer");
}
