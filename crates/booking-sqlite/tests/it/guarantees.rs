//! The guarantees under concurrency (no lock), across two store instances
//! on one file (as two processes would share it), and the schema's
//! backstops below the store code.

use std::sync::Arc;

use booking_core::{ApplyError, BookingStore, CatalogStore, ReservationStore};
use booking_testkit::fixture::{Clinic, range, t};
use booking_testkit::invariants::check_store;
use futures::future::join_all;

use crate::db::{fresh_path, open};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_over_two_connections_create_exactly_one() {
    let path = fresh_path();
    let stores: Vec<Arc<dyn BookingStore>> = vec![open(&path).await, open(&path).await];
    booking_testkit::contract::store::one_slot_race(&stores, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_orders_never_oversell() {
    let path = fresh_path();
    let stores: Vec<Arc<dyn BookingStore>> = vec![open(&path).await, open(&path).await];
    let c = Clinic::setup(&*stores[0]).await;
    let tasks = (0..200u32).map(|i| {
        let store = Arc::clone(&stores[usize::try_from(i).unwrap() % 2]);
        let qty = i64::from(i % 3 + 1);
        let hour = 8 + i / 20;
        let minute = (i % 20) * 3;
        let when = range((hour, minute), (hour, minute + 3));
        let resource = if i % 2 == 0 { c.dentist } else { c.chair };
        let w = c.create(c.with_kits(c.draft(resource, c.madrid, when), qty));
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
    assert!(sold <= 10, "sold {sold} of 10");
    let left = stores[0]
        .product_branch(c.tenant, c.kit, c.madrid)
        .await
        .unwrap()
        .unwrap()
        .stock;
    assert_eq!(i64::from(left), 10 - sold);
    check_store(&*stores[0], c.tenant, t(8, 0)).await.unwrap();
}

#[tokio::test]
async fn the_overlap_trigger_refuses_a_double_booking_written_behind_the_stores_back() {
    let path = fresh_path();
    let store = open(&path).await;
    let c = Clinic::setup(&*store).await;
    let first = store
        .apply(c.create(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)))))
        .await
        .unwrap()
        .reservation;
    // Copy the row under a new id: same resource, same time, active.
    let copy = sqlx::query(
        "INSERT INTO reservations SELECT randomblob(16), tenant_id, branch_id, resource_id, service_id,
             starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied_start,
             occupied_end, lines, price, status, hold_expires_at, note, version, created_by,
             created_at, updated_at
         FROM reservations WHERE id = ?",
    )
    .bind(first.id.as_uuid())
    .execute(store.writer())
    .await;
    let err = copy.expect_err("the trigger must refuse the overlap");
    assert!(err.to_string().contains("reservations_no_overlap"), "{err}");
    // A cancelled copy is fine: only active reservations block.
    sqlx::query(
        "INSERT INTO reservations SELECT randomblob(16), tenant_id, branch_id, resource_id, service_id,
             starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied_start,
             occupied_end, lines, price, 'cancelled', NULL, note, version, created_by,
             created_at, updated_at
         FROM reservations WHERE id = ?",
    )
    .bind(first.id.as_uuid())
    .execute(store.writer())
    .await
    .expect("a cancelled copy does not overlap anything active");
}

#[tokio::test]
async fn the_database_refuses_negative_stock_foreign_references_and_log_edits() {
    let store = open(&fresh_path()).await;
    let a = Clinic::setup_named(&*store, "A").await;
    let b = Clinic::setup_named(&*store, "B").await;
    store
        .apply(a.create(a.draft(a.dentist, a.madrid, range((10, 0), (11, 0)))))
        .await
        .unwrap();
    let pool = store.writer();
    let negative = sqlx::query("UPDATE product_branches SET stock = -1 WHERE product_id = ?")
        .bind(a.kit.as_uuid())
        .execute(pool)
        .await;
    assert!(negative.is_err(), "negative stock accepted");
    let cross = sqlx::query("INSERT INTO resource_branches (tenant_id, resource_id, branch_id, schedule) VALUES (?, ?, ?, '{}')")
        .bind(b.tenant.as_uuid())
        .bind(a.dentist.as_uuid())
        .bind(b.madrid.as_uuid())
        .execute(pool)
        .await;
    assert!(cross.is_err(), "a link across tenants was accepted");
    for sql in [
        "UPDATE reservation_events SET actor = 'mallory'",
        "DELETE FROM reservation_events",
    ] {
        assert!(
            sqlx::query(sql).execute(pool).await.is_err(),
            "{sql} was allowed"
        );
    }
    assert!(store.branch(b.tenant, a.madrid).await.is_err());
    check_store(&*store, a.tenant, t(8, 0)).await.unwrap();
}
