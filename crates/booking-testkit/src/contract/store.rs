//! The store port's contract. Every case takes a fresh, empty store and
//! panics with a message on a violation. Run them all against an adapter
//! with [`crate::store_contract_tests!`].

use std::sync::Arc;

use booking_core::{
    ApplyError, BookingStore, Branch, Entity, EventPayload, Minutes, Money, Name, Product,
    ProductBranch, ProductId, Quantity, Reservation, ReservationCursor, ReservationEventKind,
    ReservationQuery, Seq, StaleVersion, Status, StockCause, StockChange, StockError, StockOp,
    StoreError,
};
use chrono::{DateTime, Utc};
use futures::future::join_all;

use crate::fixture::{Clinic, range, t};
use crate::invariants::check_store;

type Store = Arc<dyn BookingStore>;

async fn assert_invariants(store: &Store, c: &Clinic, now: DateTime<Utc>) {
    if let Err(violation) = check_store(&**store, c.tenant, now).await {
        panic!("invariant violated: {violation}");
    }
}

async fn stock(store: &Store, c: &Clinic, branch: booking_core::BranchId) -> u32 {
    store
        .product_branch(c.tenant, c.kit, branch)
        .await
        .expect("read stock")
        .expect("kit is sold at the branch")
        .stock
}

async fn last_seq(store: &Store, c: &Clinic) -> Seq {
    let events = store
        .events_since(c.tenant, Seq::ZERO, 10_000)
        .await
        .expect("events");
    events.last().map_or(Seq::ZERO, |e| e.seq)
}

async fn book(store: &Store, c: &Clinic, r: Reservation) -> Reservation {
    store
        .apply(c.create(r))
        .await
        .expect("booking must succeed")
        .reservation
}

/// Catalog records read back as written, listed per tenant and branch.
pub async fn catalog_round_trips(store: Store) {
    let c = Clinic::setup(&*store).await;
    let madrid = store.branch(c.tenant, c.madrid).await.unwrap();
    assert_eq!(madrid.time_zone, chrono_tz::Europe::Madrid);
    assert_eq!(store.branches(c.tenant).await.unwrap().len(), 2);
    assert_eq!(store.resources(c.tenant).await.unwrap().len(), 2);
    let link = store
        .resource_branch(c.tenant, c.dentist, c.lisbon)
        .await
        .unwrap();
    assert!(
        link.expect("dentist works in Lisbon")
            .schedule
            .weekly
            .is_some()
    );
    assert!(
        store
            .resource_branch(c.tenant, c.chair, c.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .branch_resources(c.tenant, c.madrid)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .branch_resources(c.tenant, c.lisbon)
            .await
            .unwrap()
            .len(),
        1
    );
    let cleaning = store.service(c.tenant, c.cleaning).await.unwrap();
    assert_eq!(cleaning.buffer_after, Minutes::new(10).unwrap());
    assert_eq!(store.services(c.tenant).await.unwrap().len(), 1);
    let lisbon_price = store
        .service_branch(c.tenant, c.cleaning, c.lisbon)
        .await
        .unwrap();
    assert_eq!(lisbon_price.unwrap().price.amount_minor(), 5500);
    assert!(
        store
            .service_branch(c.tenant, c.cleaning, c.madrid)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .product(c.tenant, c.kit)
            .await
            .unwrap()
            .price
            .amount_minor(),
        2500
    );
    assert_eq!(store.products(c.tenant).await.unwrap().len(), 1);
    assert_eq!(stock(&store, &c, c.madrid).await, 10);
    assert_eq!(
        store
            .branch_products(c.tenant, c.lisbon)
            .await
            .unwrap()
            .len(),
        1
    );

    let renamed = Branch {
        name: Name::new("Madrid Norte").unwrap(),
        ..madrid
    };
    store.put_branch(&renamed).await.unwrap();
    assert_eq!(store.branch(c.tenant, c.madrid).await.unwrap(), renamed);
    assert_eq!(
        store.tenant(c.tenant).await.unwrap().name.as_str(),
        "Smile Dental"
    );
}

/// Another tenant's ids behave exactly like ids that do not exist, for
/// reads, upserts, links and reservation writes.
pub async fn foreign_tenant_ids_are_not_found(store: Store) {
    let a = Clinic::setup_named(&*store, "Clinic A").await;
    let b = Clinic::setup_named(&*store, "Clinic B").await;
    let theirs = book(
        &store,
        &a,
        a.draft(a.dentist, a.madrid, range((10, 0), (11, 0))),
    )
    .await;

    assert_eq!(
        store.branch(b.tenant, a.madrid).await,
        Err(StoreError::NotFound(Entity::Branch(a.madrid)))
    );
    assert!(matches!(
        store.resource(b.tenant, a.dentist).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.service(b.tenant, a.cleaning).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.product(b.tenant, a.kit).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .resource_branch(b.tenant, a.dentist, a.madrid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .product_branch(b.tenant, a.kit, a.madrid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .service_branch(b.tenant, a.cleaning, a.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.reservation(b.tenant, theirs.id).await,
        Err(StoreError::NotFound(Entity::Reservation(_)))
    ));
    assert!(matches!(
        store.reservation_events(b.tenant, theirs.id).await,
        Err(StoreError::NotFound(_))
    ));

    // Taking over another tenant's id is refused and changes nothing.
    let mut hijack = store.branch(a.tenant, a.madrid).await.unwrap();
    hijack.tenant_id = b.tenant;
    assert!(matches!(
        store.put_branch(&hijack).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.branch(a.tenant, a.madrid).await.unwrap().tenant_id,
        a.tenant
    );
    let link = booking_core::ResourceBranch {
        tenant_id: b.tenant,
        resource_id: a.dentist,
        branch_id: b.madrid,
        schedule: booking_core::Schedule::unrestricted(),
    };
    assert!(matches!(
        store.put_resource_branch(&link).await,
        Err(StoreError::NotFound(_))
    ));

    // Writes naming another tenant's records are refused.
    let foreign_resource = b.draft(a.dentist, b.madrid, range((12, 0), (13, 0)));
    assert!(matches!(
        store.apply(b.create(foreign_resource)).await,
        Err(ApplyError::NotFound(Entity::Resource(_)))
    ));
    let foreign_product = ProductId::from_uuid(a.kit.as_uuid());
    let mut with_foreign = b.draft(b.dentist, b.madrid, range((12, 0), (13, 0)));
    with_foreign.lines = vec![booking_core::ProductLine {
        product_id: foreign_product,
        quantity: Quantity::new(1).unwrap(),
    }];
    assert!(matches!(
        store.apply(b.create(with_foreign)).await,
        Err(ApplyError::NotFound(Entity::ProductAtBranch(..)))
    ));
    let mut cancel_theirs = theirs.clone();
    cancel_theirs.tenant_id = b.tenant;
    let w = b.cancel(&cancel_theirs, t(8, 0));
    assert!(matches!(store.apply(w).await, Err(ApplyError::NotFound(_))));
    assert_eq!(
        store.reservation(a.tenant, theirs.id).await.unwrap().status,
        Status::Confirmed
    );

    // Event logs and queries are per tenant.
    let b_events = store.events_since(b.tenant, Seq::ZERO, 1000).await.unwrap();
    assert!(b_events.iter().all(|e| e.tenant_id == b.tenant));
    assert_eq!(b_events.first().map(|e| e.seq), Some(Seq(1)));
    let b_res = store
        .reservations(b.tenant, &ReservationQuery::default())
        .await
        .unwrap();
    assert!(b_res.is_empty());
    // B's calendar is independent of A's: the same slot is free for B.
    book(
        &store,
        &b,
        b.draft(b.dentist, b.madrid, range((10, 0), (11, 0))),
    )
    .await;
    assert_invariants(&store, &a, t(8, 0)).await;
    assert_invariants(&store, &b, t(8, 0)).await;
}

/// A create is stored at version 1 with one numbered event.
pub async fn a_create_is_stored_with_version_one_and_a_numbered_event(store: Store) {
    let c = Clinic::setup(&*store).await;
    let before = last_seq(&store, &c).await;
    let draft = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    let applied = store.apply(c.create(draft.clone())).await.unwrap();
    assert_eq!(applied.reservation.version, 1);
    assert_eq!(applied.reservation.range, draft.range);
    assert_eq!(applied.events.len(), 1);
    assert_eq!(applied.events[0].seq, before.next());
    assert_eq!(applied.events[0].actor, c.actor);
    assert!(matches!(
        &applied.events[0].payload,
        EventPayload::Reservation {
            kind: ReservationEventKind::Created,
            before: None,
            ..
        }
    ));
    assert_eq!(
        store.reservation(c.tenant, draft.id).await.unwrap(),
        applied.reservation
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// An overlapping booking of the same resource is refused, naming the
/// reservation in the way and its range.
pub async fn an_overlapping_booking_is_refused_naming_the_conflict(store: Store) {
    let c = Clinic::setup(&*store).await;
    let first = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    for (a, b) in [
        ((10, 30), (11, 30)),
        ((9, 30), (10, 1)),
        ((10, 15), (10, 45)),
        ((9, 0), (12, 0)),
    ] {
        let result = store
            .apply(c.create(c.draft(c.dentist, c.madrid, range(a, b))))
            .await;
        match result {
            Err(ApplyError::SlotTaken(taken)) => {
                assert_eq!(taken.conflicting, first.id);
                assert_eq!(taken.range, first.occupied());
            }
            other => panic!("expected slot taken for {a:?}-{b:?}, got {other:?}"),
        }
    }
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// `[10,11)` and `[11,12)` touch but do not overlap.
pub async fn touching_bookings_are_both_accepted(store: Store) {
    let c = Clinic::setup(&*store).await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((11, 0), (12, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((9, 0), (10, 0))),
    )
    .await;
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A resource working at two branches cannot be in both at once.
pub async fn overlap_is_checked_across_branches_of_one_resource(store: Store) {
    let c = Clinic::setup(&*store).await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let result = store
        .apply(c.create(c.draft(c.dentist, c.lisbon, range((10, 30), (11, 30)))))
        .await;
    assert!(
        matches!(result, Err(ApplyError::SlotTaken(_))),
        "got {result:?}"
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Service buffers are part of the occupied time.
pub async fn service_buffers_count_as_occupied(store: Store) {
    let c = Clinic::setup(&*store).await;
    let mut first = c.draft(c.dentist, c.madrid, range((10, 0), (10, 30)));
    first.service_id = Some(c.cleaning);
    first.buffer_after = Minutes::new(10).unwrap();
    book(&store, &c, first).await;
    let inside_buffer = c.draft(c.dentist, c.madrid, range((10, 35), (11, 0)));
    assert!(matches!(
        store.apply(c.create(inside_buffer)).await,
        Err(ApplyError::SlotTaken(_))
    ));
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 40), (11, 0))),
    )
    .await;
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Other resources, and cancelled reservations, leave a slot free.
pub async fn other_resources_and_cancelled_reservations_do_not_block(store: Store) {
    let c = Clinic::setup(&*store).await;
    let first = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.chair, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    store.apply(c.cancel(&first, t(8, 0))).await.unwrap();
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Booking takes units; cancelling gives them back; completing keeps them.
pub async fn stock_is_taken_and_given_back_on_cancel(store: Store) {
    let c = Clinic::setup(&*store).await;
    let a = book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 3),
    )
    .await;
    let b = book(
        &store,
        &c,
        c.with_kits(c.draft(c.chair, c.madrid, range((10, 0), (11, 0))), 2),
    )
    .await;
    assert_eq!(stock(&store, &c, c.madrid).await, 5);
    assert_eq!(
        stock(&store, &c, c.lisbon).await,
        3,
        "other branches are untouched"
    );
    let cancelled = store.apply(c.cancel(&a, t(8, 0))).await.unwrap();
    assert!(cancelled.events.iter().any(|e| matches!(
        e.payload,
        EventPayload::StockAdjusted { before: 5, after: 8, cause: StockCause::Reservation(id), .. } if id == a.id
    )));
    let done = Reservation {
        status: Status::Completed,
        ..b.clone()
    };
    store
        .apply(c.change(&b, done, ReservationEventKind::Completed, t(12, 0)))
        .await
        .unwrap();
    assert_eq!(stock(&store, &c, c.madrid).await, 8);
    assert_invariants(&store, &c, t(12, 0)).await;
}

/// Asking for more than is left is refused with what is available.
pub async fn short_stock_is_refused_with_the_available_quantity(store: Store) {
    let c = Clinic::setup(&*store).await;
    book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.lisbon, range((10, 0), (11, 0))), 2),
    )
    .await;
    let result = store
        .apply(c.create(c.with_kits(c.draft(c.dentist, c.lisbon, range((12, 0), (13, 0))), 2)))
        .await;
    match result {
        Err(ApplyError::OutOfStock(o)) => {
            assert_eq!((o.product_id, o.branch_id), (c.kit, c.lisbon));
            assert_eq!((o.requested, o.available), (2, 1));
        }
        other => panic!("expected out of stock, got {other:?}"),
    }
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A refused write leaves no trace: no reservation, no stock change, no event.
pub async fn a_refused_write_changes_nothing(store: Store) {
    let c = Clinic::setup(&*store).await;
    let other = ProductId::generate();
    store
        .put_product(&Product {
            id: other,
            tenant_id: c.tenant,
            name: Name::new("Floss").unwrap(),
            price: Money::from_code(300, "EUR").unwrap(),
        })
        .await
        .unwrap();
    store
        .adjust_stock(&StockChange {
            tenant_id: c.tenant,
            product_id: other,
            branch_id: c.madrid,
            op: StockOp::Set {
                stock: 1,
                price: None,
            },
            actor: c.actor.clone(),
            at: t(6, 0),
        })
        .await
        .unwrap();
    let seq = last_seq(&store, &c).await;
    // Two lines: the first could be taken, the second cannot.
    let mut draft = c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 4);
    draft.lines.push(booking_core::ProductLine {
        product_id: other,
        quantity: Quantity::new(2).unwrap(),
    });
    let id = draft.id;
    assert!(matches!(
        store.apply(c.create(draft)).await,
        Err(ApplyError::OutOfStock(_))
    ));
    assert_eq!(stock(&store, &c, c.madrid).await, 10);
    assert_eq!(last_seq(&store, &c).await, seq);
    assert!(matches!(
        store.reservation(c.tenant, id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A change based on an old version is refused.
pub async fn a_stale_version_is_refused(store: Store) {
    let c = Clinic::setup(&*store).await;
    let r = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let moved = Reservation {
        range: range((12, 0), (13, 0)),
        ..r.clone()
    };
    let v2 = store
        .apply(c.change(&r, moved, ReservationEventKind::Moved, t(8, 0)))
        .await
        .unwrap()
        .reservation;
    assert_eq!(v2.version, 2);
    // `r` is version 1 now stale.
    let result = store.apply(c.cancel(&r, t(8, 0))).await;
    assert_eq!(
        result.map(|a| a.reservation),
        Err(ApplyError::StaleVersion(StaleVersion {
            expected: 1,
            actual: 2
        }))
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Cancelled (or completed) reservations cannot change any more.
pub async fn terminal_states_stay_terminal(store: Store) {
    let c = Clinic::setup(&*store).await;
    let r = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let cancelled = store
        .apply(c.cancel(&r, t(8, 0)))
        .await
        .unwrap()
        .reservation;
    let revive = Reservation {
        status: Status::Confirmed,
        ..cancelled.clone()
    };
    assert!(matches!(
        store
            .apply(c.change(&cancelled, revive, ReservationEventKind::Moved, t(8, 0)))
            .await,
        Err(ApplyError::InvalidTransition(_))
    ));
    assert!(matches!(
        store.apply(c.cancel(&cancelled, t(8, 0))).await,
        Err(ApplyError::InvalidTransition(_))
    ));
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Replaying a create (same id) is refused, not applied twice.
pub async fn a_replayed_create_is_refused(store: Store) {
    let c = Clinic::setup(&*store).await;
    let draft = c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1);
    store.apply(c.create(draft.clone())).await.unwrap();
    let mut again = draft;
    again.range = range((14, 0), (15, 0));
    assert!(matches!(
        store.apply(c.create(again)).await,
        Err(ApplyError::AlreadyExists(_))
    ));
    assert_eq!(stock(&store, &c, c.madrid).await, 9);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Branch, products and price never change after creation.
pub async fn immutable_fields_cannot_change(store: Store) {
    let c = Clinic::setup(&*store).await;
    let r = book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1),
    )
    .await;
    let more_kits = c.with_kits(r.clone(), 5);
    assert!(matches!(
        store
            .apply(c.change(&r, more_kits, ReservationEventKind::Moved, t(8, 0)))
            .await,
        Err(ApplyError::ImmutableField("lines"))
    ));
    let elsewhere = Reservation {
        branch_id: c.lisbon,
        ..r.clone()
    };
    assert!(matches!(
        store
            .apply(c.change(&r, elsewhere, ReservationEventKind::Moved, t(8, 0)))
            .await,
        Err(ApplyError::ImmutableField("branch_id"))
    ));
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A resource is only booked at a branch it works at, and products only
/// where they are sold.
pub async fn references_must_exist_where_the_booking_is(store: Store) {
    let c = Clinic::setup(&*store).await;
    let result = store
        .apply(c.create(c.draft(c.chair, c.lisbon, range((10, 0), (11, 0)))))
        .await;
    assert!(
        matches!(result, Err(ApplyError::ResourceNotAtBranch(_))),
        "got {result:?}"
    );
    let floss = ProductId::generate();
    store
        .put_product(&Product {
            id: floss,
            tenant_id: c.tenant,
            name: Name::new("Floss").unwrap(),
            price: Money::from_code(300, "EUR").unwrap(),
        })
        .await
        .unwrap();
    let mut draft = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    draft.lines = vec![booking_core::ProductLine {
        product_id: floss,
        quantity: Quantity::new(1).unwrap(),
    }];
    assert_eq!(
        store.apply(c.create(draft)).await.map(|a| a.reservation.id),
        Err(ApplyError::NotFound(Entity::ProductAtBranch(
            floss, c.madrid
        )))
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

fn hold(mut r: Reservation, until: DateTime<Utc>) -> Reservation {
    r.status = Status::Held;
    r.hold_expires_at = Some(until);
    r
}

/// An unexpired hold blocks its slot and keeps its units.
pub async fn an_unexpired_hold_blocks_the_slot(store: Store) {
    let c = Clinic::setup(&*store).await;
    let h = hold(
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 2),
        t(7, 30),
    );
    book(&store, &c, h).await;
    assert_eq!(stock(&store, &c, c.madrid).await, 8);
    let mut rival = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    rival.created_at = t(7, 10);
    assert!(matches!(
        store.apply(c.create(rival)).await,
        Err(ApplyError::SlotTaken(_))
    ));
    assert_invariants(&store, &c, t(7, 10)).await;
}

/// A hold past its expiry that overlaps a new booking is expired by the
/// same write, and its stock comes back.
pub async fn a_stale_hold_in_the_way_is_expired_in_the_same_write(store: Store) {
    let c = Clinic::setup(&*store).await;
    let h = book(
        &store,
        &c,
        hold(
            c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 2),
            t(7, 30),
        ),
    )
    .await;
    let mut rival = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    rival.created_at = t(8, 0);
    let applied = store
        .apply(c.create(rival))
        .await
        .expect("the stale hold is no obstacle");
    assert!(matches!(
        &applied.events[0].payload,
        EventPayload::Reservation { kind: ReservationEventKind::Expired, after, .. } if after.id == h.id
    ));
    assert_eq!(
        store.reservation(c.tenant, h.id).await.unwrap().status,
        Status::Expired
    );
    assert_eq!(stock(&store, &c, c.madrid).await, 10);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A stale hold keeping units that a new booking needs is expired first,
/// even on another resource.
pub async fn a_stale_hold_keeping_stock_is_expired_when_the_stock_is_needed(store: Store) {
    let c = Clinic::setup(&*store).await;
    let h = book(
        &store,
        &c,
        hold(
            c.with_kits(c.draft(c.chair, c.madrid, range((10, 0), (11, 0))), 10),
            t(7, 30),
        ),
    )
    .await;
    assert_eq!(stock(&store, &c, c.madrid).await, 0);
    let mut order = c.with_kits(c.draft(c.dentist, c.madrid, range((14, 0), (15, 0))), 4);
    order.created_at = t(8, 0);
    store
        .apply(c.create(order))
        .await
        .expect("units of the stale hold are free");
    assert_eq!(
        store.reservation(c.tenant, h.id).await.unwrap().status,
        Status::Expired
    );
    assert_eq!(stock(&store, &c, c.madrid).await, 6);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// The event log pages in order without gaps or repeats.
pub async fn events_since_pages_in_order_without_gaps(store: Store) {
    let c = Clinic::setup(&*store).await;
    for h in 10..15 {
        book(
            &store,
            &c,
            c.with_kits(c.draft(c.dentist, c.madrid, range((h, 0), (h + 1, 0))), 1),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut after = Seq::ZERO;
    loop {
        let page = store.events_since(c.tenant, after, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(page.into_iter().map(|e| e.seq.0));
    }
    let expected: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seen, expected);
    assert_eq!(
        seen.len(),
        2 + 5 * 2,
        "2 stock sets, then 5 × (booking + stock)"
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A reservation's history projects to the stored reservation.
pub async fn history_projects_to_the_stored_reservation(store: Store) {
    let c = Clinic::setup(&*store).await;
    let r = book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1),
    )
    .await;
    let moved = Reservation {
        range: range((12, 0), (13, 0)),
        resource_id: c.dentist,
        ..r.clone()
    };
    let r2 = store
        .apply(c.change(&r, moved, ReservationEventKind::Moved, t(8, 0)))
        .await
        .unwrap()
        .reservation;
    let r3 = store
        .apply(c.cancel(&r2, t(9, 0)))
        .await
        .unwrap()
        .reservation;
    let history = store.reservation_events(c.tenant, r.id).await.unwrap();
    let kinds: Vec<_> = history
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::Reservation { kind, .. } => Some(*kind),
            EventPayload::StockAdjusted { .. } => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ReservationEventKind::Created,
            ReservationEventKind::Moved,
            ReservationEventKind::Cancelled
        ]
    );
    assert_eq!(booking_core::project(&history).unwrap(), Some(r3));
    assert_invariants(&store, &c, t(9, 0)).await;
}

/// Queries filter by branch, resource and window, and page by (start, id).
pub async fn reservations_can_be_filtered_and_paged(store: Store) {
    let c = Clinic::setup(&*store).await;
    let mut all = Vec::new();
    for h in 9..14 {
        all.push(
            book(
                &store,
                &c,
                c.draft(c.dentist, c.madrid, range((h, 0), (h + 1, 0))),
            )
            .await,
        );
    }
    all.push(
        book(
            &store,
            &c,
            c.draft(c.chair, c.madrid, range((9, 0), (10, 0))),
        )
        .await,
    );
    all.push(
        book(
            &store,
            &c,
            c.draft(c.dentist, c.lisbon, range((15, 0), (16, 0))),
        )
        .await,
    );

    let by_branch = store
        .reservations(
            c.tenant,
            &ReservationQuery {
                branch_id: Some(c.lisbon),
                ..ReservationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_branch.len(), 1);
    let by_resource = store
        .reservations(
            c.tenant,
            &ReservationQuery {
                resource_id: Some(c.chair),
                ..ReservationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_resource.len(), 1);
    let window =
        booking_core::TimeRange::new(t(10, 30), t(12, 0), &booking_core::RangeLimits::queries())
            .unwrap();
    let in_window = store
        .reservations(
            c.tenant,
            &ReservationQuery {
                window: Some(window),
                ..ReservationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_window.len(), 2, "10-11 and 11-12 overlap 10:30-12:00");

    let mut paged = Vec::new();
    let mut query = ReservationQuery {
        limit: 2,
        ..ReservationQuery::default()
    };
    loop {
        let page = store.reservations(c.tenant, &query).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        query.after = Some(ReservationCursor {
            starts_at: last.range.start(),
            id: last.id,
        });
        paged.extend(page);
    }
    all.sort_by_key(|r| (r.range.start(), r.id));
    assert_eq!(paged, all);
}

/// `conflicts` lists only active, overlapping reservations of the resource.
pub async fn conflicts_lists_only_active_overlapping_reservations(store: Store) {
    let c = Clinic::setup(&*store).await;
    let a = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let b = book(
        &store,
        &c,
        c.draft(c.dentist, c.lisbon, range((11, 0), (12, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.chair, c.madrid, range((10, 0), (12, 0))),
    )
    .await;
    let window = range((10, 30), (11, 30));
    let found = store
        .conflicts(c.tenant, c.dentist, &window, t(8, 0), None)
        .await
        .unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [a.id, b.id]);
    let found = store
        .conflicts(c.tenant, c.dentist, &window, t(8, 0), Some(a.id))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    store.apply(c.cancel(&b, t(8, 0))).await.unwrap();
    let found = store
        .conflicts(c.tenant, c.dentist, &window, t(8, 0), Some(a.id))
        .await
        .unwrap();
    assert!(found.is_empty());
}

/// Setting and restocking are atomic, bounded and recorded as events.
pub async fn stock_can_be_set_and_restocked_with_events(store: Store) {
    let c = Clinic::setup(&*store).await;
    let change = |op| StockChange {
        tenant_id: c.tenant,
        product_id: c.kit,
        branch_id: c.madrid,
        op,
        actor: c.actor.clone(),
        at: t(9, 0),
    };
    let (record, event) = store
        .adjust_stock(&change(StockOp::Restock {
            quantity: Quantity::new(5).unwrap(),
        }))
        .await
        .unwrap();
    assert_eq!(record.stock, 15);
    assert!(matches!(
        event.payload,
        EventPayload::StockAdjusted {
            before: 10,
            after: 15,
            cause: StockCause::Restock,
            ..
        }
    ));
    let price = Some(Money::from_code(2200, "EUR").unwrap());
    let (record, _) = store
        .adjust_stock(&change(StockOp::Set { stock: 7, price }))
        .await
        .unwrap();
    assert_eq!((record.stock, record.price), (7, price));
    assert_eq!(
        store
            .product_branch(c.tenant, c.kit, c.madrid)
            .await
            .unwrap()
            .map(|p| p.price),
        Some(price)
    );
    assert!(matches!(
        store
            .adjust_stock(&change(StockOp::Set {
                stock: ProductBranch::MAX_STOCK + 1,
                price: None
            }))
            .await,
        Err(StockError::TooMuch { .. })
    ));
    store
        .adjust_stock(&change(StockOp::Set {
            stock: ProductBranch::MAX_STOCK,
            price: None,
        }))
        .await
        .unwrap();
    assert!(matches!(
        store
            .adjust_stock(&change(StockOp::Restock {
                quantity: Quantity::new(1).unwrap()
            }))
            .await,
        Err(StockError::TooMuch { .. })
    ));
    let floss = ProductId::generate();
    store
        .put_product(&Product {
            id: floss,
            tenant_id: c.tenant,
            name: Name::new("Floss").unwrap(),
            price: Money::from_code(300, "EUR").unwrap(),
        })
        .await
        .unwrap();
    let restock_floss = StockChange {
        product_id: floss,
        ..change(StockOp::Restock {
            quantity: Quantity::new(1).unwrap(),
        })
    };
    assert!(matches!(
        store.adjust_stock(&restock_floss).await,
        Err(StockError::NotFound(Entity::ProductAtBranch(..)))
    ));
    let unknown = StockChange {
        product_id: ProductId::generate(),
        ..change(StockOp::Set {
            stock: 1,
            price: None,
        })
    };
    assert!(matches!(
        store.adjust_stock(&unknown).await,
        Err(StockError::NotFound(Entity::Product(_)))
    ));
    assert_invariants(&store, &c, t(9, 0)).await;
}

/// Many writers racing for one slot: exactly one wins, every other gets
/// "slot taken", and nothing else goes wrong.
pub async fn concurrent_creates_for_one_slot_admit_exactly_one(store: Store) {
    let c = Clinic::setup(&*store).await;
    let tasks = (0..50).map(|_| {
        let store = Arc::clone(&store);
        let w = c.create(c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1));
        tokio::spawn(async move { store.apply(w).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(ApplyError::SlotTaken(_))))
        .count();
    assert_eq!((won, taken), (1, 49), "results: {results:?}");
    assert_eq!(stock(&store, &c, c.madrid).await, 9);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Many orders racing for little stock, on different slots: never more
/// sold than there was, and every refusal is "out of stock".
pub async fn concurrent_orders_never_oversell(store: Store) {
    let c = Clinic::setup(&*store).await;
    let tasks = (0..40u32).map(|i| {
        let store = Arc::clone(&store);
        let resource = if i % 2 == 0 { c.dentist } else { c.chair };
        let start = (i / 2) * 30;
        let slot = booking_core::TimeRange::new(
            t(0, start),
            t(0, start + 30),
            &booking_core::RangeLimits::bookings(),
        )
        .unwrap();
        let qty = i64::from(i % 3 + 1);
        let w = c.create(c.with_kits(c.draft(resource, c.madrid, slot), qty));
        tokio::spawn(async move { (qty, store.apply(w).await) })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let sold: i64 = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(q, _)| q)
        .sum();
    assert!(sold <= 10, "sold {sold} of 10");
    assert!(
        results
            .iter()
            .all(|(_, r)| r.is_ok() || matches!(r, Err(ApplyError::OutOfStock(_)))),
        "results: {results:?}"
    );
    assert_eq!(i64::from(stock(&store, &c, c.madrid).await), 10 - sold);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Runs every store contract case as its own `#[tokio::test]` against the
/// store built by `$make` (an expression evaluating to a future of
/// `Arc<dyn BookingStore>`, evaluated afresh for each case). The calling
/// crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            catalog_round_trips,
            foreign_tenant_ids_are_not_found,
            a_create_is_stored_with_version_one_and_a_numbered_event,
            an_overlapping_booking_is_refused_naming_the_conflict,
            touching_bookings_are_both_accepted,
            overlap_is_checked_across_branches_of_one_resource,
            service_buffers_count_as_occupied,
            other_resources_and_cancelled_reservations_do_not_block,
            stock_is_taken_and_given_back_on_cancel,
            short_stock_is_refused_with_the_available_quantity,
            a_refused_write_changes_nothing,
            a_stale_version_is_refused,
            terminal_states_stay_terminal,
            a_replayed_create_is_refused,
            immutable_fields_cannot_change,
            references_must_exist_where_the_booking_is,
            an_unexpired_hold_blocks_the_slot,
            a_stale_hold_in_the_way_is_expired_in_the_same_write,
            a_stale_hold_keeping_stock_is_expired_when_the_stock_is_needed,
            events_since_pages_in_order_without_gaps,
            history_projects_to_the_stored_reservation,
            reservations_can_be_filtered_and_paged,
            conflicts_lists_only_active_overlapping_reservations,
            stock_can_be_set_and_restocked_with_events,
            concurrent_creates_for_one_slot_admit_exactly_one,
            concurrent_orders_never_oversell,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::BookingStore> = $make.await;
                $crate::contract::store::$case(store).await;
            }
        )*
    };
}
