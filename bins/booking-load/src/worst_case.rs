//! `worst-case`: the most a client may make a real node hold, measured.
//!
//! 1. **Availability.** A branch with the most resources a question counts
//!    (100), each working around the clock, and the largest question the
//!    API allows: 31 days, a 5-minute grid, 5-minute slots, no resource
//!    named (892,800 free slots in the window, answered 10,000 at a time).
//!    The node's peak resident memory (`VmHWM`, reset before each round) is
//!    read while `concurrency` such questions run at once, next to its
//!    memory before them; each answer's size and time are reported. The
//!    question as the security review sent it (a 1-minute grid) is shown
//!    refused.
//! 2. **Half-open connections.** The node runs under `ulimit -n` (the
//!    review's 1,024 by default); `connections` clients each send half a
//!    request header and then nothing. While they hold on, `/healthz` is
//!    asked on new connections: how many answer and how fast, and how many
//!    of the attacker's connections the node still holds.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::nodes::{catalog, free_port, healthy, new_tenant, server_binary};

/// Flags.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Questions asked at once, per round (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    concurrency: Vec<usize>,
    /// Half-open connections the attacker opens.
    #[arg(long, default_value_t = 5_000)]
    connections: usize,
    /// The node's open-file limit (`ulimit -n`).
    #[arg(long, default_value_t = 1_024)]
    descriptors: u64,
    /// `/healthz` questions asked while the attack holds.
    #[arg(long, default_value_t = 50)]
    probes: usize,
    /// The `booking-server` binary (default: the one beside this).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
}

/// A server process on a scratch SQLite file, under `ulimit -n`.
struct Server {
    child: Child,
    base: String,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    fn start(
        binary: &std::path::Path,
        descriptors: u64,
    ) -> Result<(Self, String), Box<dyn std::error::Error>> {
        let dir =
            std::env::temp_dir().join(format!("booking-worst-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let db = format!("sqlite://{}", dir.join("worst.db").display());
        let (_tenant, key) = new_tenant(binary, &db, "Worst Dental")?;
        let port = free_port()?;
        let child = Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -n {descriptors} && exec \"$0\" \"$@\""))
            .arg(binary)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--no-demo",
                "--no-metrics",
            ])
            .args(["--database-url", &db, "--in-flight-per-key", "100000"])
            .args(["--rate-per-key", "1000000", "--rate-per-tenant", "1000000"])
            .args(["--in-flight-per-tenant", "100000"])
            .env("BOOKING_LOG_FORMAT", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        Ok((Self { child, base, dir }, key))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A `/proc/<pid>/status` figure in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets the process's peak resident memory to its current one.
fn reset_peak(pid: u32) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/clear_refs"))?
        .write_all(b"5")
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let binary = server_binary(args.server.as_ref());
    let (server, key) = Server::start(&binary, args.descriptors)?;
    let http = reqwest::Client::new();
    if !healthy(&http, &server.base).await {
        return Err("the server did not become ready".into());
    }
    availability(&http, &server, &key, &args.concurrency).await?;
    half_open(&server, args.connections, args.probes).await
}

async fn availability(
    http: &reqwest::Client,
    server: &Server,
    key: &str,
    concurrency: &[usize],
) -> Result<(), Box<dyn std::error::Error>> {
    let (branch, _, _) = catalog(http, &server.base, key, 100).await?;
    let question = |step: u32| {
        format!(
            "{}/v1/availability?branch_id={branch}&duration_minutes=5&step_minutes={step}\
             &from=2031-05-01T00:00:00Z&to=2031-06-01T00:00:00Z",
            server.base
        )
    };
    let review = http.get(question(1)).bearer_auth(key).send().await?;
    println!(
        "availability, the review's question (1-minute grid): {}",
        review.status()
    );
    // Warm the allocator and the database's caches.
    for _ in 0..3 {
        http.get(question(5))
            .bearer_auth(key)
            .send()
            .await?
            .bytes()
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.pid();
    for &n in concurrency {
        let before = status_kib(pid, "VmRSS").ok_or("cannot read the server's memory")?;
        reset_peak(pid)?;
        let started = Instant::now();
        let answers = futures::future::join_all((0..n).map(|_| async {
            let r = http.get(question(5)).bearer_auth(key).send().await?;
            let status = r.status();
            let body = r.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }))
        .await;
        let took = started.elapsed();
        let peak = status_kib(pid, "VmHWM").ok_or("cannot read the server's memory")?;
        let mut sizes = Vec::with_capacity(n);
        for answer in answers {
            let (status, body) = answer?;
            if !status.is_success() {
                return Err(format!("a question was refused: {status}").into());
            }
            let page: serde_json::Value = serde_json::from_slice(&body)?;
            let slots = page["slots"].as_array().map_or(0, Vec::len);
            if slots != 10_000 || page["next_from"].is_null() {
                return Err(format!("expected a full page with next_from: {slots} slots").into());
            }
            sizes.push(body.len());
        }
        let size = sizes.iter().max().copied().unwrap_or(0);
        println!(
            "availability, {n:>2} at once: answers of {:.2} MB (10,000 slots and next_from) in \
             {:.0} ms; server RSS {:.1} MB before, peak {:.1} MB (+{:.1} MB, {:.2} MB a question)",
            size as f64 / 1e6,
            took.as_secs_f64() * 1e3,
            mb(before),
            mb(peak),
            mb(peak.saturating_sub(before)),
            mb(peak.saturating_sub(before)) / n as f64,
        );
    }
    Ok(())
}

async fn half_open(
    server: &Server,
    connections: usize,
    probes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let address = server.base.trim_start_matches("http://").to_owned();
    let before = status_kib(server.pid(), "VmRSS").unwrap_or(0);
    let mut attack = Vec::with_capacity(connections);
    let mut refused = 0usize;
    for _ in 0..connections {
        match tokio::net::TcpStream::connect(&address).await {
            Ok(mut s) => {
                use tokio::io::AsyncWriteExt as _;
                if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.is_err() {
                    refused += 1;
                }
                attack.push(s);
            }
            Err(_) => refused += 1,
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = open_connections(server.pid());
    let mut answered = 0usize;
    let mut slowest = Duration::ZERO;
    for _ in 0..probes {
        let started = Instant::now();
        let ok = tokio::time::timeout(Duration::from_secs(3), probe(&address))
            .await
            .is_ok_and(|r| r.is_ok_and(|head| head.starts_with("HTTP/1.1 200")));
        if ok {
            answered += 1;
            slowest = slowest.max(started.elapsed());
        }
    }
    let during = status_kib(server.pid(), "VmRSS").unwrap_or(0);
    println!(
        "half-open connections: {connections} opened ({refused} failed to send) against a node \
         allowed {} open files; it held {held} of them; /healthz answered {answered} of {probes} \
         (slowest {:.1} ms); server RSS {:.1} MB before, {:.1} MB during",
        status_limit(server.pid()).unwrap_or_default(),
        slowest.as_secs_f64() * 1e3,
        mb(before),
        mb(during),
    );
    drop(attack);
    if answered < probes {
        return Err(format!("/healthz missed {} of {probes}", probes - answered).into());
    }
    Ok(())
}

/// `GET /healthz` on a new connection; the answer's first line.
async fn probe(address: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(address).await?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut buf = vec![0u8; 256];
    let n = s.read(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// TCP sockets the process has open (descriptors that are sockets).
fn open_connections(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| {
        dir.filter_map(Result::ok)
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
            })
            .count()
    })
}

/// The process's soft limit on open files.
fn status_limit(pid: u32) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3).map(ToOwned::to_owned)
}
