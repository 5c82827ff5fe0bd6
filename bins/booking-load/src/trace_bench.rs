//! `trace-bench`: what does exporting traces and metrics cost a booking?
//!
//! Runs the real `booking-server` binary on a fresh PostgreSQL database,
//! once without OTLP export and once exporting to an OTLP/HTTP sink in this
//! process (which decodes and counts the spans, so "on" is proven to be
//! on), alternating the two for several rounds. Each run books distinct
//! slots over several resources through HTTP with concurrent clients.
//! Logs are off in both, so the figure is the cost of export alone; spans
//! and span-derived metrics are built in both (that is how `/metrics` and
//! trace ids in logs work).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use serde_json::{Value, json};

use crate::nodes::{admin_command, new_tenant, server_binary};
use crate::store_bench::ScratchPg;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    pg: ScratchPg,
    /// The server binary (default: `booking-server` beside this one).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Bookings per run.
    #[arg(long, default_value_t = 3000)]
    bookings: u64,
    /// Resources the bookings are spread over.
    #[arg(long, default_value_t = 16)]
    resources: u64,
    /// Runs per mode (alternating off, on, off, on, …).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// Counts what the sink receives.
#[derive(Default)]
struct Sink {
    spans: AtomicU64,
    requests: AtomicU64,
}

async fn otlp_sink() -> Result<(String, Arc<Sink>), Box<dyn std::error::Error>> {
    let sink = Arc::new(Sink::default());
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(s): State<Arc<Sink>>, body: Bytes| async move {
                if let Ok(request) = ExportTraceServiceRequest::decode(body) {
                    let n: usize = request
                        .resource_spans
                        .iter()
                        .flat_map(|r| &r.scope_spans)
                        .map(|s| s.spans.len())
                        .sum();
                    s.spans.fetch_add(n as u64, Ordering::Relaxed);
                }
                s.requests.fetch_add(1, Ordering::Relaxed);
                [("content-type", "application/x-protobuf")]
            }),
        )
        .route(
            "/v1/metrics",
            post(|| async { [("content-type", "application/x-protobuf")] }),
        )
        .with_state(sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, sink))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One run: a fresh database, a server with or without export, the
/// bookings. Returns bookings per second and the spans the sink got.
async fn one_run(
    args: &Args,
    export: Option<&str>,
    sink: &Sink,
) -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let scratch = args.pg.create("booking_trace").await?;
    let result = run_on(args, export, sink, &scratch.url).await;
    scratch.drop().await;
    result
}

async fn run_on(
    args: &Args,
    export: Option<&str>,
    sink: &Sink,
    db: &str,
) -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let binary = server_binary(args.server.as_ref());
    let (tenant_id, admin_key) = new_tenant(&binary, db, "Bench")?;
    let staff = admin_command(
        &binary,
        db,
        &[
            "key", "create", "--tenant", &tenant_id, "--role", "staff", "--actor", "bench",
        ],
    )?;
    let staff_key = staff["api_key"].as_str().ok_or("no staff key")?.to_owned();

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut command = Command::new(&binary);
    command
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-demo"])
        .args(["--database-url", db])
        .args(crate::nodes::NO_REQUEST_LIMITS)
        .env("BOOKING_LOG_FORMAT", "off")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(endpoint) = export {
        command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    }
    let _server = Server(command.spawn()?);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients * 2)
        .build()?;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let create = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&admin_key)
            .json(&body)
            .send()
    };
    let branch: Value = create("/v1/branches", json!({"name": "Bench", "time_zone": "UTC"}))
        .await?
        .json()
        .await?;
    let branch = branch["id"].as_str().ok_or("no branch")?.to_owned();
    let mut resources = Vec::new();
    for i in 0..args.resources {
        let r: Value = create("/v1/resources", json!({"name": format!("Chair {i}")}))
            .await?
            .json()
            .await?;
        let id = r["id"].as_str().ok_or("no resource")?.to_owned();
        client
            .put(format!("{base}/v1/resources/{id}/branches/{branch}"))
            .bearer_auth(&admin_key)
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?;
        resources.push(id);
    }
    let resources = Arc::new(resources);

    let spans_before = sink.spans.load(Ordering::Relaxed);
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.clients {
        let (client, base, staff_key, branch) = (
            client.clone(),
            base.clone(),
            staff_key.clone(),
            branch.clone(),
        );
        let (next, failed, resources) = (next.clone(), failed.clone(), resources.clone());
        let total = args.bookings;
        workers.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return;
                }
                let n = resources.len() as u64;
                let resource = &resources[(k % n) as usize];
                let start = chrono::DateTime::parse_from_rfc3339("2031-01-01T00:00:00Z")
                    .expect("a fixed instant")
                    .to_utc()
                    + chrono::Duration::minutes(
                        30 * i64::try_from(k / n).expect("a slot index fits in i64"),
                    );
                let body = json!({
                    "branch_id": branch,
                    "resource_id": resource,
                    "starts_at": start.to_rfc3339(),
                    "ends_at": (start + chrono::Duration::minutes(30)).to_rfc3339(),
                });
                let ok = client
                    .post(format!("{base}/v1/reservations"))
                    .bearer_auth(&staff_key)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed();
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} bookings were not created").into());
    }
    // Let the batch processor's last export arrive (at most its 5 s delay).
    if export.is_some() {
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = args.bookings as f64 / elapsed.as_secs_f64();
    Ok((rate, sink.spans.load(Ordering::Relaxed) - spans_before))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let (endpoint, sink) = otlp_sink().await?;
    let (mut off, mut on) = (Vec::new(), Vec::new());
    let mut spans = 0;
    println!(
        "trace-bench: {} bookings per run, {} clients, {} resources, PostgreSQL, logs off",
        args.bookings, args.clients, args.resources
    );
    for round in 1..=args.rounds {
        let (rate, _) = one_run(&args, None, &sink).await?;
        println!("  round {round}: export off  {rate:8.1} bookings/s");
        off.push(rate);
        let (rate, exported) = one_run(&args, Some(&endpoint), &sink).await?;
        println!("  round {round}: export on   {rate:8.1} bookings/s  ({exported} spans received)");
        on.push(rate);
        spans += exported;
    }
    let (off, on) = (median(off), median(on));
    #[allow(clippy::cast_precision_loss)]
    let per_booking = spans as f64 / (args.bookings as f64 * args.rounds as f64);
    println!("median export off: {off:.1} bookings/s");
    println!("median export on:  {on:.1} bookings/s ({per_booking:.1} spans per booking received)");
    println!("ratio on/off: {:.3}", on / off);
    Ok(())
}
