//! `store-bench`: how fast is the write engine (`booking_core::engine::apply`
//! over `PgStore`) compared with PostgreSQL running the same statements
//! with no Rust in between?
//!
//! Both sides book one hot resource in distinct 15-minute slots, each with
//! one product line, for the same tenant, with the same number of
//! concurrent clients, against the same server: the same exclusion check,
//! stock row lock and per-tenant event counter. The ratio is the figure.

use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use booking_core::engine::{self, CatalogWrite, apply, apply_batch};
use booking_core::{
    CatalogRecord, EventQuery, EventType, Name, ProductBranch, PutMode, RangeLimits,
    ReservationStore, Resource, ResourceBranch, ResourceId, ResourceKind, Schedule, StockChange,
    StockOp, TimeRange,
};
use booking_postgres::{PgSettings, PgStore};
use booking_testkit::fixture::{Clinic, day};
use chrono::Duration as ChronoDuration;
use sqlx::{Connection, Executor, PgConnection};

/// Where a benchmark may create and drop scratch databases.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct ScratchPg {
    /// A PostgreSQL URL on which the benchmark may create and drop scratch
    /// databases.
    #[arg(
        long,
        env = "BOOKING_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub(crate) admin_url: String,
}

/// A scratch database, dropped with [`Scratch::drop`].
pub(crate) struct Scratch {
    admin: PgConnection,
    /// Its name.
    pub(crate) name: String,
    /// A URL to it.
    pub(crate) url: String,
}

impl ScratchPg {
    /// Creates a database named `<prefix>_<random>`.
    pub(crate) async fn create(&self, prefix: &str) -> Result<Scratch, sqlx::Error> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await?;
        let url = match self.admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => format!("{}/{name}", self.admin_url),
        };
        Ok(Scratch { admin, name, url })
    }
}

impl Scratch {
    /// Drops the database (closing its connections); errors are ignored.
    pub(crate) async fn drop(mut self) {
        let _ = self
            .admin
            .execute(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name).as_str())
            .await;
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    pg: ScratchPg,
    /// Concurrent writers (and pgbench clients).
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Seconds each side runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Keep the scratch database afterwards (to inspect plans and data).
    #[arg(long)]
    keep_database: bool,
    /// Bookings each writer sends together (`engine::apply_batch`: one
    /// transaction for all of them); 1 runs `engine::apply`. pgbench runs
    /// the same statements for as many bookings per transaction.
    #[arg(long, default_value_t = 1)]
    batch: usize,
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let scratch = args.pg.create("booking_bench").await?;
    let result = bench(&args, &scratch.url, &scratch.name).await;
    if args.keep_database {
        println!("kept database {}", scratch.name);
    } else {
        scratch.drop().await;
    }
    result
}

async fn bench(args: &Args, url: &str, db: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut settings = PgSettings::new(url);
    settings.max_connections = u32::try_from(args.writers)?;
    let store = Arc::new(PgStore::connect(&settings).await?);
    let duration = Duration::from_secs(args.seconds);
    println!(
        "store-bench: {} writers, {} s per side, database {db}",
        args.writers, args.seconds
    );
    let (c, payload) = hot_clinic(&store).await?;
    // Equal conditions: every run books its own fresh resource, each client
    // its own run of consecutive slots (the same index pattern on both
    // sides). Whichever side runs first on a new database is slower (WAL
    // segments, caches), so: a discarded warm-up, then store, pgbench,
    // store, and the store's mean (A-B-A also cancels drift).
    let warmup = run_store(
        &store,
        &c,
        bench_resource(&store, &c).await?,
        args.writers,
        args.batch,
        duration,
    )
    .await?;
    let first = run_store(
        &store,
        &c,
        bench_resource(&store, &c).await?,
        args.writers,
        args.batch,
        duration,
    )
    .await?;
    let theirs = run_pgbench(
        args.writers,
        args.keep_database,
        url,
        &c,
        bench_resource(&store, &c).await?,
        &payload,
        duration,
        args.batch,
    )?;
    let second = run_store(
        &store,
        &c,
        bench_resource(&store, &c).await?,
        args.writers,
        args.batch,
        duration,
    )
    .await?;
    let ours = f64::midpoint(first, second);
    println!("warm-up {warmup:.0} tx/s; store runs {first:.0} and {second:.0} tx/s");
    let check = store
        .events(c.tenant, &EventQuery::since(booking_core::Seq::ZERO, 1))
        .await?;
    assert!(!check.is_empty(), "the store wrote events");

    println!();
    let engine = if args.batch > 1 {
        format!("engine::apply_batch of {} (create + 1 each)", args.batch)
    } else {
        "engine::apply on PgStore (create + 1)".to_owned()
    };
    println!("| side                                          | bookings/s |");
    println!("|-----------------------------------------------|------------|");
    println!("| {engine:<45} | {ours:>10.0} |");
    println!("| pgbench, the same SQL                         | {theirs:>10.0} |");
    println!();
    println!("ratio engine / pgbench = {:.2}", ours / theirs);
    Ok(())
}

/// The fixture clinic with its kit's stock at the most a level holds, and
/// one booking of a kit made through the store, whose JSON documents
/// pgbench then writes (the exact bytes the store writes).
async fn hot_clinic(store: &PgStore) -> Result<(Clinic, Sample), Box<dyn std::error::Error>> {
    let c = Clinic::setup(store).await;
    engine::adjust_stock(
        store,
        &StockChange {
            tenant_id: c.tenant,
            product_id: c.kit,
            branch_id: c.madrid,
            op: StockOp::Set {
                stock: ProductBranch::MAX_STOCK,
                price: None,
            },
            by: c.by.clone(),
            at: day(),
        },
    )
    .await?;
    let first = c.create(c.with_kits(c.draft(c.dentist, c.madrid, slot(-1)?), 1));
    apply(store, first).await?;
    let payload = sample_payload(store, &c).await?;
    Ok((c, payload))
}

/// Baseline (a) of `http-bench`: the store's own SQL for a booking with
/// one unit of one hot product ([`script`]), run by pgbench with `clients`
/// on a fresh database for `seconds`; returns its tx/s.
pub(crate) async fn store_sql(
    pg: &ScratchPg,
    clients: usize,
    seconds: u64,
    k: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let scratch = pg.create("booking_store_sql").await?;
    let result = async {
        let store = PgStore::connect(&PgSettings::new(&scratch.url)).await?;
        let (c, payload) = hot_clinic(&store).await?;
        let resource = bench_resource(&store, &c).await?;
        run_pgbench(
            clients,
            false,
            &scratch.url,
            &c,
            resource,
            &payload,
            Duration::from_secs(seconds),
            k,
        )
    }
    .await;
    scratch.drop().await;
    result
}

/// The `n`th 15-minute slot after the fixture's reference day.
fn slot(n: i64) -> Result<TimeRange, booking_core::RangeError> {
    let start = day() + ChronoDuration::minutes((n + 1) * 15);
    TimeRange::new(
        start,
        start + ChronoDuration::minutes(15),
        &RangeLimits::bookings(),
    )
}

/// A new resource at Madrid with no bookings.
async fn bench_resource(
    store: &PgStore,
    c: &Clinic,
) -> Result<ResourceId, Box<dyn std::error::Error>> {
    let id = ResourceId::generate();
    let resource = CatalogRecord::Resource(Resource {
        id,
        tenant_id: c.tenant,
        name: Name::new("Bench chair")?,
        kind: ResourceKind::Room,
    });
    let write = CatalogWrite {
        by: c.by.clone(),
        at: day(),
    };
    engine::put(store, &resource, PutMode::Create, &write).await?;
    let link = CatalogRecord::Schedule(ResourceBranch {
        tenant_id: c.tenant,
        resource_id: id,
        branch_id: c.madrid,
        schedule: Schedule::unrestricted(),
    });
    engine::put(store, &link, PutMode::Create, &write).await?;
    Ok(id)
}

/// Slots of writer `w`: its own run of consecutive slots, as each pgbench
/// client has.
const SLOTS_PER_WRITER: i64 = 100_000;

/// Runs `writers` tasks, each booking its own consecutive slots of
/// `resource` with one product, `batch` at a time, for `duration`;
/// returns bookings per second.
async fn run_store(
    store: &Arc<PgStore>,
    c: &Clinic,
    resource: ResourceId,
    writers: usize,
    batch: usize,
    duration: Duration,
) -> Result<f64, Box<dyn std::error::Error>> {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, c, done) = (Arc::clone(store), c.clone(), Arc::clone(&done));
            let base = i64::try_from(w).expect("a writer index fits in i64") * SLOTS_PER_WRITER;
            tokio::spawn(async move {
                let mut n = 0;
                while started.elapsed() < duration {
                    let mut writes = Vec::with_capacity(batch);
                    for _ in 0..batch.max(1) {
                        n += 1;
                        let Ok(range) = slot(base + n) else { break };
                        writes.push(c.create(c.with_kits(c.draft(resource, c.madrid, range), 1)));
                    }
                    if writes.is_empty() {
                        break;
                    }
                    // One write: `apply_batch` runs `engine::apply`.
                    for answer in apply_batch(&*store, &writes).await {
                        answer.map_err(|e| e.to_string())?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(f64::from(u32::try_from(done.load(Ordering::Relaxed))?) / secs)
}

/// The JSON documents the store really writes for a booking with one
/// product line (the reservation event's and the stock event's payloads,
/// the lines, the price), so pgbench moves the same bytes.
struct Sample {
    reservation: String,
    stock: String,
    lines: String,
    price: String,
}

async fn sample_payload(store: &PgStore, c: &Clinic) -> Result<Sample, Box<dyn std::error::Error>> {
    let events = store
        .events(
            c.tenant,
            &EventQuery {
                types: vec![EventType::ReservationCreated, EventType::StockChanged],
                ..EventQuery::since(booking_core::Seq::ZERO, 1000)
            },
        )
        .await?;
    let of_type = |t| {
        events
            .iter()
            .find(|e| e.payload.event_type() == t)
            .ok_or(format!("no {t} event to copy"))
    };
    let booked = of_type(EventType::ReservationCreated)?;
    let change = booked
        .payload
        .reservation_change()
        .ok_or("a reservation event")?;
    Ok(Sample {
        reservation: booked.payload.data().to_string(),
        // The booking's own stock event is the last (the fixture's come first).
        stock: events
            .iter()
            .rev()
            .find(|e| e.payload.event_type() == EventType::StockChanged)
            .ok_or("no stock event to copy")?
            .payload
            .data()
            .to_string(),
        lines: serde_json::to_string(&change.after.lines)?,
        price: serde_json::to_string(&change.after.price)?,
    })
}

/// The statements the engine runs on `PgStore` for `k` creates with one
/// product line each in one transaction (`k` = 1: `engine::apply`; more:
/// `engine::apply_batch`), in the same order, as a pgbench script: each
/// create's survey and insert, then one stock statement taking `k` units
/// and one event statement with each create's event and stock event.
/// The JSON documents are passed as pgbench variables (`-D`): pgbench
/// would read `:null` inside a literal as a variable.
fn script(c: &Clinic, resource: ResourceId, k: usize) -> String {
    let (t, b, r, p) = (c.tenant, c.madrid, resource, c.kit);
    let key =
        c.by.key_id
            .map(|k| format!("'{k}'"))
            .unwrap_or("NULL".into());
    let request =
        c.by.request_id
            .as_ref()
            .map_or("NULL".into(), |r| format!("'{r}'"));
    let mut s = String::new();
    // Each client counts its own slots (`n` persists across a client's
    // transactions), exactly as each store writer does; create `i` of a
    // transaction books slot `k * n + i`.
    let _ = writeln!(s, "\\set n :n + 1");
    for i in 0..k {
        let _ = writeln!(s, "\\set n{i} :n * {k} + {i}");
        let _ = writeln!(s, "\\set slot{i} :client_id * {SLOTS_PER_WRITER} + :n{i}");
    }
    let _ = writeln!(s, "BEGIN;");
    // The ids are made by the engine, not the database: one per client and
    // create, spelled out where they are used.
    let rid = |i: usize| {
        format!(
            "(lpad(to_hex(:client_id::int), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(:n{i}::bigint), 12, '0'))::uuid"
        )
    };
    let range = |i: usize| {
        format!(
            "tstzrange('2030-01-07'::timestamptz + (:slot{i} + 1) * interval '15 minutes', \
             '2030-01-07'::timestamptz + (:slot{i} + 2) * interval '15 minutes')"
        )
    };
    for i in 0..k {
        let (rid, range) = (rid(i), range(i));
        // The engine's one read before it writes (scope, rivals, stale
        // holds), with its parameters spelled out, highest first so `$1`
        // does not match the start of `$10`.
        let mut survey = booking_postgres::SURVEY_SQL
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for (param, value) in [
            ("$11", format!("ARRAY['{b}'::uuid]")),
            ("$10", format!("ARRAY['{p}'::uuid]")),
            ("$9", "TRUE".into()),
            ("$8", "now()".into()),
            ("$7", range.clone()),
            ("$6", rid.clone()),
            ("$5", format!("ARRAY['{p}'::uuid]")),
            ("$4", "NULL".into()),
            ("$3", format!("'{r}'::uuid")),
            ("$2", format!("'{b}'::uuid")),
            ("$1", format!("'{t}'::uuid")),
        ] {
            survey = survey.replace(param, &value);
        }
        let _ = writeln!(s, "{survey};");
        let _ = writeln!(
            s,
            "WITH r AS (INSERT INTO reservations (id, tenant_id, branch_id, resource_id, service_id, starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied, lines, price, status, hold_expires_at, note, version, created_by, created_at, updated_at) VALUES ({rid}, '{t}', '{b}', '{r}', NULL, lower({range}), upper({range}), 0, 0, {range}, (:lines)::jsonb, (:price)::jsonb, 'confirmed', NULL, NULL, 1, 'bench', now(), now()) RETURNING id) INSERT INTO reservation_lines (tenant_id, reservation_id, branch_id, product_id, quantity) SELECT '{t}', r.id, '{b}', l.product_id, l.quantity FROM r, UNNEST(ARRAY['{p}'::uuid], ARRAY[1]) AS l(product_id, quantity);"
        );
    }
    let _ = writeln!(
        s,
        "WITH m AS (SELECT * FROM UNNEST(ARRAY['{p}'::uuid], ARRAY['{b}'::uuid], ARRAY[-{k}]) WITH ORDINALITY AS m(product_id, branch_id, delta, ord)), locked AS (SELECT p.product_id, p.branch_id FROM product_branches p JOIN m ON p.product_id = m.product_id AND p.branch_id = m.branch_id WHERE p.tenant_id = '{t}' ORDER BY m.ord FOR NO KEY UPDATE OF p) UPDATE product_branches p SET stock = p.stock + m.delta FROM m, locked l WHERE p.tenant_id = '{t}' AND p.product_id = m.product_id AND p.branch_id = m.branch_id AND l.product_id = m.product_id AND l.branch_id = m.branch_id AND p.stock + m.delta >= 0 RETURNING p.product_id, p.branch_id, p.stock - m.delta;"
    );
    // Events: each create's, then its stock event (numbers 2i + 1 and
    // 2i + 2); subjects: the reservation, then the product and branch of
    // its stock event.
    let events = 2 * k;
    let rids: Vec<String> = (0..k).map(rid).collect();
    let mut entities = Vec::new();
    let mut ords = Vec::new();
    for (i, id) in rids.iter().enumerate() {
        entities.extend([id.clone(), format!("'{p}'::uuid"), format!("'{b}'::uuid")]);
        ords.extend([2 * i + 1, 2 * i + 2, 2 * i + 2].map(|o| o.to_string()));
    }
    let subjects = format!(
        "ARRAY[{}], ARRAY[{}]::bigint[]",
        entities.join(", "),
        ords.join(", ")
    );
    let types = format!(
        "ARRAY[{}]",
        vec!["'ReservationCreated', 'StockChanged'"; k].join(", ")
    );
    let event_rids = format!(
        "ARRAY[{}]",
        rids.iter()
            .map(|r| format!("{r}, NULL"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let payloads = format!(
        "ARRAY[{}]",
        vec!["(:payload)::jsonb, (:stock)::jsonb"; k].join(", ")
    );
    let _ = writeln!(
        s,
        "WITH counter AS (UPDATE tenants SET last_event_seq = last_event_seq + {events} WHERE id = '{t}' RETURNING last_event_seq), subjects AS (INSERT INTO event_subjects (tenant_id, entity_id, seq) SELECT '{t}', s.entity_id, counter.last_event_seq - {events} + s.ord FROM counter, UNNEST({subjects}) AS s(entity_id, ord)) INSERT INTO events (tenant_id, seq, at, actor, actor_key_id, request_id, type, version, reservation_id, payload) SELECT '{t}', counter.last_event_seq - {events} + e.ord, now(), 'bench', {key}::uuid, {request}, e.type, 1, e.rid, e.payload FROM counter, UNNEST({types}, {event_rids}, {payloads}) WITH ORDINALITY AS e(type, rid, payload, ord) RETURNING seq;"
    );
    let _ = writeln!(s, "COMMIT;");
    s
}

/// Runs pgbench with the script of `k` bookings per transaction; returns
/// its bookings per second (without connection time).
#[allow(clippy::too_many_arguments)]
fn run_pgbench(
    writers: usize,
    keep_script: bool,
    url: &str,
    c: &Clinic,
    resource: ResourceId,
    payload: &Sample,
    duration: Duration,
    k: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let file = std::env::temp_dir().join(format!(
        "booking-store-bench-{}.sql",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&file, script(c, resource, k.max(1)))?;
    let Sample {
        reservation,
        stock,
        lines,
        price,
    } = payload;
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &writers.to_string(),
            "-j",
            &writers.min(2).to_string(),
            "-T",
            &duration.as_secs().to_string(),
            "-f",
        ])
        .arg(&file)
        .args(["-D", "n=0", "-D"])
        .arg(format!("payload={reservation}"))
        .arg("-D")
        .arg(format!("stock={stock}"))
        .arg("-D")
        .arg(format!("lines={lines}"))
        .arg("-D")
        .arg(format!("price={price}"))
        .arg(url)
        .output();
    if keep_script {
        println!("kept the pgbench script {}", file.display());
    } else {
        let _ = std::fs::remove_file(&file);
    }
    let output = output.map_err(|e| {
        format!("cannot run pgbench ({e}); install postgresql-contrib or put pgbench on PATH")
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "pgbench failed: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let failed = stdout
        .lines()
        .find(|l| l.contains("number of failed transactions"));
    if let Some(line) = failed
        && !line.contains(": 0 ")
    {
        return Err(format!("pgbench transactions failed: {line}").into());
    }
    let tps: f64 = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no tps in pgbench output:\n{stdout}"))?;
    Ok(tps * f64::from(u32::try_from(k.max(1))?))
}
