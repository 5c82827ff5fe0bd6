//! The schema's backstops below the store code. (The races, over two
//! handles on one file, are in `contract.rs`.)

use booking_core::CatalogStore;
use booking_core::engine::apply;
use booking_testkit::fixture::{Clinic, range, t};
use booking_testkit::invariants::check_store;

use crate::db::{fresh_path, open};

#[tokio::test]
async fn the_overlap_trigger_refuses_a_double_booking_written_behind_the_stores_back() {
    let path = fresh_path();
    let store = open(&path).await;
    let c = Clinic::setup(&*store).await;
    let first = apply(
        &*store,
        c.create(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)))),
    )
    .await
    .unwrap()
    .reservation;
    // Copy the row under a new id: same resource, same time, active.
    let copy = sqlx::query(
        "INSERT INTO reservations SELECT randomblob(16), tenant_id, branch_id, resource_id, service_id,
             starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied_start,
             occupied_end, lines, price, status, hold_expires_at, note, version, created_by,
             created_at, updated_at, created_by_key
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
             created_at, updated_at, created_by_key
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
    apply(
        &*store,
        a.create(a.draft(a.dentist, a.madrid, range((10, 0), (11, 0)))),
    )
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
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events",
        "UPDATE event_subjects SET seq = seq + 1",
        "DELETE FROM event_subjects",
    ] {
        let refused = sqlx::query(sql).execute(pool).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: refused as append-only, not for another reason: {refused}"
        );
    }
    assert!(store.branch(b.tenant, a.madrid).await.is_err());
    check_store(&*store, a.tenant, t(8, 0)).await.unwrap();
}
