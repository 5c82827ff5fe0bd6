//! A PostgreSQL cluster of the caller's own — `initdb` into a fresh
//! directory, a postmaster on a free loopback port — for faults that must
//! not touch the machine's shared server: stopping it the way a crash does
//! (`pg_ctl stop -m immediate`, no shutdown checkpoint, crash recovery on
//! the next start) and starting it again on the same port and data.
//!
//! The binaries come from `BOOKING_PG_BINDIR`, else the newest
//! `/usr/lib/postgresql/*/bin` (Debian's layout). PostgreSQL refuses to run
//! as root, so under root every command runs as the `postgres` user
//! (`runuser`), which Debian's server package creates.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running cluster, stopped and deleted when dropped.
#[derive(Debug)]
pub struct PgCluster {
    bindir: PathBuf,
    dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    as_postgres: bool,
    tls: bool,
}

fn bindir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("BOOKING_PG_BINDIR") {
        return Ok(dir.into());
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e})"))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "no initdb under /usr/lib/postgresql/*/bin: install Debian's postgresql package or set \
         BOOKING_PG_BINDIR"
            .to_owned()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgCluster {
    /// Creates and starts a cluster (trust authentication, user
    /// `postgres`, `fsync` off: a crash of the postmaster still keeps what
    /// the kernel holds).
    ///
    /// # Errors
    /// When the binaries are missing or the cluster does not start, with
    /// what to do about it.
    pub fn start() -> Result<Self, String> {
        Self::start_with(false)
    }

    /// [`PgCluster::start`], serving TLS with a self-signed certificate
    /// for `127.0.0.1` and `localhost` made for it ([`PgCluster::certificate`]:
    /// trust it with `sslrootcert=` and `sslmode=verify-full`).
    ///
    /// # Errors
    /// As [`PgCluster::start`], and when `openssl` is missing.
    pub fn start_tls() -> Result<Self, String> {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Result<Self, String> {
        let bindir = bindir()?;
        let as_postgres = is_root();
        let dir =
            std::env::temp_dir().join(format!("booking-pg-{}", uuid::Uuid::new_v4().simple()));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let cluster = Self {
            bindir,
            dir,
            port,
            as_postgres,
            tls,
        };
        cluster.run("mkdir", &["-m", "700", "-p", &cluster.data()])?;
        cluster.run(
            &cluster.bin("initdb"),
            &[
                "-D",
                &cluster.data(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        if tls {
            // Made by the server's user, so its key is its own and 0600, as
            // PostgreSQL demands.
            let (cert, key) = (cluster.certificate(), cluster.dir.join("server.key"));
            let args = crate::tls::self_signed_args(&cert, &key);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cluster.run("openssl", &args)?;
        }
        cluster.start_again()?;
        Ok(cluster)
    }

    /// The certificate a TLS cluster serves (self-signed: it is its own
    /// CA).
    #[must_use]
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    fn data(&self) -> String {
        self.dir.display().to_string()
    }

    fn bin(&self, name: &str) -> String {
        self.bindir.join(name).display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        };
        let out = command
            .args(args)
            .current_dir(std::env::temp_dir())
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(format!(
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }

    /// Starts the postmaster (again) and waits until it accepts
    /// connections.
    ///
    /// # Errors
    /// When it does not start (the log's tail is in the message).
    pub fn start_again(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=300{}",
            self.port,
            self.data(),
            if self.tls { " -c ssl=on" } else { "" }
        );
        let log = Path::new(&self.data()).join("postmaster.log");
        let started = Instant::now();
        loop {
            let result = self.run(
                &self.bin("pg_ctl"),
                &[
                    "-D",
                    &self.data(),
                    "-l",
                    &log.display().to_string(),
                    "-o",
                    &options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
            match result {
                Ok(_) => return Ok(()),
                // The old postmaster's socket may linger for a moment.
                Err(_) if started.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => {
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                    return Err(format!("{e}\nlog:\n{}", tail.join("\n")));
                }
            }
        }
    }

    /// Stops the postmaster as a crash would: every backend killed, no
    /// shutdown checkpoint.
    ///
    /// # Errors
    /// When `pg_ctl stop` fails.
    pub fn crash(&self) -> Result<(), String> {
        self.run(
            &self.bin("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .map(|_| ())
    }

    /// `postgres://postgres@127.0.0.1:port/postgres`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.run(
            &self.bin("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
