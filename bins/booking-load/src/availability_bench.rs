//! `availability-bench`: how long does a branch's free-slot question take?
//!
//! A node is built exactly as the server builds it (`booking-app`) on a
//! fresh SQLite file and on a fresh PostgreSQL database. Its tenant has one
//! branch (Europe/Madrid) whose resources work 08:00–20:00 every day, a
//! 30-minute service with a 10-minute buffer after, and — by default — 20
//! resources with 5,000 reservations over 14 days (a tenth of them
//! unexpired holds). Then, one question at a time:
//!
//! - the HTTP floor: `GET /v1/branches/{id}` (authentication, one read, a
//!   small answer) through the same stack: what any request costs;
//! - `GET /v1/availability` for the service, all resources, 14 days;
//! - the same question through the use case in process (no HTTP, no JSON);
//! - the pure computation alone (`availability::free_slots`) on the same
//!   calendars, checked to give the same slots.
//!
//! Each series is warmed up, then its p50 and p99 are printed. Speed goals
//! (p50 ≤ 10 ms and p99 ≤ 30 ms through HTTP, ≤ 1 ms for the computation)
//! are read off these numbers, never asserted in tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use booking_app::{App, Config, Database};
use booking_core::availability::{ResourceCalendar, SlotShape, SlotWindow, free_slots};
use booking_core::{
    Actor, Attribution, AvailabilityRequest, Branch, BranchId, CatalogRecord, DayInterval, KeySpec,
    Minutes, Money, Name, NewReservation, PutMode, RangeLimits, Resource, ResourceBranch,
    ResourceId, ResourceKind, Role, Schedule, ServiceId, ServiceItem, Services, SlotKind, TenantId,
    TenantSettings, TimeRange, WeeklyHours,
};
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::store_bench::ScratchPg;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    pg: ScratchPg,
    /// Resources at the branch.
    #[arg(long, default_value_t = 20)]
    resources: usize,
    /// Days asked for (and filled with reservations).
    #[arg(long, default_value_t = 14)]
    days: i64,
    /// Reservations written before asking.
    #[arg(long, default_value_t = 5000)]
    reservations: usize,
    /// Questions per measured series (after 20 unmeasured).
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Only this store (`sqlite` or `postgres`); both by default.
    #[arg(long)]
    only: Option<String>,
    /// Keep the scratch database and file afterwards (to inspect plans).
    #[arg(long)]
    keep_database: bool,
}

const ZONE: Tz = chrono_tz::Europe::Madrid;
const WARM_UP: usize = 20;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "availability-bench: {} resources, {} days, {} reservations, {} questions per series",
        args.resources, args.days, args.reservations, args.queries
    );
    let mut rows = Vec::new();
    if args.only.as_deref().is_none_or(|o| o == "sqlite") {
        let dir = std::env::temp_dir().join(format!(
            "booking-availability-bench-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        let result = bench("SQLite", Database::Sqlite(dir.join("bench.db")), &args).await;
        if args.keep_database {
            println!("kept {}", dir.join("bench.db").display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
        rows.push(result.map_err(|e| e.to_string())?);
    }
    if args.only.as_deref().is_none_or(|o| o == "postgres") {
        let scratch = args.pg.create("booking_availability").await?;
        let database = Database::Postgres {
            url: scratch.url.clone(),
            pool: 8,
        };
        let result = bench("PostgreSQL", database, &args).await;
        if args.keep_database {
            println!("kept {}", scratch.url);
        } else {
            scratch.drop().await;
        }
        rows.push(result.map_err(|e| e.to_string())?);
    }
    println!();
    println!(
        "| store      | HTTP floor p50 / p99 | availability HTTP p50 / p99 | use case p50 / p99 | its SQL read p50 / p99 | pure p50 / p99     | slots | body    |"
    );
    println!(
        "|------------|----------------------|-----------------------------|--------------------|------------------------|--------------------|-------|---------|"
    );
    for r in &rows {
        println!(
            "| {:<10} | {:>8} / {:>9} | {:>12} / {:>12} | {:>8} / {:>7} | {:>10} / {:>9} | {:>8} / {:>7} | {:>5} | {:>4} KB |",
            r.store,
            ms(r.floor.0),
            ms(r.floor.1),
            ms(r.http.0),
            ms(r.http.1),
            ms(r.use_case.0),
            ms(r.use_case.1),
            ms(r.bare.0),
            ms(r.bare.1),
            ms(r.pure.0),
            ms(r.pure.1),
            r.slots,
            r.body_bytes / 1024
        );
    }
    println!();
    println!("targets: through HTTP p50 ≤ 10 ms and p99 ≤ 30 ms; the computation alone ≤ 1 ms");
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Row {
    store: &'static str,
    floor: (Duration, Duration),
    http: (Duration, Duration),
    use_case: (Duration, Duration),
    bare: (Duration, Duration),
    pure: (Duration, Duration),
    slots: usize,
    body_bytes: usize,
}

/// p50 and p99 of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i.min(samples.len() - 1)]
    };
    (at(0.50), at(0.99))
}

/// Times `n` calls of `f` after [`WARM_UP`] unmeasured ones.
async fn series<F, Fut>(n: usize, mut f: F) -> Result<(Duration, Duration), BenchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), BenchError>>,
{
    for _ in 0..WARM_UP {
        f().await?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        samples.push(t.elapsed());
    }
    Ok(percentiles(samples))
}

/// The tenant, branch, service and resources the questions are about, and
/// every range written (per resource) for the pure computation.
struct Clinic {
    tenant: TenantId,
    branch: BranchId,
    service: ServiceId,
    resources: Vec<ResourceId>,
    schedule: Schedule,
    busy: Vec<Vec<TimeRange>>,
    staff_key: String,
    first_day: DateTime<Utc>,
}

async fn bench(store: &'static str, database: Database, args: &Args) -> Result<Row, BenchError> {
    let app = App::build(Config::new(database.clone())).await?;
    let services = app.services().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, None, async {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    let mut c = clinic(&services, args).await?;
    c.busy = seed(&services, &c, args).await?;
    let written: usize = c.busy.iter().map(Vec::len).sum();
    println!(
        "{store}: {written} reservations written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client
            .get(format!("{base}{path}"))
            .bearer_auth(&c.staff_key);
        async move {
            let response = request.send().await?;
            if !response.status().is_success() {
                return Err(format!("{path}: {}", response.status()).into());
            }
            Ok::<_, BenchError>(response.bytes().await?)
        }
    };
    let from = c.first_day;
    let to = from + chrono::Duration::days(args.days);
    let question = format!(
        "/v1/availability?branch_id={}&service_id={}&from={}&to={}",
        c.branch,
        c.service,
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let floor = series(args.queries, || {
        let f = get(format!("/v1/branches/{}", c.branch));
        async move { f.await.map(drop) }
    })
    .await?;
    let answer = get(question.clone()).await?;
    let body: serde_json::Value = serde_json::from_slice(&answer)?;
    let http_slots = body["slots"].as_array().map_or(0, Vec::len);
    let http = series(args.queries, || {
        let f = get(question.clone());
        async move { f.await.map(drop) }
    })
    .await?;

    let request = AvailabilityRequest {
        tenant_id: c.tenant,
        branch_id: c.branch,
        kind: SlotKind::Service(c.service),
        resources: Vec::new(),
        window: TimeRange::new(from, to, &RangeLimits::queries())?,
        step: Minutes::new(15)?,
        limit: booking_core::service::MAX_SLOTS,
    };
    let in_process = services.bookings().availability(&request).await?;
    let use_case = series(args.queries, || {
        let (services, request) = (&services, &request);
        async move {
            services.bookings().availability(request).await?;
            Ok(())
        }
    })
    .await?;

    // The one read the answer needs, as the store makes it, straight
    // through the driver: the floor under the use case.
    let reach = TimeRange::new(
        from,
        to + chrono::Duration::minutes(40),
        &RangeLimits::stored(),
    )?;
    let sql = occupancy_read(&database, &c, reach).await?;
    let bare = series(args.queries, || sql.run()).await?;

    let shape = SlotShape {
        duration: Minutes::new(30)?,
        buffer_before: Minutes::ZERO,
        buffer_after: Minutes::new(10)?,
        step: Minutes::new(15)?,
    };
    let now = Utc::now();
    let window = SlotWindow {
        from,
        to,
        earliest: now,
        latest: now + chrono::Duration::days(3650),
    };
    let calendars: Vec<ResourceCalendar<'_>> = c
        .resources
        .iter()
        .zip(&c.busy)
        .map(|(r, busy)| ResourceCalendar {
            resource_id: *r,
            schedule: &c.schedule,
            busy: busy.clone(),
        })
        .collect();
    let computed = free_slots(ZONE, &shape, &window, &calendars);
    if computed != in_process.slots || computed.len() != http_slots {
        return Err(format!(
            "the pure computation ({}), the use case ({}) and HTTP ({http_slots}) disagree",
            computed.len(),
            in_process.slots.len()
        )
        .into());
    }
    let pure = series(args.queries, || {
        let slots = free_slots(ZONE, &shape, &window, &calendars);
        std::hint::black_box(slots);
        async { Ok(()) }
    })
    .await?;

    let _ = stop.send(());
    let _ = server.await;
    Ok(Row {
        store,
        floor,
        http,
        use_case,
        bare,
        pure,
        slots: computed.len(),
        body_bytes: answer.len(),
    })
}

async fn clinic(services: &Services, args: &Args) -> Result<Clinic, BenchError> {
    let operator = Attribution::named(Actor::new("availability-bench")?);
    let made = services
        .access()
        .provision_tenant(Name::new("Bench Dental")?, Actor::new("admin")?, &operator)
        .await?;
    let tenant = made.tenant.id;
    let by = Attribution {
        actor: Actor::new("admin")?,
        key_id: Some(made.admin.key.id),
        request_id: None,
    };
    let staff_key = services
        .access()
        .create_key(
            tenant,
            KeySpec {
                role: Role::Staff,
                actor: Actor::new("reception")?,
                expires_at: None,
            },
            &by,
        )
        .await?
        .secret;
    let put = |record: CatalogRecord| {
        let by = by.clone();
        async move {
            services
                .catalog()
                .put(&record, PutMode::Upsert, &by)
                .await
                .map(drop)
        }
    };
    // Holds last a day, and the bench's key may keep all of them.
    put(CatalogRecord::Settings(TenantSettings::new(
        tenant, 0, 3650, 1440, 10_000,
    )?))
    .await?;
    let branch = BranchId::generate();
    put(CatalogRecord::Branch(Branch {
        id: branch,
        tenant_id: tenant,
        name: Name::new("Madrid Centro")?,
        time_zone: ZONE,
    }))
    .await?;
    let service = ServiceId::generate();
    put(CatalogRecord::Service(ServiceItem {
        id: service,
        tenant_id: tenant,
        name: Name::new("Cleaning")?,
        duration: Minutes::new(30)?,
        price: Money::from_code(6000, "EUR")?,
        buffer_before: Minutes::ZERO,
        buffer_after: Minutes::new(10)?,
    }))
    .await?;
    let schedule = Schedule::weekly(WeeklyHours::new(std::array::from_fn(|_| {
        vec![DayInterval::hm(8, 0, 20, 0).unwrap_or_else(|_| unreachable!("valid hours"))]
    }))?);
    let mut resources = Vec::new();
    for i in 0..args.resources {
        let id = ResourceId::generate();
        put(CatalogRecord::Resource(Resource {
            id,
            tenant_id: tenant,
            name: Name::new(&format!("Chair {i}"))?,
            kind: ResourceKind::Room,
        }))
        .await?;
        put(CatalogRecord::Schedule(ResourceBranch {
            tenant_id: tenant,
            resource_id: id,
            branch_id: branch,
            schedule: schedule.clone(),
        }))
        .await?;
        resources.push(id);
    }
    // From local midnight of the next Monday at least a week away.
    let mut day = (Utc::now() + chrono::Duration::days(7)).date_naive();
    while day.weekday() != chrono::Weekday::Mon {
        day = day.succ_opt().ok_or("no next day")?;
    }
    let first_day = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(ZONE).single())
        .ok_or("no local midnight")?
        .with_timezone(&Utc);
    Ok(Clinic {
        tenant,
        branch,
        service,
        busy: vec![Vec::new(); resources.len()],
        resources,
        schedule,
        staff_key,
        first_day,
    })
}

/// Writes `args.reservations` half-hour reservations, spread evenly over
/// the resources and days (three in four half hours of a working day are
/// taken), every tenth a hold; four writers at once. Returns each
/// resource's written ranges.
async fn seed(
    services: &Services,
    c: &Clinic,
    args: &Args,
) -> Result<Vec<Vec<TimeRange>>, BenchError> {
    let by = Attribution::named(Actor::new("availability-bench")?);
    let mut plan: Vec<(usize, TimeRange)> = Vec::new();
    'fill: for d in 0..args.days {
        let date = (c.first_day.with_timezone(&ZONE) + chrono::Duration::days(d)).date_naive();
        for (r, _) in c.resources.iter().enumerate() {
            for k in 0..24i64 {
                if (k * 7 + r as i64 * 3 + d * 5) % 24 >= 18 {
                    continue;
                }
                let start = date
                    .and_hms_opt(8, 0, 0)
                    .and_then(|t| t.and_local_timezone(ZONE).single())
                    .ok_or("no local time")?
                    .with_timezone(&Utc)
                    + chrono::Duration::minutes(30 * k);
                plan.push((
                    r,
                    TimeRange::new(
                        start,
                        start + chrono::Duration::minutes(30),
                        &RangeLimits::bookings(),
                    )?,
                ));
                if plan.len() == args.reservations {
                    break 'fill;
                }
            }
        }
    }
    let plan = Arc::new(plan);
    let writers = 4;
    let tasks = (0..writers).map(|w| {
        let (services, plan, by) = (services.clone(), plan.clone(), by.clone());
        let (tenant, branch, resources) = (c.tenant, c.branch, c.resources.clone());
        tokio::spawn(async move {
            for (i, (r, range)) in plan.iter().enumerate().skip(w).step_by(writers) {
                let request = NewReservation {
                    id: None,
                    tenant_id: tenant,
                    branch_id: branch,
                    resource_id: resources[*r],
                    service_id: None,
                    range: *range,
                    products: Vec::new(),
                    note: None,
                    hold_for: None,
                    override_hours: None,
                    override_start: None,
                    by: by.clone(),
                };
                let written = if i % 10 == 0 {
                    services.bookings().hold(request).await
                } else {
                    services.bookings().create(request).await
                };
                written.map_err(|e| format!("seeding {range}: {e}"))?;
            }
            Ok::<_, String>(())
        })
    });
    for task in futures::future::join_all(tasks).await {
        task??;
    }
    // The pure computation's calendars: what was written.
    let mut busy = vec![Vec::new(); c.resources.len()];
    for (r, range) in plan.iter() {
        busy[*r].push(*range);
    }
    Ok(busy)
}

/// The store's occupancy statement with the question's arguments, on a
/// connection of its own.
enum OccupancyRead {
    Sqlite {
        pool: sqlx::SqlitePool,
        sql: String,
        tenant: uuid::Uuid,
        resources: Vec<uuid::Uuid>,
        window: (i64, i64),
        now: i64,
    },
    Postgres {
        pool: sqlx::PgPool,
        tenant: uuid::Uuid,
        resources: Vec<uuid::Uuid>,
        window: sqlx::postgres::types::PgRange<DateTime<Utc>>,
        now: DateTime<Utc>,
    },
}

async fn occupancy_read(
    database: &Database,
    c: &Clinic,
    window: TimeRange,
) -> Result<OccupancyRead, BenchError> {
    let resources: Vec<uuid::Uuid> = c.resources.iter().map(|r| r.as_uuid()).collect();
    let now = Utc::now();
    Ok(match database {
        Database::Sqlite(path) => OccupancyRead::Sqlite {
            pool: sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(path)
                        .read_only(true),
                )
                .await?,
            sql: booking_sqlite::occupancy_sql(resources.len()),
            tenant: c.tenant.as_uuid(),
            resources,
            window: (
                window.start().timestamp_micros(),
                window.end().timestamp_micros(),
            ),
            now: now.timestamp_micros(),
        },
        Database::Postgres { url, .. } => OccupancyRead::Postgres {
            pool: sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?,
            tenant: c.tenant.as_uuid(),
            resources,
            window: sqlx::postgres::types::PgRange {
                start: std::ops::Bound::Included(window.start()),
                end: std::ops::Bound::Excluded(window.end()),
            },
            now,
        },
    })
}

impl OccupancyRead {
    async fn run(&self) -> Result<(), BenchError> {
        match self {
            Self::Sqlite {
                pool,
                sql,
                tenant,
                resources,
                window,
                now,
            } => {
                let mut query = sqlx::query_as::<_, (uuid::Uuid, String)>(sql)
                    .bind(tenant)
                    .bind(window.0)
                    .bind(window.1)
                    .bind(now);
                for r in resources {
                    query = query.bind(r);
                }
                std::hint::black_box(query.fetch_all(pool).await?);
            }
            Self::Postgres {
                pool,
                tenant,
                resources,
                window,
                now,
            } => {
                let rows: Vec<(uuid::Uuid, DateTime<Utc>, DateTime<Utc>)> =
                    sqlx::query_as(booking_postgres::OCCUPANCY_SQL)
                        .bind(tenant)
                        .bind(resources)
                        .bind(window)
                        .bind(now)
                        .fetch_all(pool)
                        .await?;
                std::hint::black_box(rows);
            }
        }
        Ok(())
    }
}
