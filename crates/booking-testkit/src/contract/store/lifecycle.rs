//! Versions, the lifecycle, immutability and references.

#[allow(clippy::wildcard_imports)]
use super::*;

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
    let v2 = apply(
        &store,
        c.change(&r, moved, ReservationEventKind::Moved, t(8, 0)),
    )
    .await
    .unwrap()
    .reservation;
    assert_eq!(v2.version, 2);
    // `r` is version 1 now stale.
    let result = apply(&store, c.cancel(&r, t(8, 0))).await;
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
    let cancelled = apply(&store, c.cancel(&r, t(8, 0)))
        .await
        .unwrap()
        .reservation;
    let revive = Reservation {
        status: Status::Confirmed,
        ..cancelled.clone()
    };
    assert!(matches!(
        apply(
            &store,
            c.change(&cancelled, revive, ReservationEventKind::Moved, t(8, 0))
        )
        .await,
        Err(ApplyError::InvalidTransition(_))
    ));
    assert!(matches!(
        apply(&store, c.cancel(&cancelled, t(8, 0))).await,
        Err(ApplyError::InvalidTransition(_))
    ));
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Replaying a create (same id) is refused, not applied twice.
pub async fn a_replayed_create_is_refused(store: Store) {
    let c = Clinic::setup(&*store).await;
    let draft = c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1);
    apply(&store, c.create(draft.clone())).await.unwrap();
    let mut again = draft;
    again.range = range((14, 0), (15, 0));
    assert!(matches!(
        apply(&store, c.create(again)).await,
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
        apply(
            &store,
            c.change(&r, more_kits, ReservationEventKind::Moved, t(8, 0))
        )
        .await,
        Err(ApplyError::ImmutableField("lines"))
    ));
    let elsewhere = Reservation {
        branch_id: c.lisbon,
        ..r.clone()
    };
    assert!(matches!(
        apply(
            &store,
            c.change(&r, elsewhere, ReservationEventKind::Moved, t(8, 0))
        )
        .await,
        Err(ApplyError::ImmutableField("branch_id"))
    ));
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A resource is only booked at a branch it works at, and products only
/// where they are sold.
pub async fn references_must_exist_where_the_booking_is(store: Store) {
    let c = Clinic::setup(&*store).await;
    let result = apply(
        &store,
        c.create(c.draft(c.chair, c.lisbon, range((10, 0), (11, 0)))),
    )
    .await;
    assert!(
        matches!(result, Err(ApplyError::ResourceNotAtBranch(_))),
        "got {result:?}"
    );
    let floss = ProductId::generate();
    put(
        &store,
        &c,
        CatalogRecord::Product(Product {
            id: floss,
            tenant_id: c.tenant,
            name: Name::new("Floss").unwrap(),
            price: Money::from_code(300, "EUR").unwrap(),
        }),
        PutMode::Create,
    )
    .await
    .unwrap();
    let mut draft = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    draft.lines = vec![booking_core::ProductLine {
        product_id: floss,
        quantity: Quantity::new(1).unwrap(),
    }];
    assert_eq!(
        apply(&store, c.create(draft))
            .await
            .map(|a| a.reservation.id),
        Err(ApplyError::NotFound(Entity::ProductAtBranch(
            floss, c.madrid
        )))
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Instants finer than a microsecond are cut to the microsecond, so what
/// a write returns, what a read returns and what the events say agree.
pub async fn instants_are_kept_to_the_microsecond(store: Store) {
    let c = Clinic::setup(&*store).await;
    let fine = chrono::Duration::nanoseconds(1_234_567);
    let mut draft = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    draft.created_at = t(7, 0) + fine;
    draft.status = Status::Held;
    draft.hold_expires_at = Some(t(9, 0) + fine);
    let mut write = c.create(draft);
    write.at = t(7, 0) + fine;
    let applied = apply(&store, write).await.unwrap();
    let read = store
        .reservation(c.tenant, applied.reservation.id)
        .await
        .unwrap();
    assert_eq!(read, applied.reservation);
    assert_eq!(
        read.created_at,
        t(7, 0) + chrono::Duration::microseconds(1_234)
    );
    let (_, events) = adjust_stock(
        &store,
        &StockChange {
            tenant_id: c.tenant,
            product_id: c.kit,
            branch_id: c.madrid,
            op: StockOp::Restock {
                quantity: Quantity::new(1).unwrap(),
            },
            by: c.by.clone(),
            at: t(7, 30) + fine,
        },
    )
    .await
    .unwrap();
    let first = events.first().expect("a restock is recorded").seq;
    let logged = store
        .events(c.tenant, &EventQuery::since(Seq(first.0 - 1), 10))
        .await
        .unwrap();
    assert_eq!(logged, events);
    assert_eq!(
        logged[0].at,
        t(7, 30) + chrono::Duration::microseconds(1_234)
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}
