//! Stock: taking, giving back, refusing, adjusting.

#[allow(clippy::wildcard_imports)]
use super::*;

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
    let cancelled = apply(&store, c.cancel(&a, t(8, 0))).await.unwrap();
    assert!(cancelled.events.iter().any(|e| matches!(
        &e.payload,
        EventPayload::StockChanged(level)
            if (level.before, level.after) == (5, 8)
                && level.cause == StockCause::Reservation(a.id.as_uuid())
    )));
    let done = Reservation {
        status: Status::Completed,
        ..b.clone()
    };
    apply(
        &store,
        c.change(&b, done, ReservationEventKind::Completed, t(12, 0)),
    )
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
    let result = apply(
        &store,
        c.create(c.with_kits(c.draft(c.dentist, c.lisbon, range((12, 0), (13, 0))), 2)),
    )
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
    put(
        &store,
        &c,
        CatalogRecord::Product(Product {
            id: other,
            tenant_id: c.tenant,
            name: Name::new("Floss").unwrap(),
            price: Money::from_code(300, "EUR").unwrap(),
        }),
        PutMode::Create,
    )
    .await
    .unwrap();
    adjust_stock(
        &store,
        &StockChange {
            tenant_id: c.tenant,
            product_id: other,
            branch_id: c.madrid,
            op: StockOp::Set {
                stock: 1,
                price: None,
            },
            by: c.by.clone(),
            at: t(6, 0),
        },
    )
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
        apply(&store, c.create(draft)).await,
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

/// Setting and restocking are atomic, bounded and recorded as events.
pub async fn stock_can_be_set_and_restocked_with_events(store: Store) {
    let c = Clinic::setup(&*store).await;
    let change = |op| StockChange {
        tenant_id: c.tenant,
        product_id: c.kit,
        branch_id: c.madrid,
        op,
        by: c.by.clone(),
        at: t(9, 0),
    };
    let (record, events) = adjust_stock(
        &store,
        &change(StockOp::Restock {
            quantity: Quantity::new(5).unwrap(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(record.stock, 15);
    assert!(matches!(
        events.as_slice(),
        [e] if matches!(&e.payload, EventPayload::StockChanged(level)
            if (level.before, level.after, &level.cause) == (10, 15, &StockCause::Restock))
    ));
    let price = Some(Money::from_code(2200, "EUR").unwrap());
    let (record, events) = adjust_stock(&store, &change(StockOp::Set { stock: 7, price }))
        .await
        .unwrap();
    assert_eq!((record.stock, record.price), (7, price));
    assert_eq!(
        events
            .iter()
            .map(|e| e.payload.event_type())
            .collect::<Vec<_>>(),
        [EventType::StockChanged, EventType::ProductPriceSet],
        "a level and a branch price set at once are both recorded"
    );
    assert_eq!(
        store
            .product_branch(c.tenant, c.kit, c.madrid)
            .await
            .unwrap()
            .map(|p| p.price),
        Some(price)
    );
    assert!(matches!(
        adjust_stock(
            &store,
            &change(StockOp::Set {
                stock: ProductBranch::MAX_STOCK + 1,
                price: None
            })
        )
        .await,
        Err(CatalogError::TooMuch { .. })
    ));
    adjust_stock(
        &store,
        &change(StockOp::Set {
            stock: ProductBranch::MAX_STOCK,
            price: None,
        }),
    )
    .await
    .unwrap();
    assert!(matches!(
        adjust_stock(
            &store,
            &change(StockOp::Restock {
                quantity: Quantity::new(1).unwrap()
            })
        )
        .await,
        Err(CatalogError::TooMuch { .. })
    ));
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
    let restock_floss = StockChange {
        product_id: floss,
        ..change(StockOp::Restock {
            quantity: Quantity::new(1).unwrap(),
        })
    };
    assert!(matches!(
        adjust_stock(&store, &restock_floss).await,
        Err(CatalogError::NotFound(Entity::ProductAtBranch(..)))
    ));
    let unknown = StockChange {
        product_id: ProductId::generate(),
        ..change(StockOp::Set {
            stock: 1,
            price: None,
        })
    };
    assert!(matches!(
        adjust_stock(&store, &unknown).await,
        Err(CatalogError::NotFound(Entity::Product(_)))
    ));
    assert_invariants(&store, &c, t(9, 0)).await;
}

/// A level is set so that what reservations hold (a confirmed booking, a
/// hold that ran out) can always come back: one leaving no room is
/// refused, and the cancel and the expiry then go through.
pub async fn a_level_leaves_room_for_the_units_out(store: Store) {
    let c = Clinic::setup(&*store).await;
    let max = ProductBranch::MAX_STOCK;
    let booked = book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 3),
    )
    .await;
    let mut held = c.with_kits(c.draft(c.chair, c.madrid, range((10, 0), (11, 0))), 2);
    held.status = Status::Held;
    held.hold_expires_at = Some(t(7, 30));
    let held = book(&store, &c, held).await;
    let change = |op| StockChange {
        tenant_id: c.tenant,
        product_id: c.kit,
        branch_id: c.madrid,
        op,
        by: c.by.clone(),
        at: t(9, 0),
    };
    let set = |stock| change(StockOp::Set { stock, price: None });
    assert_eq!(
        adjust_stock(&store, &set(max)).await.unwrap_err(),
        CatalogError::TooMuch { max, out: 5 },
        "the held and the booked units count, the hold's too though it ran out"
    );
    adjust_stock(&store, &set(max - 5)).await.unwrap();
    let one_more = change(StockOp::Restock {
        quantity: Quantity::new(1).unwrap(),
    });
    assert_eq!(
        adjust_stock(&store, &one_more).await.unwrap_err(),
        CatalogError::TooMuch { max, out: 5 }
    );
    apply(&store, c.cancel(&booked, t(9, 30))).await.unwrap();
    let expired = booking_core::engine::rules::expired(&held, t(9, 30));
    apply(
        &store,
        c.change(&held, expired, ReservationEventKind::Expired, t(9, 30)),
    )
    .await
    .unwrap();
    assert_eq!(stock(&store, &c, c.madrid).await, max);
    assert_invariants(&store, &c, t(9, 30)).await;
}
