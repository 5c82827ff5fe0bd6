//! `push-bench`: commit-to-receipt latency of live updates with many
//! WebSocket clients over two nodes sharing PostgreSQL and Valkey.
//!
//! Node A's broadcaster is wrapped to note the instant each event is handed
//! over (right after its commit); every client notes when it receives it.
//! Clients on node A get events from the local hub; clients on node B get
//! them through Valkey pub/sub. The same-run baseline is node A's own
//! clients: the figure is node B's latency next to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking_core::{
    BookingPolicy, BookingService, BroadcastError, Broadcaster, Event, NewReservation,
    OverrideHours, Ports, RangeLimits, Role, Seq, Services, SystemClock, TimeRange,
};
use booking_memory::InMemoryLocks;
use booking_test_services::postgres::{pool_on, scratch_database};
use booking_testkit::fixture::{Clinic, t};
use booking_valkey_backplane::{BackplaneSettings, ValkeyBackplane};
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Connected clients, half on each node.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Bookings made through node A.
    #[arg(long, default_value_t = 100)]
    events: usize,
    /// Pause between bookings, in milliseconds.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// Valkey to use (default: start a valkey-server from VALKEY_SERVER).
    #[arg(long, env = "VALKEY_URL")]
    valkey_url: Option<String>,
}

/// Notes when each event is handed to the backplane (just after commit).
#[derive(Debug)]
struct Stamped {
    inner: Arc<dyn Broadcaster>,
    sent: Arc<Mutex<HashMap<u64, Instant>>>,
}

#[async_trait]
impl Broadcaster for Stamped {
    async fn publish(&self, events: &[Event]) -> Result<(), BroadcastError> {
        let now = Instant::now();
        if let Ok(mut sent) = self.sent.lock() {
            for e in events {
                sent.insert(e.seq.0, now);
            }
        }
        self.inner.publish(events).await
    }
}

async fn node(
    db: &str,
    valkey: &str,
    stamp: Option<Arc<Mutex<HashMap<u64, Instant>>>>,
) -> Result<(String, Services), Box<dyn std::error::Error>> {
    let store = Arc::new(booking_postgres::PgStore::from_pool(pool_on(db, 10).await));
    let hub = booking_ws::Hub::new(4096);
    let backplane = ValkeyBackplane::start(
        BackplaneSettings::new(valkey, crate::nodes::BACKPLANE_SECRET)?,
        hub.clone(),
    )?;
    if !backplane.wait_connected(Duration::from_secs(5)).await {
        return Err("the backplane did not connect".into());
    }
    let broadcaster: Arc<dyn Broadcaster> = match stamp {
        Some(sent) => Arc::new(Stamped {
            inner: backplane,
            sent,
        }),
        None => backplane,
    };
    let services = Services::new(
        Ports {
            store,
            locks: Arc::new(InMemoryLocks::new()),
            broadcaster,
            clock: Arc::new(SystemClock),
        },
        BookingPolicy::default(),
    );
    let app = booking_ws::router(booking_ws::StreamState {
        services: services.clone(),
        hub,
        heartbeat: Duration::from_secs(30),
        limits: booking_ws::StreamLimits::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/v1/stream", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, services))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let _own_valkey;
    let valkey = match &args.valkey_url {
        Some(url) => url.clone(),
        None => {
            let server = booking_test_services::valkey::ValkeyServer::start();
            let url = server.url();
            _own_valkey = server;
            url
        }
    };
    let (pool, db) = scratch_database(&booking_postgres::MIGRATOR, 4).await;
    let store = booking_postgres::PgStore::from_pool(pool);
    let c = Clinic::setup(&store).await;

    let sent = Arc::new(Mutex::new(HashMap::new()));
    let (url_a, services_a) = node(&db, &valkey, Some(sent.clone())).await?;
    let (url_b, _) = node(&db, &valkey, None).await?;
    let service_a: BookingService = services_a.bookings().clone();
    let secret = services_a
        .access()
        .create_key(
            c.tenant,
            booking_core::KeySpec {
                role: Role::Viewer,
                actor: booking_core::Actor::new("bench")?,
                expires_at: None,
            },
            &c.by,
        )
        .await?
        .secret;
    let head = services_a
        .events()
        .all(c.tenant, &booking_core::EventQuery::since(Seq::ZERO, 1000))
        .await?
        .last()
        .map_or(0, |e| e.seq.0);

    // Connect the clients; each reports (node, seq, receipt instant).
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel::<(usize, u64, Instant)>();
    let mut connected = Vec::new();
    for i in 0..args.clients {
        let url = if i % 2 == 0 { &url_a } else { &url_b };
        let mut request = format!("{url}?since={head}").into_client_request()?;
        request.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {secret}"))?,
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let report = report.clone();
        connected.push(tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let now = Instant::now();
                    if let Some(seq) = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v["seq"].as_u64())
                    {
                        let _ = report.send((i % 2, seq, now));
                    }
                }
            }
        }));
    }
    drop(report);
    println!(
        "push-bench: {} clients connected ({} per node), {} bookings through node A",
        args.clients,
        args.clients / 2,
        args.events
    );

    let mut bookings = 0u64;
    for n in 0..args.events {
        let start = t(0, 0) + chrono::Duration::minutes(i64::try_from(n)? * 15);
        let booked = service_a
            .create(NewReservation {
                id: None,
                tenant_id: c.tenant,
                branch_id: c.madrid,
                resource_id: c.dentist,
                service_id: None,
                range: TimeRange::new(
                    start,
                    start + chrono::Duration::minutes(15),
                    &RangeLimits::bookings(),
                )?,
                products: vec![],
                note: None,
                hold_for: None,
                override_hours: OverrideHours::for_role(Role::Admin),
                override_start: None,
                by: c.by.clone(),
            })
            .await;
        bookings += u64::from(booked.is_ok());
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for task in &connected {
        task.abort();
    }

    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let mut latencies: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut deliveries = 0usize;
    while let Ok((node, seq, at)) = reports.try_recv() {
        if let Some(published) = sent.get(&seq) {
            latencies[node].push(at.saturating_duration_since(*published));
            deliveries += 1;
        }
    }
    let expected = usize::try_from(bookings)? * args.clients;
    println!();
    println!("| clients on          | deliveries | p50      | p99      | max      |");
    println!("|---------------------|------------|----------|----------|----------|");
    for (node, name) in [(0, "node A (local hub)"), (1, "node B (via Valkey)")] {
        let l = &mut latencies[node];
        l.sort();
        println!(
            "| {name:<19} | {:>10} | {:>8.2?} | {:>8.2?} | {:>8.2?} |",
            l.len(),
            percentile(l, 50.0),
            percentile(l, 99.0),
            l.last().copied().unwrap_or_default()
        );
    }
    println!();
    println!(
        "deliveries {deliveries} of {expected} expected ({} missing)",
        expected.saturating_sub(deliveries)
    );
    let (a, b) = (
        percentile(&latencies[0], 50.0),
        percentile(&latencies[1], 50.0),
    );
    if !a.is_zero() {
        println!(
            "p50 ratio node B / node A = {:.2}",
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
    Ok(())
}
