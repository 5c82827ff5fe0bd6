//! Valkey going away and coming back.

use std::time::{Duration, Instant};

use booking_core::{LockError, LockKey, LockRequest, LockService, ResourceId, TenantId};

use crate::server::{ValkeyServer, locks_on};

fn request() -> LockRequest {
    LockRequest::new(
        vec![LockKey::resource(
            TenantId::generate(),
            ResourceId::generate(),
        )],
        Duration::from_secs(30),
        Duration::from_secs(2),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_valkey_answers_unavailable_within_the_bound_and_a_restarted_one_works_again() {
    let mut server = ValkeyServer::start();
    let locks = locks_on(&server).await;
    let guard = locks
        .acquire(&request())
        .await
        .expect("works while Valkey is up");
    locks.release(&guard).await.unwrap();

    server.kill();
    for _ in 0..5 {
        let started = Instant::now();
        let result = locks.acquire(&request()).await;
        let took = started.elapsed();
        assert!(
            matches!(result, Err(LockError::Unavailable(_))),
            "got {result:?}"
        );
        // Bounded (250 ms configured), never hung; the slack is for a loaded
        // 2-core machine, not a latency goal.
        assert!(took < Duration::from_secs(2), "unavailable took {took:?}");
    }
    assert!(matches!(
        locks.release(&guard).await,
        Err(LockError::Unavailable(_))
    ));

    // Same port, same client: it reconnects by itself.
    server.restart();
    let started = Instant::now();
    loop {
        match locks.acquire(&request()).await {
            Ok(guard) => {
                assert!(locks.release(&guard).await.unwrap());
                break;
            }
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(15),
                "the client did not come back within 15 s: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_client_started_while_valkey_is_down_reports_unavailable_then_connects_later() {
    let mut server = ValkeyServer::start();
    server.kill(); // nothing listens on its port now
    let locks = booking_valkey_lock::ValkeyLocks::connect(
        booking_valkey_lock::ValkeyLockSettings::new(server.url()),
    )
    .expect("construction never needs Valkey");
    let started = Instant::now();
    assert!(matches!(
        locks.acquire(&request()).await,
        Err(LockError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded, not hung"
    );
    server.restart();
    assert!(
        locks.wait_connected(Duration::from_secs(15)).await,
        "connects once Valkey is up"
    );
    let guard = locks
        .acquire(&request())
        .await
        .expect("works after connecting");
    assert!(locks.release(&guard).await.unwrap());
}

/// Scripts run by SHA; after `SCRIPT FLUSH` (a restart or failover empties
/// the script cache) they are loaded again on `NOSCRIPT`.
#[tokio::test]
async fn flushed_scripts_are_reloaded() {
    use std::io::{Read, Write};
    let server = ValkeyServer::start();
    let locks = locks_on(&server).await;
    let guard = locks.acquire(&request()).await.unwrap();
    assert!(locks.release(&guard).await.unwrap());
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    raw.write_all(b"SCRIPT FLUSH\r\n").unwrap();
    let mut ok = [0u8; 5];
    raw.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    let guard = locks
        .acquire(&request())
        .await
        .expect("acquire reloads its script");
    assert!(
        locks.extend(&guard, Duration::from_secs(5)).await.unwrap(),
        "extend reloads its script"
    );
    assert!(
        locks.release(&guard).await.unwrap(),
        "release reloads its script"
    );
}
