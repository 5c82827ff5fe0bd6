//! The Valkey lock inside the booking flow, with a real PostgreSQL store
//! and a real valkey-server.

use std::sync::Arc;
use std::time::Duration;

use booking_core::engine::apply;
use booking_core::{
    ApplyError, BookingPolicy, BookingService, CreateError, LockKey, LockRequest, LockService,
    NewReservation, Ports, RangeLimits, ReservationQuery, ReservationStore, Services, SystemClock,
    TimeRange,
};
use booking_memory::InMemoryBroadcaster;
use booking_postgres::PgStore;
use booking_test_services::valkey::ValkeyServer;
use booking_testkit::fixture::{Clinic, range, t};
use booking_testkit::invariants::check_store;
use booking_valkey_lock::{ValkeyLockSettings, ValkeyLocks};
use chrono::Duration as ChronoDuration;
use futures::future::join_all;

async fn pg_store() -> Arc<PgStore> {
    let (pool, _) =
        booking_test_services::postgres::scratch_database(&booking_postgres::MIGRATOR, 10).await;
    Arc::new(PgStore::from_pool(pool))
}

async fn locks_on(server: &ValkeyServer) -> ValkeyLocks {
    let locks = ValkeyLocks::connect(ValkeyLockSettings::new(server.url())).expect("a valid URL");
    assert!(
        locks.wait_connected(Duration::from_secs(5)).await,
        "connect to valkey-server"
    );
    locks
}

/// The booking use cases over `store` and `locks`.
fn bookings(store: Arc<PgStore>, locks: Arc<ValkeyLocks>, policy: BookingPolicy) -> BookingService {
    Services::new(
        Ports {
            store,
            locks,
            broadcaster: Arc::new(InMemoryBroadcaster::default()),
            clock: Arc::new(SystemClock),
        },
        policy,
    )
    .bookings()
    .clone()
}

fn request(c: &Clinic, r: TimeRange) -> NewReservation {
    NewReservation {
        id: None,
        tenant_id: c.tenant,
        branch_id: c.madrid,
        resource_id: c.dentist,
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

/// A holder that stalls past its TTL (GC, CPU starvation) after checking
/// the slot: B takes the lock and books; when A resumes and writes, the
/// store refuses it. Exactly one booking exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_paused_past_its_ttl_is_refused_by_the_store() {
    let server = ValkeyServer::start();
    let locks = Arc::new(locks_on(&server).await);
    let store = pg_store().await;
    let c = Clinic::setup(&*store).await;
    let slot = range((10, 0), (11, 0));

    // A: takes the lock with a short TTL and sees the slot free...
    let a_lock = locks
        .acquire(&LockRequest::new(
            vec![LockKey::resource(c.tenant, c.dentist)],
            Duration::from_millis(300),
            Duration::ZERO,
        ))
        .await
        .expect("A gets the lock");
    let free = store
        .reservations(c.tenant, &ReservationQuery::default())
        .await
        .unwrap();
    assert!(free.is_empty(), "A sees the slot free");
    // ...then stalls past its TTL.
    tokio::time::sleep(Duration::from_millis(600)).await;

    // B: the whole booking flow, through the Valkey lock.
    let service = bookings(store.clone(), locks.clone(), BookingPolicy::default());
    let b = service
        .create(request(&c, slot))
        .await
        .expect("B books once A's lock expired");
    assert!(!b.degraded, "B held the lock");

    // A resumes and writes what it checked: the store refuses it.
    let a_write = apply(&*store, c.create(c.draft(c.dentist, c.madrid, slot))).await;
    match a_write {
        Err(ApplyError::SlotTaken(taken)) => assert_eq!(taken.conflicting, b.reservation.id),
        other => panic!("A's late write must be refused as slot taken, got {other:?}"),
    }
    assert!(
        !locks.release(&a_lock).await.unwrap(),
        "A no longer holds the lock"
    );
    let all = store
        .reservations(c.tenant, &ReservationQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "exactly one booking");
    check_store(&*store, c.tenant, t(7, 0)).await.unwrap();
}

/// 100 concurrent requests for 100 disjoint slots of one resource all wait
/// their turn and succeed: a busy lock is never a false conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_resource_serves_100_concurrent_bookings_of_disjoint_slots() {
    let server = ValkeyServer::start();
    let locks = Arc::new(locks_on(&server).await);
    let store = pg_store().await;
    let c = Clinic::setup(&*store).await;
    let service = bookings(
        store.clone(),
        locks,
        BookingPolicy {
            lock_wait: Duration::from_secs(20),
            ..BookingPolicy::default()
        },
    );
    let tasks = (0..100i64).map(|i| {
        let (service, c) = (service.clone(), c.clone());
        tokio::spawn(async move {
            let start = t(0, 0) + ChronoDuration::minutes(i * 10);
            let slot = TimeRange::new(
                start,
                start + ChronoDuration::minutes(10),
                &RangeLimits::bookings(),
            )
            .unwrap();
            service.create(request(&c, slot)).await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let failures: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|b| !b.degraded))
    );
    check_store(&*store, c.tenant, t(7, 0)).await.unwrap();
}

/// With Valkey down, bookings go on through the store alone, reported as
/// degraded, and the store still refuses a double booking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_valkey_down_bookings_continue_degraded_and_stay_correct() {
    let mut server = ValkeyServer::start();
    let locks = Arc::new(locks_on(&server).await);
    server.kill();
    let store = pg_store().await;
    let c = Clinic::setup(&*store).await;
    let service = bookings(store.clone(), locks, BookingPolicy::default());
    let booked = service
        .create(request(&c, range((10, 0), (11, 0))))
        .await
        .unwrap();
    assert!(booked.degraded);
    let rival = service.create(request(&c, range((10, 30), (11, 30)))).await;
    assert!(
        matches!(rival, Err(CreateError::SlotTaken(_))),
        "got {rival:?}"
    );
}
