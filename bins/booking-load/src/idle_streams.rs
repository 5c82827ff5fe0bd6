//! `idle-streams`: what an open, idle `/v1/stream` costs a node. A real
//! `booking-server` (embedded SQLite, so nothing but the streams is
//! measured) gets N WebSocket clients of one tenant that then sit idle;
//! its resident memory (`VmRSS`) is read before and after, and one booking
//! shows every stream still live. Run it with `ulimit -n` above N + a few
//! hundred (each side holds one descriptor per stream).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::nodes::{free_port, healthy, new_tenant, server_binary};

/// Flags.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Streams to open.
    #[arg(long, default_value_t = 10_000)]
    streams: usize,
    /// Streams opened at once.
    #[arg(long, default_value_t = 200)]
    batch: usize,
    /// The `booking-server` binary (default: the one beside this).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let binary = server_binary(args.server.as_ref());
    let dir = std::env::temp_dir().join(format!("booking-idle-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("idle.db").display());
    let (_tenant, key) = new_tenant(&binary, &db, "Idle Dental")?;
    let port = free_port()?;
    let mut server = Command::new(&binary)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-demo"])
        .args(["--database-url", &db])
        .args(["--streams-per-key", &args.streams.to_string()])
        .args(["--streams-per-tenant", &args.streams.to_string()])
        .args(["--streams-per-node", &(args.streams + 10).to_string()])
        .env("BOOKING_LOG_FORMAT", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = server.id();
    let result = async {
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        if !healthy(&http, &base).await {
            return Err("the server did not become ready".into());
        }
        // Settle: the first requests grow the allocator's pools.
        for _ in 0..20 {
            http.get(format!("{base}/v1/branches"))
                .bearer_auth(&key)
                .send()
                .await?;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss_kib(pid).ok_or("cannot read the server's memory")?;
        let url = format!("ws://127.0.0.1:{port}/v1/stream");
        let started = Instant::now();
        let mut clients = Vec::with_capacity(args.streams);
        while clients.len() < args.streams {
            let n = args.batch.min(args.streams - clients.len());
            let opened = futures::future::join_all((0..n).map(|_| {
                let mut request = url.clone().into_client_request().expect("a ws URL");
                request.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    HeaderValue::from_str(&format!("booking.v1, bearer.{key}")).expect("a key"),
                );
                tokio_tungstenite::connect_async(request)
            }))
            .await;
            for c in opened {
                clients.push(
                    c.map_err(|e| format!("stream {}: {e}", clients.len() + 1))?
                        .0,
                );
            }
        }
        let opening = started.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib(pid).ok_or("cannot read the server's memory")?;
        // Every stream is live: one catalog change reaches them all.
        let made = http
            .post(format!("{base}/v1/branches"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"name": "Lisbon", "time_zone": "Europe/Lisbon"}))
            .send()
            .await?;
        if !made.status().is_success() {
            return Err(format!("the branch was refused: {}", made.status()).into());
        }
        let heard = futures::future::join_all(clients.iter_mut().map(|c| async {
            loop {
                match tokio::time::timeout(Duration::from_secs(30), c.next()).await {
                    Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))) => return true,
                    Ok(Some(Ok(_))) => {}
                    _ => return false,
                }
            }
        }))
        .await
        .into_iter()
        .filter(|h| *h)
        .count();
        let mb = |kib: u64| kib as f64 / 1024.0;
        let per = after.saturating_sub(before) as f64 / args.streams as f64;
        println!(
            "idle streams: {} opened in {:.1} s; server RSS {:.1} MB before, {:.1} MB with them \
             open ({:.1} KB per idle stream); {heard} of {} heard the next event",
            args.streams,
            opening.as_secs_f64(),
            mb(before),
            mb(after),
            per,
            args.streams
        );
        if heard != args.streams {
            return Err(format!("{} streams did not hear the event", args.streams - heard).into());
        }
        Ok(())
    }
    .await;
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
