//! What the database enforces by itself, below the store code.

use std::sync::Arc;

use booking_core::engine::apply;
use booking_core::{ApplyError, BookingStore};
use booking_postgres::PgStore;
use booking_testkit::fixture::{Clinic, range, t};
use booking_testkit::invariants::check_store;
use futures::future::join_all;
use sqlx::Executor;

use crate::db::{fresh_pool, pool_on};

/// The guarantee has teeth: without the exclusion constraint, racing
/// writers do double-book (the store's own check runs under READ COMMITTED
/// and cannot see uncommitted rivals), and the invariant checker says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_exclusion_constraint_racing_writers_double_book() {
    let (pool, name) = fresh_pool(10).await;
    pool.execute("ALTER TABLE reservations DROP CONSTRAINT reservations_no_overlap")
        .await
        .unwrap();
    let mut stores: Vec<Arc<dyn BookingStore>> = vec![Arc::new(PgStore::from_pool(pool))];
    for _ in 0..3 {
        stores.push(Arc::new(PgStore::from_pool(pool_on(&name, 10).await)));
    }
    let c = Clinic::setup(&*stores[0]).await;
    for round in 0..20u32 {
        let when = range((10 + round % 10, 0), (10 + round % 10, 30));
        let tasks = (0..50).map(|i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            let w = c.create(c.draft(c.dentist, c.madrid, when));
            tokio::spawn(async move { apply(&*store, w).await })
        });
        let created = join_all(tasks)
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(Ok(_))))
            .count();
        if created > 1 {
            let violation = check_store(&*stores[0], c.tenant, t(8, 0)).await;
            assert!(violation.is_err_and(|v| v.contains("double booking")));
            return;
        }
    }
    panic!("no double booking in 20 rounds without the constraint: the test has no teeth");
}

#[tokio::test]
async fn the_database_refuses_references_across_tenants() {
    let (pool, _) = fresh_pool(4).await;
    let store = PgStore::from_pool(pool.clone());
    let a = Clinic::setup_named(&store, "A").await;
    let b = Clinic::setup_named(&store, "B").await;
    // Link B's tenant to A's resource, bypassing the store code.
    let link = sqlx::query(
        "INSERT INTO resource_branches (tenant_id, resource_id, branch_id, schedule) VALUES ($1, $2, $3, '{}')",
    )
    .bind(b.tenant.as_uuid())
    .bind(a.dentist.as_uuid())
    .bind(b.madrid.as_uuid())
    .execute(&pool)
    .await;
    let code = link
        .unwrap_err()
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("23503"), "foreign key violation");
    // Stock of A's product at B's branch.
    let stock = sqlx::query(
        "INSERT INTO product_branches (tenant_id, product_id, branch_id, stock) VALUES ($1, $2, $3, 5)",
    )
    .bind(a.tenant.as_uuid())
    .bind(a.kit.as_uuid())
    .bind(b.madrid.as_uuid())
    .execute(&pool)
    .await;
    assert!(stock.is_err(), "A's stock at B's branch was accepted");
}

#[tokio::test]
async fn the_event_log_is_append_only() {
    let (pool, _) = fresh_pool(4).await;
    let store = PgStore::from_pool(pool.clone());
    let c = Clinic::setup(&store).await;
    apply(
        &store,
        c.create(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)))),
    )
    .await
    .unwrap();
    for sql in [
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events",
        "TRUNCATE events",
        "UPDATE event_subjects SET seq = seq + 1",
        "DELETE FROM event_subjects",
        "TRUNCATE event_subjects",
    ] {
        let refused = pool.execute(sql).await.unwrap_err();
        let code = refused.as_database_error().and_then(|e| e.code());
        assert_eq!(
            code.as_deref(),
            Some("23001"),
            "{sql}: refused as append-only, not for another reason: {refused}"
        );
    }
    check_store(&store, c.tenant, t(8, 0)).await.unwrap();
}

#[tokio::test]
async fn a_negative_stock_is_refused_by_the_database() {
    let (pool, _) = fresh_pool(4).await;
    let store = PgStore::from_pool(pool.clone());
    let c = Clinic::setup(&store).await;
    let result = sqlx::query("UPDATE product_branches SET stock = -1 WHERE product_id = $1")
        .bind(c.kit.as_uuid())
        .execute(&pool)
        .await;
    let code = result
        .unwrap_err()
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("23514"));
}

#[tokio::test]
async fn a_resource_can_only_be_booked_where_it_works_even_in_raw_sql() {
    let (pool, _) = fresh_pool(4).await;
    let store = PgStore::from_pool(pool.clone());
    let c = Clinic::setup(&store).await;
    // Through the store: a typed refusal.
    let r = apply(
        &store,
        c.create(c.draft(c.chair, c.lisbon, range((10, 0), (11, 0)))),
    )
    .await;
    assert!(matches!(r, Err(ApplyError::ResourceNotAtBranch(_))));
    // Below the store: the composite foreign key refuses it.
    let raw = sqlx::query(
        "INSERT INTO reservations (id, tenant_id, branch_id, resource_id, starts_at, ends_at,
             buffer_before_minutes, buffer_after_minutes, occupied, lines, price, status, version,
             created_by, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, '2030-01-07 10:00Z', '2030-01-07 11:00Z', 0, 0,
             tstzrange('2030-01-07 10:00Z', '2030-01-07 11:00Z'), '[]', '{}', 'confirmed', 1,
             'raw', now(), now())",
    )
    .bind(c.tenant.as_uuid())
    .bind(c.lisbon.as_uuid())
    .bind(c.chair.as_uuid())
    .execute(&pool)
    .await;
    let err = raw.unwrap_err();
    let db = err.as_database_error().expect("a database error");
    assert_eq!(db.constraint(), Some("reservations_resource_at_branch"));
}

/// A rival row that does not decode is an error, never a free slot: the
/// write is refused as a store failure and nothing is written.
#[tokio::test]
async fn a_corrupt_rival_is_an_error_not_a_free_slot() {
    let (pool, _) = fresh_pool(4).await;
    let store = PgStore::from_pool(pool.clone());
    let c = Clinic::setup(&store).await;
    apply(
        &store,
        c.create(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)))),
    )
    .await
    .unwrap();
    // An actor the domain refuses (empty), written behind the store's back.
    pool.execute("UPDATE reservations SET created_by = ''")
        .await
        .unwrap();
    let rival = apply(
        &store,
        c.create(c.draft(c.dentist, c.madrid, range((10, 30), (11, 30)))),
    )
    .await;
    assert!(
        matches!(
            rival,
            Err(ApplyError::Store(booking_core::StoreError::Internal(ref m))) if m.contains("corrupt")
        ),
        "got {rival:?}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "nothing written");
}
