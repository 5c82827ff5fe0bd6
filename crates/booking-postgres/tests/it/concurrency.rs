//! Concurrency against the store alone (no lock), across several pools: the
//! database by itself refuses every double booking and every oversell.

use std::sync::Arc;

use booking_core::{
    ApplyError, BookingStore, Name, RangeLimits, Resource, ResourceBranch, ResourceId,
    ResourceKind, Schedule, Seq, TimeRange,
};
use booking_postgres::PgStore;
use booking_testkit::fixture::{Clinic, t};
use booking_testkit::invariants::check_store;
use chrono::Duration;
use futures::future::join_all;

use crate::db::{fresh_pool, pool_on};

/// One database, `pools` independent pools on it (as several server nodes).
async fn stores(pools: usize) -> Vec<Arc<dyn BookingStore>> {
    let (first, name) = fresh_pool(10).await;
    let mut out: Vec<Arc<dyn BookingStore>> = vec![Arc::new(PgStore::from_pool(first))];
    for _ in 1..pools {
        out.push(Arc::new(PgStore::from_pool(pool_on(&name, 10).await)));
    }
    out
}

fn slot(minutes_from_ten: i64, len: i64) -> TimeRange {
    let start = t(10, 0) + Duration::minutes(minutes_from_ten);
    TimeRange::new(
        start,
        start + Duration::minutes(len),
        &RangeLimits::bookings(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_for_one_slot_create_exactly_one() {
    booking_testkit::contract::store::one_slot_race(&stores(4).await, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_orders_never_oversell() {
    let stores = stores(4).await;
    let c = Clinic::setup(&*stores[0]).await;
    // 20 extra chairs at Madrid, so orders compete for stock, not slots.
    let mut chairs = Vec::new();
    for i in 0..20 {
        let id = ResourceId::generate();
        stores[0]
            .put_resource(&Resource {
                id,
                tenant_id: c.tenant,
                name: Name::new(&format!("Chair {i}")).unwrap(),
                kind: ResourceKind::Room,
            })
            .await
            .unwrap();
        stores[0]
            .put_resource_branch(&ResourceBranch {
                tenant_id: c.tenant,
                resource_id: id,
                branch_id: c.madrid,
                schedule: Schedule::unrestricted(),
            })
            .await
            .unwrap();
        chairs.push(id);
    }
    let tasks = (0..200usize).map(|i| {
        let store = Arc::clone(&stores[i % stores.len()]);
        let qty = i64::try_from(i % 3 + 1).unwrap();
        let when = slot(i64::try_from(i / 20).unwrap() * 30, 30);
        let w = c.create(c.with_kits(c.draft(chairs[i % 20], c.madrid, when), qty));
        tokio::spawn(async move { (qty, store.apply(w).await) })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
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
    assert!(
        (8..=10).contains(&sold),
        "sold {sold} of 10 (every unit that fits an order sells)"
    );
    let left = stores[0]
        .product_branch(c.tenant, c.kit, c.madrid)
        .await
        .unwrap()
        .unwrap()
        .stock;
    assert_eq!(i64::from(left), 10 - sold, "stock + sold is conserved");
    check_store(&*stores[0], c.tenant, t(8, 0)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_racing_a_create_on_the_same_slot_never_leaves_two_active() {
    let stores = stores(2).await;
    let c = Clinic::setup(&*stores[0]).await;
    let (mut won, mut lost) = (0, 0);
    for round in 0..500i64 {
        let when = slot(round * 30, 30);
        let x = stores[0]
            .apply(c.create(c.draft(c.dentist, c.madrid, when)))
            .await
            .unwrap()
            .reservation;
        let cancel = {
            let (store, w) = (Arc::clone(&stores[0]), c.cancel(&x, t(8, 0)));
            tokio::spawn(async move { store.apply(w).await })
        };
        let create = {
            let (store, w) = (
                Arc::clone(&stores[1]),
                c.create(c.draft(c.dentist, c.madrid, when)),
            );
            tokio::spawn(async move { store.apply(w).await })
        };
        cancel.await.unwrap().expect("the cancel always succeeds");
        match create.await.unwrap() {
            Ok(_) => won += 1,
            Err(ApplyError::SlotTaken(_)) => lost += 1,
            Err(e) => panic!("round {round}: unexpected {e:?}"),
        }
    }
    assert_eq!(won + lost, 500);
    check_store(&*stores[0], c.tenant, t(8, 0)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_number_events_gaplessly_and_a_polling_reader_misses_none() {
    let stores = stores(4).await;
    let c = Clinic::setup(&*stores[0]).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done, tenant) = (Arc::clone(&stores[0]), Arc::clone(&done), c.tenant);
        tokio::spawn(async move {
            let mut seen: Vec<u64> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let after = seen.last().copied().map_or(Seq::ZERO, Seq);
                let page = store.events_since(tenant, after, 50).await.unwrap();
                for e in &page {
                    // Strictly the next number: a skipped one is a missed event.
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
            }
        })
    };
    let writers = (0..8usize).map(|w| {
        let store = Arc::clone(&stores[w % stores.len()]);
        let c = c.clone();
        tokio::spawn(async move {
            for i in 0..25i64 {
                let when = slot((i64::try_from(w).unwrap() * 25 + i) * 30, 30);
                let resource = if w % 2 == 0 { c.dentist } else { c.chair };
                store
                    .apply(c.create(c.draft(resource, c.madrid, when)))
                    .await
                    .expect("distinct slots");
            }
        })
    });
    for w in join_all(writers).await {
        w.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all = stores[0]
        .events_since(c.tenant, Seq::ZERO, 10_000)
        .await
        .unwrap();
    assert_eq!(seen.len(), all.len());
    assert_eq!(
        all.len(),
        2 + 200,
        "two stock sets, then one event per booking"
    );
    check_store(&*stores[0], c.tenant, t(8, 0)).await.unwrap();
}
