//! Racing writers against the store alone (no lock).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Many writers racing for one slot: exactly one wins, every other gets
/// "slot taken", and nothing else goes wrong.
pub async fn concurrent_creates_for_one_slot_admit_exactly_one(store: Store) {
    one_slot_race(&[store], 50).await;
}

/// `writers` writers, spread over `stores` (several pools or connections
/// on one database, as several nodes have), race to book one slot with a
/// product: exactly one wins, the rest hear "slot taken", one unit is sold,
/// and every invariant holds.
///
/// # Panics
/// On any other outcome.
pub async fn one_slot_race(stores: &[Store], writers: usize) {
    let c = Clinic::setup(&*stores[0]).await;
    let tasks = (0..writers).map(|i| {
        let store = Arc::clone(&stores[i % stores.len()]);
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
    let other: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r, Ok(_) | Err(ApplyError::SlotTaken(_))))
        .collect();
    assert_eq!((won, taken), (1, writers - 1), "other outcomes: {other:?}");
    assert_eq!(stock(&stores[0], &c, c.madrid).await, 9);
    assert_invariants(&stores[0], &c, t(8, 0)).await;
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
