//! Racing writers against the store alone (no lock), over several handles
//! on one database (several pools or files opened twice, as several nodes
//! or processes have). Run them with [`crate::store_race_tests!`].

#[allow(clippy::wildcard_imports)]
use super::*;

use booking_core::{
    RangeLimits, Resource, ResourceBranch, ResourceId, ResourceKind, Schedule, TimeRange,
};

fn slot(minutes_from_ten: i64, len: i64) -> TimeRange {
    let start = t(10, 0) + chrono::Duration::minutes(minutes_from_ten);
    TimeRange::new(
        start,
        start + chrono::Duration::minutes(len),
        &RangeLimits::bookings(),
    )
    .expect("a valid test range")
}

/// `writers` writers, spread over `stores`, race to book one slot with a
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
        tokio::spawn(async move { apply(&store, w).await })
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

/// `n` chairs of the clinic, each working any time in Madrid.
async fn chairs(store: &Store, c: &Clinic, n: usize) -> Vec<ResourceId> {
    let mut chairs = Vec::new();
    for i in 0..n {
        let id = ResourceId::generate();
        put(
            store,
            c,
            CatalogRecord::Resource(Resource {
                id,
                tenant_id: c.tenant,
                name: Name::new(&format!("Chair {i}")).expect("a valid name"),
                kind: ResourceKind::Room,
            }),
            PutMode::Create,
        )
        .await
        .expect("a chair");
        put(
            store,
            c,
            CatalogRecord::Schedule(ResourceBranch {
                tenant_id: c.tenant,
                resource_id: id,
                branch_id: c.madrid,
                schedule: Schedule::unrestricted(),
            }),
            PutMode::Upsert,
        )
        .await
        .expect("a link");
        chairs.push(id);
    }
    chairs
}

/// 200 orders of 1 to 3 kits, on 20 chairs and distinct slots so they
/// compete for stock only, race for the 10 kits in Madrid: never more sold
/// than there was, every unit that fits an order sells, every refusal is
/// "out of stock", and stock plus units sold is conserved.
///
/// # Panics
/// On any other outcome.
pub async fn orders_never_oversell(stores: &[Store]) {
    let c = Clinic::setup(&*stores[0]).await;
    let chairs = chairs(&stores[0], &c, 20).await;
    let tasks = (0..200usize).map(|i| {
        let store = Arc::clone(&stores[i % stores.len()]);
        let qty = i64::try_from(i % 3 + 1).expect("small");
        let when = slot(i64::try_from(i / 20).expect("small") * 30, 30);
        let w = c.create(c.with_kits(c.draft(chairs[i % 20], c.madrid, when), qty));
        tokio::spawn(async move { (qty, apply(&store, w).await) })
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
    let other: Vec<_> = results
        .iter()
        .filter(|(_, r)| !matches!(r, Ok(_) | Err(ApplyError::OutOfStock(_))))
        .collect();
    assert!(other.is_empty(), "unexpected outcomes: {other:?}");
    assert_sold_of_ten(&stores[0], &c, sold).await;
}

/// `sold` of the clinic's 10 kits in Madrid were sold by racing orders of
/// 1 to 3: every unit that fits an order sold, stock plus units sold is
/// conserved, and every invariant holds.
async fn assert_sold_of_ten(store: &Store, c: &Clinic, sold: i64) {
    assert!(
        (8..=10).contains(&sold),
        "sold {sold} of 10 (every unit that fits an order sells)"
    );
    assert_eq!(
        i64::from(stock(store, c, c.madrid).await),
        10 - sold,
        "stock + sold is conserved"
    );
    assert_invariants(store, c, t(8, 0)).await;
}

/// 16 writers, spread over `stores`, each send 5 batches of 4 creates
/// ([`engine::apply_batch`]) of 1 to 3 kits on 8 chairs and 4 slots, so
/// batches collide on slots (with each other and inside themselves) and on
/// the 10 kits in Madrid: every answer is a booking, "slot taken", "out of
/// stock" or "busy" (without the lock, two transactions inserting rows
/// that overlap can each wait for the other; the store breaks the deadlock
/// and a write that loses twice says so) and a busy one left nothing; no
/// two active bookings of a chair overlap, never more kits sold than there
/// were, and the log stays gapless.
///
/// # Panics
/// On any other outcome.
pub async fn batches_racing_never_double_book_or_oversell(stores: &[Store]) {
    let c = Clinic::setup(&*stores[0]).await;
    let chairs = chairs(&stores[0], &c, 8).await;
    let tasks = (0..16usize).map(|writer| {
        let store = Arc::clone(&stores[writer % stores.len()]);
        let batches: Vec<Vec<(i64, ReservationWrite)>> = (0..5usize)
            .map(|b| {
                (0..4usize)
                    .map(|k| {
                        let n = writer * 20 + b * 4 + k;
                        let qty = i64::try_from(n % 3 + 1).expect("small");
                        let when = slot(i64::try_from((n / 8) % 4).expect("small") * 30, 30);
                        let draft = c.draft(chairs[(n * 5) % 8], c.madrid, when);
                        (qty, c.create(c.with_kits(draft, qty)))
                    })
                    .collect()
            })
            .collect();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for batch in batches {
                let writes: Vec<ReservationWrite> = batch.iter().map(|(_, w)| w.clone()).collect();
                let got = engine::apply_batch(&*store, &writes).await;
                answers.extend(batch.into_iter().zip(got).map(|((q, w), r)| (q, w, r)));
            }
            answers
        })
    });
    let results: Vec<(i64, ReservationWrite, Result<Applied, ApplyError>)> = join_all(tasks)
        .await
        .into_iter()
        .flat_map(|r| r.expect("task"))
        .collect();
    let other: Vec<_> = results
        .iter()
        .filter(|(_, _, r)| {
            !matches!(
                r,
                Ok(_)
                    | Err(ApplyError::SlotTaken(_) | ApplyError::OutOfStock(_) | ApplyError::Busy)
            )
        })
        .collect();
    assert!(other.is_empty(), "unexpected outcomes: {other:?}");
    for (_, w, _) in results.iter().filter(|(_, _, r)| r.is_err()) {
        let left = stores[0].reservation(c.tenant, w.reservation.id).await;
        assert!(left.is_err(), "a refused write left {left:?}");
    }
    let sold: i64 = results
        .iter()
        .filter(|(_, _, r)| r.is_ok())
        .map(|(q, _, _)| q)
        .sum();
    assert_sold_of_ten(&stores[0], &c, sold).await;
}

/// `rounds` times: a booking is cancelled through one handle while another
/// handle books the same slot. The cancel always succeeds; the create
/// either wins or hears "slot taken"; never are both active.
///
/// # Panics
/// On any other outcome.
pub async fn cancel_racing_a_create_never_leaves_two_active(stores: &[Store], rounds: i64) {
    let c = Clinic::setup(&*stores[0]).await;
    let other = &stores[1 % stores.len()];
    let (mut won, mut lost) = (0, 0);
    for round in 0..rounds {
        let when = slot(round * 30, 30);
        let x = book(&stores[0], &c, c.draft(c.dentist, c.madrid, when)).await;
        let cancel = {
            let (store, w) = (Arc::clone(&stores[0]), c.cancel(&x, t(8, 0)));
            tokio::spawn(async move { apply(&store, w).await })
        };
        let create = {
            let (store, w) = (
                Arc::clone(other),
                c.create(c.draft(c.dentist, c.madrid, when)),
            );
            tokio::spawn(async move { apply(&store, w).await })
        };
        cancel
            .await
            .expect("task")
            .expect("the cancel always succeeds");
        match create.await.expect("task") {
            Ok(_) => won += 1,
            Err(ApplyError::SlotTaken(_)) => lost += 1,
            Err(e) => panic!("round {round}: unexpected {e:?}"),
        }
    }
    assert_eq!(won + lost, rounds);
    assert_invariants(&stores[0], &c, t(8, 0)).await;
}

/// Eight writers over the handles book 200 distinct slots while two more
/// change the catalog (new resources linked to a branch, restocks, new
/// keys) and a reader polls the log: numbers are gapless across bookings
/// and catalog changes, and the reader, which must see exactly the next
/// number each time, misses none.
///
/// # Panics
/// On a gap, a missed event or a refused write.
pub async fn mixed_writers_number_events_gaplessly(stores: &[Store]) {
    let c = Clinic::setup(&*stores[0]).await;
    let setup = last_seq(&stores[0], &c).await.0;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done, tenant) = (Arc::clone(&stores[0]), Arc::clone(&done), c.tenant);
        tokio::spawn(async move {
            let mut seen: Vec<u64> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let after = seen.last().copied().map_or(Seq::ZERO, Seq);
                let page = store
                    .events(tenant, &EventQuery::since(after, 50))
                    .await
                    .expect("read the log");
                for e in &page {
                    assert_eq!(
                        e.seq.0,
                        seen.last().map_or(1, |l| l + 1),
                        "reader missed an event"
                    );
                    seen.push(e.seq.0);
                }
                if finished && page.is_empty() {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let bookers = (0..8usize).map(|w| {
        let store = Arc::clone(&stores[w % stores.len()]);
        let c = c.clone();
        tokio::spawn(async move {
            let mut events = 0;
            for i in 0..25i64 {
                let when = slot((i64::try_from(w).expect("small") * 25 + i) * 30, 30);
                let resource = if w % 2 == 0 { c.dentist } else { c.chair };
                events += apply(&store, c.create(c.draft(resource, c.madrid, when)))
                    .await
                    .expect("distinct slots")
                    .events
                    .len();
            }
            events
        })
    });
    let editors = (0..2usize).map(|w| {
        let store = Arc::clone(&stores[(w + 1) % stores.len()]);
        let c = c.clone();
        tokio::spawn(async move {
            let mut events = 0;
            for i in 0..10 {
                let id = ResourceId::generate();
                let resource = Resource {
                    id,
                    tenant_id: c.tenant,
                    name: Name::new(&format!("Chair {w}.{i}")).expect("a valid name"),
                    kind: ResourceKind::Room,
                };
                let link = ResourceBranch {
                    tenant_id: c.tenant,
                    resource_id: id,
                    branch_id: c.lisbon,
                    schedule: Schedule::unrestricted(),
                };
                for record in [
                    CatalogRecord::Resource(resource),
                    CatalogRecord::Schedule(link),
                ] {
                    events += engine::put(&*store, &record, PutMode::Create, &catalog_write(&c))
                        .await
                        .expect("a new record")
                        .1
                        .len();
                }
                let restock = StockChange {
                    tenant_id: c.tenant,
                    product_id: c.kit,
                    branch_id: c.lisbon,
                    op: StockOp::Restock {
                        quantity: Quantity::new(1).expect("one"),
                    },
                    by: c.by.clone(),
                    at: t(7, 0),
                };
                events += adjust_stock(&store, &restock)
                    .await
                    .expect("a restock")
                    .1
                    .len();
                let key = booking_core::ApiKey {
                    id: booking_core::ApiKeyId::generate(),
                    tenant_id: c.tenant,
                    role: booking_core::Role::Viewer,
                    actor: c.actor.clone(),
                    created_at: t(7, 0),
                    expires_at: None,
                    revoked_at: None,
                };
                let hash = booking_core::KeyHash::of_secret(&booking_core::new_secret());
                events += engine::insert_api_key(&*store, &key, &hash, &c.by)
                    .await
                    .expect("a key")
                    .len();
            }
            events
        })
    });
    let mut written = 0;
    for w in join_all(bookers.chain(editors)).await {
        written += w.expect("writer");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.expect("reader");
    let all = all_events(&stores[0], &c).await;
    assert_eq!(seen.len(), all.len());
    assert_eq!(
        all.len(),
        usize::try_from(setup).expect("small") + written,
        "the setup's events, then every write's"
    );
    assert_eq!(
        written,
        200 + 2 * 10 * 4,
        "one event per booking, four per editor round"
    );
    assert_invariants(&stores[0], &c, t(8, 0)).await;
}

/// Sweepers on every handle race to expire the same 20 stale holds (ten
/// of them keeping a kit each), as one sweeper per node does: every hold is
/// expired exactly once, with one `ReservationExpired` event, every kit
/// comes back exactly once, and every invariant holds.
///
/// # Panics
/// On any other outcome.
pub async fn concurrent_sweepers_expire_each_hold_once(stores: &[Store]) {
    let c = Clinic::setup(&*stores[0]).await;
    for i in 0..20 {
        let mut h = c.draft(c.dentist, c.madrid, slot(i * 30, 30));
        if i % 2 == 0 {
            h = c.with_kits(h, 1);
        }
        h.status = Status::Held;
        h.hold_expires_at = Some(t(7, 30));
        apply(&stores[0], c.create(h)).await.expect("a hold");
    }
    assert_eq!(stock(&stores[0], &c, c.madrid).await, 0);
    let now = t(8, 0);
    let sweepers = (0..3 * stores.len()).map(|i| {
        let store = Arc::clone(&stores[i % stores.len()]);
        tokio::spawn(async move {
            let mut expired = 0usize;
            loop {
                let stale = store.stale_holds(now, 4).await.expect("stale holds");
                if stale.is_empty() {
                    return expired;
                }
                for hold in stale {
                    let write = ReservationWrite {
                        reservation: engine::rules::expired(&hold, now),
                        expected_version: Some(hold.version),
                        kind: ReservationEventKind::Expired,
                        by: booking_core::Attribution::system(),
                        at: now,
                        hold_quota: None,
                    };
                    match apply(&store, write).await {
                        Ok(_) => expired += 1,
                        Err(ApplyError::StaleVersion(_) | ApplyError::InvalidTransition(_)) => {}
                        Err(e) => panic!("a sweeper failed: {e}"),
                    }
                }
            }
        })
    });
    let expired: usize = join_all(sweepers)
        .await
        .into_iter()
        .map(|r| r.expect("sweeper task"))
        .sum();
    assert_eq!(expired, 20, "each hold expired by exactly one sweeper");
    let events = all_events(&stores[0], &c).await;
    let mut ids: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::ReservationExpired(change) => Some(change.after.id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "one expiry event per hold");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.type_name() == "ReservationExpired")
            .count(),
        20
    );
    assert_eq!(
        stock(&stores[0], &c, c.madrid).await,
        10,
        "every kit back once"
    );
    assert_invariants(&stores[0], &c, now).await;
}

/// A booking with a product and the deletion of what it needs (its stock
/// record at the branch, or the product itself, in turn), raced over two
/// handles: one of them wins. Either the booking is made and the deletion
/// refused as in use, or the deletion is made and the booking refused as
/// not found; never a line whose stock record is gone.
///
/// # Panics
/// If both succeed, or on any other outcome.
pub async fn a_deletion_racing_a_booking_never_orphans_a_line(stores: &[Store], rounds: i64) {
    use booking_core::{CatalogError, Product, ProductBranch, ProductLine, StockKey};
    let c = Clinic::setup(&*stores[0]).await;
    let other = &stores[1 % stores.len()];
    let (mut booked, mut deleted) = (0, 0);
    for round in 0..rounds {
        let product = ProductId::generate();
        put(
            &stores[0],
            &c,
            CatalogRecord::Product(Product {
                id: product,
                tenant_id: c.tenant,
                name: Name::new(&format!("Kit {round}")).unwrap(),
                price: Money::from_code(100, "EUR").unwrap(),
            }),
            PutMode::Create,
        )
        .await
        .expect("a new product");
        put(
            &stores[0],
            &c,
            CatalogRecord::Stock(ProductBranch {
                tenant_id: c.tenant,
                product_id: product,
                branch_id: c.madrid,
                stock: 5,
                price: None,
            }),
            PutMode::Upsert,
        )
        .await
        .expect("its stock");
        let key = if round % 2 == 0 {
            CatalogKey::Stock(StockKey {
                product_id: product,
                branch_id: c.madrid,
            })
        } else {
            CatalogKey::Product(product)
        };
        let mut draft = c.draft(c.chair, c.madrid, slot(round * 30, 30));
        draft.lines = vec![ProductLine {
            product_id: product,
            quantity: Quantity::new(1).unwrap(),
        }];
        let booking = {
            let (store, w) = (Arc::clone(&stores[0]), c.create(draft));
            tokio::spawn(async move { apply(&store, w).await })
        };
        let deletion = {
            let (store, c) = (Arc::clone(other), c.clone());
            // Started a little later each round, so that it lands before,
            // during and after the booking's transaction.
            let lag = std::time::Duration::from_micros(u64::try_from(round % 10).unwrap() * 400);
            tokio::spawn(async move {
                tokio::time::sleep(lag).await;
                delete(&store, &c, key).await
            })
        };
        match (booking.await.expect("task"), deletion.await.expect("task")) {
            (Ok(_), Err(CatalogError::InUse(_))) => booked += 1,
            (Err(ApplyError::NotFound(_)), Ok(_)) => deleted += 1,
            (b, d) => panic!("round {round}: booking {b:?}, deletion {d:?}"),
        }
    }
    assert_eq!(booked + deleted, rounds);
    assert_invariants(&stores[0], &c, t(8, 0)).await;
}

/// Runs every race case as its own `#[tokio::test]` against the store
/// handles built by `$make` (an expression evaluating to a future of
/// `Vec<Arc<dyn BookingStore>>`: several handles on one fresh database,
/// evaluated afresh for each case).
#[macro_export]
macro_rules! store_race_tests {
    ($make:expr) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_hundred_creates_of_one_slot_admit_exactly_one() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::one_slot_race(&stores, 200).await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_hundred_orders_never_oversell() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::orders_never_oversell(&stores).await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn batches_racing_never_double_book_or_oversell() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::batches_racing_never_double_book_or_oversell(&stores).await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn cancel_racing_a_create_never_leaves_two_active() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::cancel_racing_a_create_never_leaves_two_active(&stores, 300)
                .await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_bookings_and_catalog_writes_number_events_gaplessly() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::mixed_writers_number_events_gaplessly(&stores).await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_deletion_racing_a_booking_never_orphans_a_line() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::a_deletion_racing_a_booking_never_orphans_a_line(&stores, 100)
                .await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_sweepers_expire_each_hold_once() {
            let stores: ::std::vec::Vec<::std::sync::Arc<dyn $crate::BookingStore>> = $make.await;
            $crate::contract::store::concurrent_sweepers_expire_each_hold_once(&stores).await;
        }
    };
}
