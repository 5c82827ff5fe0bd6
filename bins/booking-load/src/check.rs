//! `booking-load check`: a Jepsen-style run. Starts N real `booking-server`
//! processes on loopback sharing one scratch PostgreSQL database and one
//! valkey-server, drives them with HTTP clients (each operation with its
//! own `Idempotency-Key`, retried with it when the outcome is unknown) and
//! one WebSocket client per node, injects faults on a seeded schedule,
//! records the history, and then checks it against the database and the
//! streams:
//!
//! - no two active reservations of a resource overlap, stock is conserved
//!   and never negative, every reservation is the projection of its events,
//!   the log is gapless (the testkit's invariant checker on the database);
//! - every `ok` is in the log with the acknowledged fields (reservation,
//!   version, resource, range, status); every refused create left nothing;
//!   every create whose outcome stayed unknown happened at most once;
//! - each hot slot has at most one winner;
//! - every WebSocket client saw every event of the tenant exactly once, in
//!   order, across reconnects.
//!
//! Exit status 1 on any violation, with the smallest history excerpt that
//! shows it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use booking_core::TenantId;
use booking_test_services::cluster::PgCluster;
use booking_test_services::valkey::ValkeyServer;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::nodes::{Node, catalog, free_port, healthy, new_tenant, server_binary};
use crate::proxy::Proxy;
use crate::store_bench::ScratchPg;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Workload {
    /// Many clients, one slot (rotating every 40 operations).
    HotSlot,
    /// Disjoint slots of one resource.
    HotResource,
    /// Orders against small stock at one branch, across resources.
    Inventory,
    /// Hold, confirm, move, cancel, complete, extend, release.
    Lifecycle,
    /// Catalog churn while booking (admin): restocks, the product's price,
    /// the inventory resources' working hours (always covering the slots
    /// booked) and names.
    Catalog,
    /// Many small tenants booking their own resource, beside the busy
    /// tenant of every other workload.
    Tenants,
    /// All of the above.
    Mixed,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// kill -9 valkey-server, then start it again on its port.
    ValkeyKill,
    /// SIGSTOP a node for longer than the lock TTL, then SIGCONT.
    Pause,
    /// kill -9 a node mid-run, then start it again.
    KillNode,
    /// Crash PostgreSQL (`pg_ctl stop -m immediate`) and start it again: a
    /// cluster the harness starts for the run, not the shared server.
    PgRestart,
    /// Hold every byte to PostgreSQL, Valkey or both back 50–250 ms for
    /// two seconds (the nodes reach them through a TCP proxy).
    NetDelay,
    /// Cut every connection to PostgreSQL, Valkey or both, and refuse new
    /// ones for 0.5–1.5 s (through the same proxy).
    NetCut,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    pg: ScratchPg,
    /// The server binary (default: `booking-server` beside this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Server nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Small tenants beside the busy one (the `tenants` workload).
    #[arg(long, default_value_t = 8)]
    tenants: usize,
    /// Concurrent HTTP clients (spread over the nodes).
    #[arg(long, default_value_t = 12)]
    clients: usize,
    /// Operations in all.
    #[arg(long, default_value_t = 2000)]
    ops: usize,
    /// Workloads, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "mixed")]
    workload: Vec<Workload>,
    /// Faults, comma-separated (none by default).
    #[arg(long, value_delimiter = ',')]
    faults: Vec<Fault>,
    /// Seed of the operation mix and the fault schedule: a failing run
    /// replays with the same seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the history here as JSON lines.
    #[arg(long)]
    history: Option<PathBuf>,
    /// The nodes' lock time-to-live, in seconds (a pause lasts longer).
    #[arg(long, default_value_t = 2)]
    lock_ttl_secs: u64,
    /// Stop issuing operations after this long, whatever is left.
    #[arg(long, default_value_t = 150)]
    max_seconds: u64,
    /// Keep the scratch database and print its name.
    #[arg(long)]
    keep_database: bool,
    /// Write each node's log (JSON lines) into this directory.
    #[arg(long)]
    node_logs: Option<PathBuf>,
}

// ---- the history ---------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Fail,
    Info,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fail => "fail",
            Self::Info => "info",
        }
    }
}

/// One operation, from invoke to its last completion.
#[derive(Clone, Debug)]
struct Op {
    n: usize,
    client: usize,
    workload: Workload,
    kind: &'static str,
    key: String,
    /// For creates: the note that names the reservation it makes.
    note: Option<String>,
    /// The hot slot it contends for, if any.
    hot_slot: Option<usize>,
    /// 0: the busy tenant; i + 1: small tenant i.
    tenant: usize,
    request: Value,
    outcome: Outcome,
    status: u16,
    problem: Option<String>,
    /// The reservation as acknowledged.
    reservation: Option<Value>,
    attempts: u32,
    /// Each attempt: the node, the status (0: no answer), the problem type
    /// and detail.
    tries: Vec<(usize, u16, Option<String>, Option<String>)>,
    node: usize,
    invoke: Duration,
    complete: Duration,
}

impl Op {
    fn json(&self) -> Value {
        json!({
            "op": self.n, "client": self.client, "workload": format!("{:?}", self.workload),
            "kind": self.kind, "idempotency_key": self.key, "node": self.node,
            "tenant": self.tenant,
            "invoke_ms": self.invoke.as_secs_f64() * 1e3,
            "complete_ms": self.complete.as_secs_f64() * 1e3,
            "outcome": self.outcome.name(), "status": self.status, "problem": self.problem,
            "attempts": self.attempts, "tries": self.tries, "request": self.request,
            "reservation": self.reservation.as_ref().map(|r| json!({
                "id": r["id"], "version": r["version"], "resource_id": r["resource_id"],
                "starts_at": r["starts_at"], "ends_at": r["ends_at"], "status": r["status"],
            })),
        })
    }
}

#[derive(Debug)]
struct FaultRecord {
    fault: Fault,
    /// Which node, service or delay.
    detail: String,
    start: Duration,
    end: Duration,
}

// ---- the run -------------------------------------------------------------

/// A small tenant: one branch, one resource, its admin key.
struct Small {
    id: TenantId,
    key: String,
    branch: String,
    resource: String,
}

struct World {
    nodes: Vec<String>,
    tenants: Vec<Small>,
    staff: String,
    admin: String,
    branch: String,
    product: String,
    hot_slot_resource: String,
    hot_resource: String,
    inventory: Vec<String>,
    lifecycle: Vec<String>,
    started: Instant,
    next_op: AtomicUsize,
    total: usize,
    deadline: Instant,
    down: Vec<AtomicBool>,
    ops: Mutex<Vec<Op>>,
}

const DAY0: &str = "2031-01-06T00:00:00Z";

fn slot(index: usize, minutes: i64) -> (String, String) {
    let day0: DateTime<Utc> = DAY0.parse().expect("a date");
    let start = day0 + chrono::Duration::minutes(30 * i64::try_from(index).unwrap_or(0));
    let end = start + chrono::Duration::minutes(minutes);
    (
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// What a client knows of the reservations it made (for the lifecycle).
#[derive(Clone, Debug)]
struct Mine {
    id: String,
    version: u64,
    status: String,
    starts_at: String,
    resource: String,
}

/// One request an operation makes (the same on every retry).
struct Call {
    kind: &'static str,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    if_match: Option<u64>,
    /// Whether it makes a reservation (named by its note).
    creates: bool,
}

impl Call {
    fn new(kind: &'static str, method: reqwest::Method, path: impl Into<String>) -> Self {
        Self {
            kind,
            method,
            path: path.into(),
            body: None,
            if_match: None,
            creates: false,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn creating(mut self, body: Value) -> Self {
        self.body = Some(body);
        self.creates = true;
        self
    }

    fn if_match(mut self, version: u64) -> Self {
        self.if_match = Some(version);
        self
    }
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    call: &Call,
    idempotency_key: &str,
) -> (Outcome, u16, Value) {
    let mut request = http
        .request(call.method.clone(), format!("{base}{}", call.path))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency_key);
    if let Some(v) = call.if_match {
        request = request.header("If-Match", format!("\"{v}\""));
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    match request.send().await {
        Err(_) => (Outcome::Info, 0, Value::Null),
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let retry = body["type"] == "/problems/idempotency-in-progress";
            let outcome = match status {
                200..=299 => Outcome::Ok,
                _ if retry => Outcome::Info,
                400..=499 => Outcome::Fail,
                _ => Outcome::Info,
            };
            (outcome, status, body)
        }
    }
}

async fn client(world: Arc<World>, id: usize, seed: u64, workloads: Vec<Workload>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .pool_max_idle_per_host(4)
        .build()
        .expect("an HTTP client");
    let mut rng = fastrand::Rng::with_seed(seed ^ (id as u64).wrapping_mul(0x9e37_79b9));
    let mut mine: Vec<Mine> = Vec::new();
    let home = id % world.nodes.len();
    loop {
        let n = world.next_op.fetch_add(1, Ordering::Relaxed);
        if n >= world.total || Instant::now() > world.deadline {
            return;
        }
        let workload = match workloads[rng.usize(..workloads.len())] {
            Workload::Mixed => [
                Workload::HotSlot,
                Workload::HotResource,
                Workload::Inventory,
                Workload::Lifecycle,
                Workload::Catalog,
                Workload::Tenants,
            ][rng.usize(..6)],
            w => w,
        };
        let key = uuid::Uuid::new_v4().to_string();
        let note = format!("op-{n}");
        let base_body = |resource: &str, (start, end): (String, String)| {
            json!({"branch_id": world.branch, "resource_id": resource, "starts_at": start,
                   "ends_at": end, "note": note})
        };
        let mut hot_slot = None;
        let mut tenant = 0;
        let post = reqwest::Method::POST;
        let call = match workload {
            Workload::Tenants => {
                let t = rng.usize(..world.tenants.len());
                tenant = t + 1;
                let small = &world.tenants[t];
                let (start, end) = slot(rng.usize(..300), 30);
                Call::new("create", post, "/v1/reservations").creating(json!({
                    "branch_id": small.branch, "resource_id": small.resource,
                    "starts_at": start, "ends_at": end, "note": note}))
            }
            Workload::Catalog => {
                let r = &world.inventory[rng.usize(..world.inventory.len())];
                match rng.u8(..4) {
                    0 => Call::new(
                        "restock",
                        reqwest::Method::POST,
                        format!("/v1/products/{}/branches/{}/restock", world.product, world.branch),
                    )
                    .body(json!({"quantity": rng.u32(1..=4)})),
                    1 => Call::new("price", reqwest::Method::PUT, format!("/v1/products/{}", world.product))
                        .body(json!({"name": "Kit", "price": {"amount_minor": 900 + rng.u32(..300), "currency": "EUR"}})),
                    // Any time, or any time but one far-off day: the slots
                    // booked are always inside.
                    2 => Call::new("hours", reqwest::Method::PUT, format!("/v1/resources/{r}/branches/{}", world.branch))
                        .body(if rng.bool() {
                            json!({})
                        } else {
                            json!({"working_hours": null, "exceptions": {"2035-06-01": []}})
                        }),
                    _ => Call::new("rename", reqwest::Method::PUT, format!("/v1/resources/{r}"))
                        .body(json!({"name": format!("R{}", rng.u32(..1000))})),
                }
            }
            Workload::HotSlot => {
                let s = n / 40;
                hot_slot = Some(s);
                Call::new("create", post, "/v1/reservations")
                    .creating(base_body(&world.hot_slot_resource, slot(s * 2, 30)))
            }
            Workload::HotResource => Call::new("create", post, "/v1/reservations")
                .creating(base_body(&world.hot_resource, slot(rng.usize(..600), 30))),
            Workload::Inventory => {
                let mut body = base_body(
                    &world.inventory[rng.usize(..world.inventory.len())],
                    slot(rng.usize(..2000), 30),
                );
                body["products"] =
                    json!([{"product_id": world.product, "quantity": rng.u32(1..=3)}]);
                Call::new("create", post, "/v1/reservations").creating(body)
            }
            Workload::Lifecycle | Workload::Mixed => {
                let live: Vec<usize> = (0..mine.len())
                    .filter(|i| matches!(mine[*i].status.as_str(), "held" | "confirmed"))
                    .collect();
                if live.is_empty() || rng.u8(..4) == 0 {
                    let mut body = base_body(
                        &world.lifecycle[rng.usize(..world.lifecycle.len())],
                        slot(rng.usize(..1000), 30),
                    );
                    if rng.u8(..3) == 0 {
                        body["products"] = json!([{"product_id": world.product, "quantity": 1}]);
                    }
                    if rng.bool() {
                        Call::new("hold", post, "/v1/holds").creating(body)
                    } else {
                        Call::new("create", post, "/v1/reservations").creating(body)
                    }
                } else {
                    let m = mine[live[rng.usize(..live.len())]].clone();
                    let id = &m.id;
                    match (m.status == "held", rng.u8(..6)) {
                        (true, 0 | 1) => {
                            Call::new("confirm", post, format!("/v1/holds/{id}/confirm"))
                        }
                        (true, 2) => Call::new("extend", post, format!("/v1/holds/{id}/extend")),
                        (true, 3) => Call::new(
                            "release",
                            reqwest::Method::DELETE,
                            format!("/v1/holds/{id}"),
                        ),
                        (false, 0) => {
                            Call::new("complete", post, format!("/v1/reservations/{id}/complete"))
                                .if_match(m.version)
                        }
                        (false, 1) => {
                            Call::new("cancel", post, format!("/v1/reservations/{id}/cancel"))
                                .if_match(m.version)
                        }
                        _ => {
                            let start: DateTime<Utc> = m.starts_at.parse().expect("a time");
                            let start = start + chrono::Duration::minutes(30);
                            let resource = if rng.bool() {
                                m.resource.clone()
                            } else {
                                world.lifecycle[rng.usize(..world.lifecycle.len())].clone()
                            };
                            let at = |t: DateTime<Utc>| {
                                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            };
                            Call::new(
                                "move",
                                reqwest::Method::PATCH,
                                format!("/v1/reservations/{id}"),
                            )
                            .body(json!({
                                "starts_at": at(start),
                                "ends_at": at(start + chrono::Duration::minutes(30)),
                                "resource_id": resource,
                            }))
                            .if_match(m.version)
                        }
                    }
                }
            }
        };
        let invoke = world.started.elapsed();
        let mut attempts = 0;
        let mut tries = Vec::new();
        let mut node = home;
        let (mut outcome, mut status, mut answer);
        loop {
            attempts += 1;
            // A node known to be down is skipped; the same key elsewhere.
            for _ in 0..world.nodes.len() {
                if !world.down[node].load(Ordering::Relaxed) {
                    break;
                }
                node = (node + 1) % world.nodes.len();
            }
            (outcome, status, answer) = send(
                &http,
                &world.nodes[node],
                match (workload, tenant) {
                    (_, t) if t > 0 => &world.tenants[t - 1].key,
                    (Workload::Catalog, _) => &world.admin,
                    _ => &world.staff,
                },
                &call,
                &key,
            )
            .await;
            tries.push((
                node,
                status,
                answer["type"]
                    .as_str()
                    .map(|t| t.trim_start_matches("/problems/").to_owned()),
                answer["detail"].as_str().map(ToOwned::to_owned),
            ));
            if outcome != Outcome::Info || attempts >= 12 || Instant::now() > world.deadline {
                break;
            }
            node = (node + 1) % world.nodes.len();
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempts.min(10)))).await;
        }
        // A reservation came back (not a catalog item, not a 204).
        let reservation =
            (outcome == Outcome::Ok && answer.get("starts_at").is_some()).then(|| answer.clone());
        // Only the lifecycle works on what it made (a hot slot's winner is
        // never cancelled, so each slot has at most one, ever).
        if workload != Workload::Lifecycle {
        } else if let Some(r) = &reservation {
            let entry = Mine {
                id: r["id"].as_str().unwrap_or_default().to_owned(),
                version: r["version"].as_u64().unwrap_or(0),
                status: r["status"].as_str().unwrap_or_default().to_owned(),
                starts_at: r["starts_at"].as_str().unwrap_or_default().to_owned(),
                resource: r["resource_id"].as_str().unwrap_or_default().to_owned(),
            };
            match mine.iter_mut().find(|m| m.id == entry.id) {
                Some(m) => *m = entry,
                None => mine.push(entry),
            }
        } else if call.kind == "release" && outcome == Outcome::Ok {
            mine.retain(|m| !call.path.ends_with(&m.id));
        } else if outcome == Outcome::Fail
            && let Some(m) = mine.iter_mut().find(|m| call.path.contains(&m.id))
        {
            // Refused (stale, expired, terminal): forget it rather than guess.
            m.status = "unknown".into();
        }
        let problem = answer["type"]
            .as_str()
            .map(|t| t.trim_start_matches("/problems/").to_owned());
        world.ops.lock().expect("the history").push(Op {
            n,
            client: id,
            workload,
            kind: call.kind,
            key,
            note: call.creates.then_some(note),
            hot_slot,
            tenant,
            request: call.body.clone().unwrap_or(Value::Null),
            outcome,
            status,
            problem,
            reservation,
            attempts,
            tries,
            node,
            invoke,
            complete: world.started.elapsed(),
        });
    }
}

/// A WebSocket client on one node: replays from 0, follows, reconnects
/// from the last event it saw. Returns the sequence numbers it got, in the
/// order it got them.
async fn watcher(
    base: String,
    key: String,
    stop: Arc<AtomicBool>,
    progress: Arc<std::sync::atomic::AtomicU64>,
) -> Vec<u64> {
    let mut seen = Vec::new();
    let url = base.replace("http://", "ws://") + "/v1/stream";
    while !stop.load(Ordering::Relaxed) {
        let since = seen.last().copied().unwrap_or(0);
        let Ok(mut request) = format!("{url}?since={since}").into_client_request() else {
            return seen;
        };
        if let Ok(v) = format!("Bearer {key}").parse() {
            request.headers_mut().insert("authorization", v);
        }
        let Ok(Ok((mut socket, _))) = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(request),
        )
        .await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        loop {
            if stop.load(Ordering::Relaxed) {
                return seen;
            }
            match tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
                Err(_) => {}
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                    if let Ok(event) = serde_json::from_str::<Value>(&text)
                        && let Some(seq) = event["seq"].as_u64()
                    {
                        seen.push(seq);
                        progress.store(seq, Ordering::Relaxed);
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => break,
            }
        }
    }
    seen
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Restarting PostgreSQL needs a server of the harness's own.
    let cluster = if args.faults.contains(&Fault::PgRestart) {
        let cluster = tokio::task::spawn_blocking(PgCluster::start)
            .await?
            .map_err(|e| format!("cannot start a PostgreSQL cluster for pg-restart: {e}"))?;
        Some(Arc::new(cluster))
    } else {
        None
    };
    let pg = match &cluster {
        Some(c) => ScratchPg { admin_url: c.url() },
        None => args.pg.clone(),
    };
    let scratch = pg.create("booking_check").await?;
    let result = check(&args, &scratch.url, cluster).await;
    if args.keep_database {
        println!("kept database {}", scratch.name);
    } else {
        scratch.drop().await;
    }
    result
}

#[allow(clippy::too_many_lines)]
async fn check(
    args: &Args,
    db: &str,
    cluster: Option<Arc<PgCluster>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let binary = server_binary(args.server.as_ref());
    let mut valkey = ValkeyServer::start();
    // The nodes reach PostgreSQL and Valkey through fault proxies when the
    // network is to fail; the harness itself always goes direct.
    let proxies = if args
        .faults
        .iter()
        .any(|f| matches!(f, Fault::NetDelay | Fault::NetCut))
    {
        let pg_url = reqwest::Url::parse(db)?;
        let pg_addr =
            std::net::SocketAddr::new("127.0.0.1".parse()?, pg_url.port().unwrap_or(5432));
        let pg = Proxy::start(pg_addr).await?;
        let valkey_proxy =
            Proxy::start(std::net::SocketAddr::new("127.0.0.1".parse()?, valkey.port)).await?;
        Some((pg, valkey_proxy))
    } else {
        None
    };
    let (node_db, node_valkey) = match &proxies {
        Some((pg, v)) => {
            let mut url = reqwest::Url::parse(db)?;
            url.set_port(Some(pg.port))
                .map_err(|()| "a PostgreSQL URL")?;
            (url.to_string(), format!("redis://127.0.0.1:{}", v.port))
        }
        None => (db.to_owned(), valkey.url()),
    };
    let (tenant_id, admin) = new_tenant(&binary, db, "Check")?;
    let tenant_id: TenantId = tenant_id.parse()?;

    let mut nodes = Vec::new();
    if let Some(dir) = &args.node_logs {
        std::fs::create_dir_all(dir)?;
    }
    for i in 0..args.nodes.max(1) {
        let mut node = Node {
            log: args
                .node_logs
                .as_ref()
                .map(|d| d.join(format!("node-{i}.log"))),
            binary: binary.clone(),
            db: node_db.clone(),
            valkey: node_valkey.clone(),
            port: free_port()?,
            lock_ttl: args.lock_ttl_secs.max(1),
            child: None,
        };
        node.spawn()?;
        nodes.push(node);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    for node in &nodes {
        if !healthy(&http, &node.base()).await {
            return Err(format!("node {} did not become ready", node.base()).into());
        }
    }
    let base = nodes[0].base();
    let post = |path: &str, body: Value| {
        let http = http.clone();
        let url = format!("{base}{path}");
        let admin = admin.clone();
        async move {
            let r = http.post(url).bearer_auth(admin).json(&body).send().await?;
            let status = r.status();
            let v: Value = r.json().await?;
            if !status.is_success() {
                return Err(format!("setup: {status} {v}").into());
            }
            Ok::<Value, Box<dyn std::error::Error>>(v)
        }
    };
    let put = |path: String, body: Value| {
        let http = http.clone();
        let url = format!("{base}{path}");
        let admin = admin.clone();
        async move {
            let r = http.put(url).bearer_auth(admin).json(&body).send().await?;
            if !r.status().is_success() {
                return Err(format!("setup: {}", r.status()).into());
            }
            Ok::<(), Box<dyn std::error::Error>>(())
        }
    };
    let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
    let branch = id(&post("/v1/branches", json!({"name": "Check", "time_zone": "UTC"})).await?);
    let mut resources = Vec::new();
    for i in 0..10 {
        let r = id(&post("/v1/resources", json!({"name": format!("R{i}")})).await?);
        put(format!("/v1/resources/{r}/branches/{branch}"), json!({})).await?;
        resources.push(r);
    }
    let product = id(&post(
        "/v1/products",
        json!({"name": "Kit", "price": {"amount_minor": 1000, "currency": "EUR"}}),
    )
    .await?);
    put(
        format!("/v1/products/{product}/branches/{branch}"),
        json!({"stock": 40}),
    )
    .await?;
    let staff = post(
        "/v1/keys",
        json!({"role": "staff", "actor": "check clients"}),
    )
    .await?["api_key"]
        .as_str()
        .ok_or("no staff key")?
        .to_owned();

    // The small tenants, each with a branch and a chair of its own.
    let mut tenants = Vec::new();
    for i in 0..args.tenants.max(1) {
        let (id, key) = new_tenant(&binary, db, &format!("Small {i}"))?;
        // A branch and a chair (and a product the workload does not use).
        let (branch, chairs, _) = catalog(&http, &base, &key, 1).await?;
        let resource = chairs.into_iter().next().ok_or("no chair")?;
        tenants.push(Small {
            id: id.parse()?,
            key,
            branch,
            resource,
        });
    }

    // One WebSocket client per node for the busy tenant and one per node
    // for the first small tenant: (tenant, progress, task).
    let stop_watchers = Arc::new(AtomicBool::new(false));
    let mut watchers = Vec::new();
    for (tenant, key) in [(0, &admin), (1, &tenants[0].key)] {
        for n in &nodes {
            let progress = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let task = tokio::spawn(watcher(
                n.base(),
                key.clone(),
                stop_watchers.clone(),
                progress.clone(),
            ));
            watchers.push((tenant, progress, task));
        }
    }

    let workloads = args.workload.clone();
    let world = Arc::new(World {
        nodes: nodes.iter().map(Node::base).collect(),
        tenants,
        staff,
        admin: admin.clone(),
        branch,
        product,
        hot_slot_resource: resources[0].clone(),
        hot_resource: resources[1].clone(),
        inventory: resources[2..6].to_vec(),
        lifecycle: resources[6..10].to_vec(),
        started: Instant::now(),
        next_op: AtomicUsize::new(0),
        total: args.ops,
        deadline: Instant::now() + Duration::from_secs(args.max_seconds),
        down: (0..nodes.len()).map(|_| AtomicBool::new(false)).collect(),
        ops: Mutex::new(Vec::new()),
    });
    let clients: Vec<_> = (0..args.clients.max(1))
        .map(|c| tokio::spawn(client(world.clone(), c, args.seed, workloads.clone())))
        .collect();

    // The fault schedule, seeded.
    let mut faults = Vec::new();
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let clients_done = || clients.iter().all(tokio::task::JoinHandle::is_finished);
    if !args.faults.is_empty() {
        let mut turn = 0;
        while !clients_done() {
            let wait = Duration::from_millis(1500 + rng.u64(..1500));
            let until = Instant::now() + wait;
            while Instant::now() < until && !clients_done() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if clients_done() {
                break;
            }
            let fault = args.faults[turn % args.faults.len()];
            turn += 1;
            let start = world.started.elapsed();
            let mut detail = String::new();
            match fault {
                Fault::ValkeyKill => {
                    valkey.kill();
                    tokio::time::sleep(Duration::from_millis(800 + rng.u64(..800))).await;
                    valkey.restart();
                }
                Fault::PgRestart => {
                    let cluster = cluster.clone().ok_or("pg-restart without a cluster")?;
                    let down = Duration::from_millis(300 + rng.u64(..700));
                    tokio::task::spawn_blocking(move || {
                        cluster.crash()?;
                        std::thread::sleep(down);
                        cluster.start_again()
                    })
                    .await??;
                }
                Fault::NetDelay | Fault::NetCut => {
                    let (pg, v) = proxies.as_ref().ok_or("no proxies")?;
                    let targets: Vec<&Proxy> = match rng.u8(..3) {
                        0 => {
                            detail = "PostgreSQL".into();
                            vec![pg]
                        }
                        1 => {
                            detail = "Valkey".into();
                            vec![v]
                        }
                        _ => {
                            detail = "PostgreSQL and Valkey".into();
                            vec![pg, v]
                        }
                    };
                    if fault == Fault::NetDelay {
                        let delay = Duration::from_millis(50 + rng.u64(..200));
                        detail = format!("{detail}, {} ms", delay.as_millis());
                        targets.iter().for_each(|p| p.delay(delay));
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    } else {
                        targets.iter().for_each(|p| p.cut());
                        tokio::time::sleep(Duration::from_millis(500 + rng.u64(..1000))).await;
                    }
                    targets.iter().for_each(|p| p.heal());
                }
                Fault::Pause => {
                    let k = rng.usize(..nodes.len());
                    detail = format!("node {k}");
                    nodes[k].signal("-STOP")?;
                    tokio::time::sleep(Duration::from_secs(args.lock_ttl_secs.max(1) + 1)).await;
                    nodes[k].signal("-CONT")?;
                }
                Fault::KillNode => {
                    let k = rng.usize(..nodes.len());
                    detail = format!("node {k}");
                    world.down[k].store(true, Ordering::Relaxed);
                    nodes[k].kill();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    nodes[k].spawn()?;
                    if !healthy(&http, &nodes[k].base()).await {
                        return Err(format!("node {k} did not come back").into());
                    }
                    world.down[k].store(false, Ordering::Relaxed);
                }
            }
            faults.push(FaultRecord {
                fault,
                detail,
                start,
                end: world.started.elapsed(),
            });
        }
    }
    for c in clients {
        c.await?;
    }
    let wall = world.started.elapsed();
    let ops = std::mem::take(&mut *world.ops.lock().expect("the history"));

    // Each tenant's whole log, through the API (every event, its admin
    // key): the busy tenant's first.
    let mut keys = vec![(tenant_id, admin.clone())];
    keys.extend(world.tenants.iter().map(|t| (t.id, t.key.clone())));
    let mut logs: Vec<Vec<Value>> = Vec::new();
    for (_, key) in &keys {
        let mut events: Vec<Value> = Vec::new();
        let mut since = 0;
        loop {
            let page = read_page(
                &http,
                &format!("{base}/v1/events?since={since}&limit=1000"),
                key,
            )
            .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            events.extend(items);
            match page["next_cursor"].as_str() {
                Some(next) => since = next.parse()?,
                None => break,
            }
        }
        logs.push(events);
    }
    let heads: Vec<u64> = logs
        .iter()
        .map(|events| events.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0))
        .collect();
    let head = heads[0];

    // The watchers catch up with their tenant's head (an event whose live
    // push was lost reaches them with the next heartbeat's gap fill: 15 s
    // at most), then stop.
    let ended = Instant::now();
    while ended.elapsed() < Duration::from_secs(20)
        && watchers
            .iter()
            .any(|(t, p, _)| p.load(Ordering::Relaxed) < heads[*t])
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let converged = ended.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await; // anything extra
    stop_watchers.store(true, Ordering::Relaxed);
    let mut streams: Vec<Vec<Vec<u64>>> = vec![Vec::new(); keys.len()];
    for (t, _, task) in watchers {
        streams[t].push(task.await?);
    }

    if let Some(path) = &args.history {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut lines: Vec<(Duration, Value)> = Vec::new();
        for op in &ops {
            lines.push((
                op.invoke,
                json!({"type": "invoke", "op": op.n, "client": op.client, "kind": op.kind,
                       "idempotency_key": op.key, "at_ms": op.invoke.as_secs_f64() * 1e3}),
            ));
            lines.push((op.complete, op.json()));
        }
        lines.sort_by_key(|(t, _)| *t);
        for (_, line) in lines {
            writeln!(file, "{line}")?;
        }
    }

    // ---- the checkers ----
    let mut violations: Vec<(String, Vec<&Op>)> = Vec::new();

    // 1. The database: overlap, stock, projections, gapless log, for
    // every tenant.
    let pool = sqlx::PgPool::connect(db).await?;
    let store = booking_postgres::PgStore::from_pool(pool);
    for (t, (id, _)) in keys.iter().enumerate() {
        if let Err(v) = booking_testkit::invariants::check_store(&store, *id, Utc::now()).await {
            violations.push((format!("database invariant (tenant {t}): {v}"), Vec::new()));
        }
    }
    // 2.–4. Each tenant's history against its own log and streams: an
    // operation of one tenant found in another's log is not "in the log".
    let mut per_tenant: Vec<Vec<Op>> = vec![Vec::new(); keys.len()];
    for op in &ops {
        per_tenant[op.tenant].push(op.clone());
    }
    let (mut winners, mut contended, mut unresolved, mut resolved_by_log) =
        (BTreeMap::new(), 0, 0, 0);
    for (t, tenant_ops) in per_tenant.iter().enumerate() {
        let verdict = judge(tenant_ops, &logs[t], &streams[t]);
        violations.extend(verdict.violations.into_iter().map(|(what, excerpt)| {
            let what = if t == 0 {
                what
            } else {
                format!("small tenant {t}: {what}")
            };
            (what, excerpt)
        }));
        if t == 0 {
            (winners, contended) = (verdict.winners, verdict.contended);
        }
        unresolved += verdict.unresolved;
        resolved_by_log += verdict.resolved_by_log;
    }

    // ---- the report ----
    println!(
        "check: {} nodes, {} clients, seed {}, workloads {:?}, faults {:?}",
        nodes.len(),
        args.clients,
        args.seed,
        args.workload,
        args.faults
    );
    println!(
        "{:<13} {:>6} {:>6} {:>6} {:>5} {:>8} {:>9} {:>9} {:>9}",
        "workload", "ops", "ok", "fail", "info", "ops/s", "p50 ms", "p99 ms", "max ms"
    );
    let mut groups: BTreeMap<Workload, Vec<&Op>> = BTreeMap::new();
    for op in &ops {
        groups.entry(op.workload).or_default().push(op);
    }
    for (w, list) in &groups {
        let mut lat: Vec<f64> = list
            .iter()
            .map(|o| (o.complete - o.invoke).as_secs_f64() * 1e3)
            .collect();
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
        let count = |o: Outcome| list.iter().filter(|x| x.outcome == o).count();
        println!(
            "{:<13} {:>6} {:>6} {:>6} {:>5} {:>8.1} {:>9.1} {:>9.1} {:>9.1}",
            format!("{w:?}"),
            list.len(),
            count(Outcome::Ok),
            count(Outcome::Fail),
            count(Outcome::Info),
            list.len() as f64 / wall.as_secs_f64(),
            pct(0.5),
            pct(0.99),
            pct(1.0),
        );
    }
    let mut refusals: BTreeMap<&str, usize> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.outcome == Outcome::Fail) {
        *refusals
            .entry(op.problem.as_deref().unwrap_or("?"))
            .or_default() += 1;
    }
    println!("refusals: {refusals:?}");
    println!(
        "{} operations in {:.1} s; {} hot-slot attempts over {} slots, {} winners",
        ops.len(),
        wall.as_secs_f64(),
        contended,
        winners.len().max(
            ops.iter()
                .filter_map(|o| o.hot_slot)
                .collect::<HashSet<_>>()
                .len()
        ),
        winners.values().map(Vec::len).sum::<usize>()
    );
    for f in &faults {
        let recovered = ops
            .iter()
            .filter(|o| o.outcome == Outcome::Ok && o.complete > f.end)
            .map(|o| o.complete - f.end)
            .min();
        println!(
            "fault {:?}{} at {:.1} s for {:.1} s: first ok after it {}",
            f.fault,
            if f.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.detail)
            },
            f.start.as_secs_f64(),
            (f.end - f.start).as_secs_f64(),
            recovered.map_or("none".to_owned(), |d| format!(
                "{:.0} ms later",
                d.as_secs_f64() * 1e3
            )),
        );
    }
    if let Some((pg, v)) = &proxies {
        println!(
            "through the fault proxies: {} connections to PostgreSQL, {} to Valkey",
            pg.connections(),
            v.connections()
        );
    }
    println!(
        "unknown outcomes: {} ({} found in the log, {} not: each happened at most once)",
        unresolved,
        resolved_by_log,
        unresolved - resolved_by_log
    );
    println!(
        "log: {head} events (small tenants: {}); streams: {} events each, caught up {:.0} ms after the last operation",
        heads[1..]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        streams
            .iter()
            .flatten()
            .map(|s| s.len().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        converged.as_secs_f64() * 1e3
    );
    let checkers = [
        (
            "no overlap, stock conserved, projections, gapless log",
            "database invariant",
        ),
        ("every ok in the log as acknowledged", "acknowledged"),
        ("every refused create left nothing", "refused create"),
        ("every operation applied at most once", "two reservations"),
        ("one winner per hot slot", "hot slot"),
        ("every stream saw every event once, in order", "the stream"),
    ];
    for (name, prefix) in checkers {
        let n = violations
            .iter()
            .filter(|(v, _)| v.contains(prefix))
            .count();
        println!(
            "  {:<52} {}",
            name,
            if n == 0 {
                "ok".to_owned()
            } else {
                format!("VIOLATED ({n})")
            }
        );
    }
    if violations.is_empty() {
        return Ok(());
    }
    for (what, excerpt) in violations.iter().take(10) {
        println!("VIOLATION: {what}");
        for op in excerpt.iter().take(5) {
            println!("  {}", op.json());
        }
    }
    Err(format!("{} violations", violations.len()).into())
}

/// One page of the log, insisting: right after a fault a node may answer
/// 503 for a moment, and a page read as empty would hide what it holds.
async fn read_page(
    http: &reqwest::Client,
    url: &str,
    key: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut last = String::new();
    for _ in 0..100 {
        match http.get(url).bearer_auth(key).send().await {
            Ok(r) if r.status().is_success() => return Ok(r.json().await?),
            Ok(r) => last = format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("cannot read the log ({url}): {last}").into())
}

/// What the checkers found, besides the database's own invariants.
struct Verdict<'a> {
    violations: Vec<(String, Vec<&'a Op>)>,
    unresolved: usize,
    resolved_by_log: usize,
    winners: BTreeMap<usize, Vec<&'a Op>>,
    contended: usize,
}

/// Judges a history against the log (every event, in order, as the API
/// gives them) and what each stream received.
fn judge<'a>(ops: &'a [Op], events: &[Value], streams: &[Vec<u64>]) -> Verdict<'a> {
    let mut violations: Vec<(String, Vec<&Op>)> = Vec::new();
    let head = events.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0);
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    if seqs != (1..=head).collect::<Vec<_>>() {
        violations.push(("the event log has gaps or repeats".into(), Vec::new()));
    }

    // 2. Acknowledged and refused operations against the log.
    let mut versions: HashMap<(String, u64), &Value> = HashMap::new();
    let mut by_note: HashMap<String, HashSet<String>> = HashMap::new();
    for e in events {
        let after = &e["data"]["after"];
        if e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("Reservation"))
            && let (Some(id), Some(v)) = (after["id"].as_str(), after["version"].as_u64())
        {
            versions.insert((id.to_owned(), v), after);
            if let Some(note) = after["note"].as_str() {
                by_note
                    .entry(note.to_owned())
                    .or_default()
                    .insert(id.to_owned());
            }
        }
    }
    for op in ops {
        match (op.outcome, &op.reservation) {
            (Outcome::Ok, Some(r)) => {
                let key = (
                    r["id"].as_str().unwrap_or_default().to_owned(),
                    r["version"].as_u64().unwrap_or(0),
                );
                let matches = versions.get(&key).is_some_and(|logged| {
                    logged["resource_id"] == r["resource_id"]
                        && logged["status"] == r["status"]
                        && same_instant(&logged["range"]["start"], &r["starts_at"])
                        && same_instant(&logged["range"]["end"], &r["ends_at"])
                });
                if !matches {
                    violations.push((
                        format!(
                            "acknowledged {} {key:?} is not in the log as acknowledged",
                            op.kind
                        ),
                        vec![op],
                    ));
                }
            }
            (Outcome::Fail, _)
                if op
                    .note
                    .as_ref()
                    .is_some_and(|note| by_note.contains_key(note)) =>
            {
                violations.push(("a refused create left a reservation".into(), vec![op]));
            }
            _ => {}
        }
        if let Some(note) = &op.note
            && by_note.get(note).is_some_and(|ids| ids.len() > 1)
        {
            violations.push(("one operation made two reservations".into(), vec![op]));
        }
    }
    let unresolved: Vec<&Op> = ops.iter().filter(|o| o.outcome == Outcome::Info).collect();
    let resolved_by_log = unresolved
        .iter()
        .filter(|o| o.note.as_ref().is_some_and(|n| by_note.contains_key(n)))
        .count();

    // 3. Hot slots: at most one winner each.
    let mut winners: BTreeMap<usize, Vec<&Op>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.outcome == Outcome::Ok) {
        if let Some(s) = op.hot_slot {
            winners.entry(s).or_default().push(op);
        }
    }
    for (s, w) in &winners {
        if w.len() > 1 {
            violations.push((format!("hot slot {s} has {} winners", w.len()), w.clone()));
        }
    }
    let contended = ops.iter().filter(|o| o.hot_slot.is_some()).count();

    // 4. Every stream saw every event once, in order.
    for (i, seen) in streams.iter().enumerate() {
        if seen != &(1..=head).collect::<Vec<_>>() {
            let dupes = seen.len() - seen.iter().collect::<HashSet<_>>().len();
            let missing = (1..=head).filter(|s| !seen.contains(s)).count();
            let disorder = seen.windows(2).filter(|w| w[0] >= w[1]).count();
            violations.push((
                format!(
                    "the stream on node {i} saw {} events for a log of {head}: {missing} missing, {dupes} twice, {disorder} out of order",
                    seen.len()
                ),
                Vec::new(),
            ));
        }
    }

    Verdict {
        violations,
        unresolved: unresolved.len(),
        resolved_by_log,
        winners,
        contended,
    }
}

fn same_instant(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => {
            a.parse::<DateTime<Utc>>().ok() == b.parse::<DateTime<Utc>>().ok() && !a.is_empty()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "01a2375a-0000-7000-8000-000000000001";

    fn created(n: usize, id: &str, start: &str, end: &str) -> Op {
        Op {
            n,
            client: 0,
            workload: Workload::HotSlot,
            kind: "create",
            key: format!("key-{n}"),
            note: Some(format!("op-{n}")),
            hot_slot: Some(0),
            tenant: 0,
            request: Value::Null,
            outcome: Outcome::Ok,
            status: 201,
            problem: None,
            reservation: Some(json!({"id": id, "version": 1, "resource_id": R,
                "starts_at": start, "ends_at": end, "status": "confirmed"})),
            attempts: 1,
            tries: Vec::new(),
            node: 0,
            invoke: Duration::ZERO,
            complete: Duration::from_millis(5),
        }
    }

    fn refused(n: usize) -> Op {
        Op {
            outcome: Outcome::Fail,
            status: 409,
            problem: Some("slot-taken".into()),
            reservation: None,
            ..created(n, "", "", "")
        }
    }

    fn event(seq: u64, id: &str, note: &str, start: &str, end: &str) -> Value {
        json!({"seq": seq, "type": "ReservationCreated", "data": {"before": null, "after": {
            "id": id, "version": 1, "resource_id": R, "status": "confirmed", "note": note,
            "range": {"start": start, "end": end}}}})
    }

    const A: &str = "2031-01-06T10:00:00Z";
    const B: &str = "2031-01-06T10:30:00Z";

    fn kinds(v: &Verdict<'_>) -> Vec<String> {
        v.violations.iter().map(|(what, _)| what.clone()).collect()
    }

    #[test]
    fn a_clean_history_passes() {
        let ops = vec![created(1, "r1", A, B), refused(2)];
        let events = vec![event(1, "r1", "op-1", "2031-01-06T10:00:00.000000Z", B)];
        let v = judge(&ops, &events, &[vec![1], vec![1]]);
        assert!(v.violations.is_empty(), "{:?}", kinds(&v));
        assert_eq!(v.winners[&0].len(), 1);
    }

    #[test]
    fn two_winners_of_a_hot_slot_are_a_violation() {
        let ops = vec![created(1, "r1", A, B), created(2, "r2", A, B)];
        let events = vec![event(1, "r1", "op-1", A, B), event(2, "r2", "op-2", A, B)];
        let v = judge(&ops, &events, &[vec![1, 2]]);
        assert_eq!(kinds(&v), ["hot slot 0 has 2 winners"]);
        assert_eq!(v.violations[0].1.len(), 2, "the excerpt names both");
    }

    #[test]
    fn an_acknowledgement_the_log_does_not_hold_is_a_violation() {
        let ops = vec![created(1, "r1", A, B)];
        let moved = event(1, "r1", "op-1", B, "2031-01-06T11:00:00Z");
        let v = judge(&ops, &[moved], &[vec![1]]);
        assert_eq!(v.violations.len(), 1, "{:?}", kinds(&v));
        assert!(kinds(&v)[0].starts_with("acknowledged create"));
        let v = judge(&ops, &[], &[vec![]]);
        assert_eq!(v.violations.len(), 1, "lost: {:?}", kinds(&v));
    }

    #[test]
    fn a_refused_create_that_left_a_reservation_is_a_violation() {
        let ops = vec![refused(7)];
        let v = judge(&ops, &[event(1, "r9", "op-7", A, B)], &[vec![1]]);
        assert_eq!(kinds(&v), ["a refused create left a reservation"]);
    }

    #[test]
    fn an_operation_applied_twice_is_a_violation() {
        let info = Op {
            outcome: Outcome::Info,
            status: 0,
            reservation: None,
            hot_slot: None,
            ..created(3, "", "", "")
        };
        let events = vec![
            event(1, "r1", "op-3", A, B),
            event(2, "r2", "op-3", B, "2031-01-06T11:00:00Z"),
        ];
        let v = judge(std::slice::from_ref(&info), &events, &[vec![1, 2]]);
        assert_eq!(kinds(&v), ["one operation made two reservations"]);
        assert_eq!(v.unresolved, 1);
    }

    #[test]
    fn a_stream_that_missed_repeated_or_reordered_an_event_is_a_violation() {
        let events = vec![event(1, "r1", "x", A, B), event(2, "r2", "y", A, B)];
        for seen in [vec![1], vec![1, 1, 2], vec![2, 1]] {
            let v = judge(&[], &events, &[vec![1, 2], seen.clone()]);
            assert_eq!(v.violations.len(), 1, "{seen:?}");
            assert!(kinds(&v)[0].starts_with("the stream on node 1"), "{seen:?}");
        }
    }

    #[test]
    fn a_gap_in_the_log_is_a_violation() {
        let events = vec![event(1, "r1", "x", A, B), event(3, "r2", "y", A, B)];
        let v = judge(&[], &events, &[vec![1, 3]]);
        assert!(
            kinds(&v).iter().any(|k| k.contains("gaps")),
            "{:?}",
            kinds(&v)
        );
    }
}
