//! The lock port's contract. Every case takes a lock service and uses keys
//! of a fresh tenant, so cases may share one backend. Run them all with
//! [`crate::lock_contract_tests!`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use booking_core::{LockError, LockKey, LockRequest, LockService, ResourceId, TenantId};
use futures::future::join_all;

type Locks = Arc<dyn LockService>;

fn key() -> LockKey {
    LockKey::resource(TenantId::generate(), ResourceId::generate())
}

fn req(keys: Vec<LockKey>, ttl_ms: u64, wait_ms: u64) -> LockRequest {
    LockRequest::new(
        keys,
        Duration::from_millis(ttl_ms),
        Duration::from_millis(wait_ms),
    )
}

/// 50 tasks doing a non-atomic read-modify-write under the lock lose no
/// update.
pub async fn the_lock_gives_mutual_exclusion(locks: Locks) {
    let k = key();
    let counter = Arc::new(AtomicU64::new(0));
    let tasks = (0..50).map(|_| {
        let (locks, counter, k) = (Arc::clone(&locks), Arc::clone(&counter), k.clone());
        tokio::spawn(async move {
            let guard = locks
                .acquire(&req(vec![k], 10_000, 30_000))
                .await
                .expect("acquire");
            let seen = counter.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
            counter.store(seen + 1, Ordering::SeqCst);
            assert!(
                locks.release(&guard).await.expect("release"),
                "still the holder"
            );
        })
    });
    for t in join_all(tasks).await {
        t.expect("task");
    }
    assert_eq!(counter.load(Ordering::SeqCst), 50);
}

/// Acquiring {A, B} while B is held fails as a whole and leaves A free.
pub async fn multi_key_acquisition_is_all_or_nothing(locks: Locks) {
    let (a, b) = (key(), key());
    let held_b = locks
        .acquire(&req(vec![b.clone()], 10_000, 0))
        .await
        .expect("B");
    let both = locks.acquire(&req(vec![a.clone(), b], 10_000, 100)).await;
    assert!(matches!(both, Err(LockError::Busy { .. })), "got {both:?}");
    let only_a = locks.acquire(&req(vec![a], 10_000, 0)).await;
    assert!(only_a.is_ok(), "A must be free, got {only_a:?}");
    locks.release(&held_b).await.unwrap();
    locks.release(&only_a.unwrap()).await.unwrap();
}

/// A busy key is reported as busy once the wait deadline passes — not as
/// an error, and not only when the holder's TTL runs out.
pub async fn busy_is_reported_at_the_deadline(locks: Locks) {
    let k = key();
    let holder = locks
        .acquire(&req(vec![k.clone()], 60_000, 0))
        .await
        .unwrap();
    let started = Instant::now();
    let result = locks.acquire(&req(vec![k], 60_000, 300)).await;
    let elapsed = started.elapsed();
    match result {
        Err(LockError::Busy { waited }) => assert!(waited >= Duration::from_millis(300)),
        other => panic!("expected busy, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(300),
        "gave up early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "waited for the holder's TTL instead of the deadline: {elapsed:?}"
    );
    locks.release(&holder).await.unwrap();
}

/// A waiter gets the key soon after the holder releases it.
pub async fn a_waiter_gets_the_lock_after_release(locks: Locks) {
    let k = key();
    let holder = locks
        .acquire(&req(vec![k.clone()], 10_000, 0))
        .await
        .unwrap();
    let waiter = {
        let (locks, k) = (Arc::clone(&locks), k.clone());
        tokio::spawn(async move { locks.acquire(&req(vec![k], 10_000, 5_000)).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(locks.release(&holder).await.unwrap());
    let guard = waiter.await.unwrap().expect("the waiter gets the lock");
    assert!(
        guard.waited >= Duration::from_millis(100),
        "waited {:?}",
        guard.waited
    );
    locks.release(&guard).await.unwrap();
}

/// A holder that goes away midway (its request was dropped) releases in
/// the background: the next taker gets the keys long before their TTL.
pub async fn a_detached_release_frees_the_keys(locks: Locks) {
    let (a, b) = (key(), key());
    let gone = locks
        .acquire(&req(vec![a.clone(), b.clone()], 60_000, 0))
        .await
        .unwrap();
    locks.release_detached(gone);
    let next = locks
        .acquire(&req(vec![a, b], 60_000, 10_000))
        .await
        .expect("the keys are free well before their 60 s TTL");
    locks.release(&next).await.unwrap();
}

/// A holder that never releases (crashed) blocks others only for its TTL.
pub async fn a_crashed_holders_lock_frees_after_its_ttl(locks: Locks) {
    let k = key();
    let _crashed = locks.acquire(&req(vec![k.clone()], 300, 0)).await.unwrap();
    let started = Instant::now();
    let next = locks
        .acquire(&req(vec![k], 10_000, 5_000))
        .await
        .expect("frees after TTL");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "TTL not respected"
    );
    locks.release(&next).await.unwrap();
}

/// A holder whose TTL ran out can neither release nor extend the lock of
/// the next holder.
pub async fn an_expired_holder_cannot_release_or_extend_the_next_holders_lock(locks: Locks) {
    let k = key();
    let old = locks.acquire(&req(vec![k.clone()], 200, 0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let new = locks
        .acquire(&req(vec![k.clone()], 10_000, 0))
        .await
        .expect("old one expired");
    assert!(
        !locks.release(&old).await.unwrap(),
        "expired holder released"
    );
    assert!(
        !locks.extend(&old, Duration::from_secs(10)).await.unwrap(),
        "expired holder extended"
    );
    let third = locks.acquire(&req(vec![k], 10_000, 0)).await;
    assert!(
        matches!(third, Err(LockError::Busy { .. })),
        "new holder lost the lock: {third:?}"
    );
    assert!(locks.release(&new).await.unwrap());
}

/// Extending pushes the expiry out for the holder.
pub async fn extending_keeps_the_lock(locks: Locks) {
    let k = key();
    let guard = locks.acquire(&req(vec![k.clone()], 300, 0)).await.unwrap();
    assert!(locks.extend(&guard, Duration::from_secs(10)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let other = locks.acquire(&req(vec![k], 10_000, 0)).await;
    assert!(
        matches!(other, Err(LockError::Busy { .. })),
        "extension lost: {other:?}"
    );
    assert!(locks.release(&guard).await.unwrap());
}

/// Different keys never wait for each other.
pub async fn distinct_keys_do_not_block_each_other(locks: Locks) {
    let held = locks.acquire(&req(vec![key()], 10_000, 0)).await.unwrap();
    let other = locks.acquire(&req(vec![key(), key()], 10_000, 0)).await;
    assert!(other.is_ok(), "got {other:?}");
    locks.release(&held).await.unwrap();
    locks.release(&other.unwrap()).await.unwrap();
}

/// Runs every lock contract case as its own `#[tokio::test]` against the
/// service built by `$make` (an expression evaluating to a future of
/// `Arc<dyn LockService>`). The calling crate needs `tokio` as a
/// dev-dependency.
#[macro_export]
macro_rules! lock_contract_tests {
    ($make:expr) => {
        $crate::lock_contract_tests!(@cases $make;
            the_lock_gives_mutual_exclusion,
            multi_key_acquisition_is_all_or_nothing,
            busy_is_reported_at_the_deadline,
            a_waiter_gets_the_lock_after_release,
            a_detached_release_frees_the_keys,
            a_crashed_holders_lock_frees_after_its_ttl,
            an_expired_holder_cannot_release_or_extend_the_next_holders_lock,
            extending_keeps_the_lock,
            distinct_keys_do_not_block_each_other,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let locks: ::std::sync::Arc<dyn $crate::LockService> = $make.await;
                $crate::contract::lock::$case(locks).await;
            }
        )*
    };
}
