//! `booking-load http-bench`: create throughput through HTTP on real
//! `booking-server` processes over PostgreSQL + Valkey, disjoint slots
//! spread over many resources against the same number of slots of one hot
//! resource, on 1 and 3 nodes. Reports bookings per second, p50 / p99 /
//! max, client timeouts, false conflicts (a refusal of a disjoint slot:
//! must be 0) and the servers' CPU milliseconds per booking.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use booking_test_services::valkey::ValkeyServer;
use serde_json::{Value, json};

use crate::nodes::{Node, catalog, cpu_time, free_port, healthy, new_tenant, server_binary};
use crate::store_bench::ScratchPg;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    pg: ScratchPg,
    /// The server binary (default: `booking-server` beside this one).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
    /// Node counts to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    nodes: Vec<usize>,
    /// Concurrent HTTP clients (and pgbench clients), comma-separated: a
    /// run for each.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    clients: Vec<usize>,
    /// Tenants: with more than one, each has a branch, one resource and
    /// its own product, and the bookings go round the tenants (instead of
    /// one tenant's resources and one hot product).
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Bookings per run.
    #[arg(long, default_value_t = 2000)]
    bookings: u64,
    /// Resources of the spread layout.
    #[arg(long, default_value_t = 16)]
    resources: usize,
    /// Book without the product line (each booking then locks and writes
    /// only its resource's hours).
    #[arg(long)]
    no_product: bool,
    /// The client's timeout, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Rounds at each client count. Each round measures (b) before and
    /// after its HTTP runs and divides by their mean; with more than one,
    /// the median ratio of each layout closes the report. On a shared
    /// machine (b) can move by half between two runs a minute apart.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

struct Run {
    label: String,
    per_second: f64,
    p50: f64,
    p99: f64,
    max: f64,
    timeouts: u64,
    refused: u64,
    cpu_ms_per_booking: f64,
}

/// One layout: `resources_n` resources of one tenant, or with `--tenants`
/// one resource of each tenant.
async fn one(
    args: &Args,
    clients: usize,
    nodes_n: usize,
    resources_n: usize,
) -> Result<Run, Box<dyn std::error::Error>> {
    let scratch = args.pg.create("booking_http").await?;
    let result = on(args, clients, nodes_n, resources_n, &scratch.url).await;
    scratch.drop().await;
    result
}

/// Where one booking goes: (key, branch, resource, product).
type Target = (String, String, String, String);

async fn on(
    args: &Args,
    clients: usize,
    nodes_n: usize,
    resources_n: usize,
    db: &str,
) -> Result<Run, Box<dyn std::error::Error>> {
    let binary = server_binary(args.server.as_ref());
    let valkey = ValkeyServer::start();
    let mut nodes = Vec::new();
    for _ in 0..nodes_n {
        let mut node = Node {
            binary: binary.clone(),
            db: db.to_owned(),
            valkey: valkey.url(),
            port: free_port()?,
            lock_ttl: 30,
            log: None,
            child: None,
        };
        node.spawn()?;
        nodes.push(node);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(args.timeout_ms))
        .pool_max_idle_per_host(clients * 2)
        .build()?;
    for n in &nodes {
        if !healthy(&http, &n.base()).await {
            return Err("a node did not start".into());
        }
    }
    let base = nodes[0].base();
    let mut targets: Vec<Target> = Vec::new();
    if args.tenants > 1 {
        for t in 0..args.tenants {
            let (_, key) = new_tenant(&binary, db, &format!("Bench {t}"))?;
            let (branch, resources, product) = catalog(&http, &base, &key, 1).await?;
            targets.push((key, branch, resources[0].clone(), product));
        }
    } else {
        let (_, admin) = new_tenant(&binary, db, "Bench")?;
        let (branch, resources, product) = catalog(&http, &base, &admin, resources_n).await?;
        let staff: Value = http
            .post(format!("{base}/v1/keys"))
            .bearer_auth(&admin)
            .json(&json!({"role": "staff", "actor": "bench"}))
            .send()
            .await?
            .json()
            .await?;
        let staff = staff["api_key"].as_str().ok_or("no staff key")?.to_owned();
        for r in resources {
            targets.push((staff.clone(), branch.clone(), r, product.clone()));
        }
    }
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(Node::base).collect());
    let targets = Arc::new(targets);
    let cpu_before: Duration = nodes
        .iter()
        .filter_map(|n| n.child.as_ref().and_then(|c| cpu_time(c.id())))
        .sum();

    let next = Arc::new(AtomicU64::new(0));
    let (timeouts, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for c in 0..clients {
        let (http, bases, targets) = (http.clone(), bases.clone(), targets.clone());
        let (next, timeouts, refused) = (next.clone(), timeouts.clone(), refused.clone());
        let total = args.bookings;
        let with_product = !args.no_product;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let base = &bases[c % bases.len()];
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return latencies;
                }
                // Consecutive 30-minute slots of each resource: disjoint,
                // two to an hour, as a dentist's day is.
                let n = targets.len() as u64;
                let (key, branch, resource, product) =
                    &targets[usize::try_from(k % n).unwrap_or(0)];
                let start = chrono::DateTime::parse_from_rfc3339("2031-01-01T00:00:00Z")
                    .expect("a fixed instant")
                    .to_utc()
                    + chrono::Duration::minutes(30 * i64::try_from(k / n).unwrap_or(0));
                let mut body = json!({
                    "branch_id": branch,
                    "resource_id": resource,
                    "starts_at": start.to_rfc3339(),
                    "ends_at": (start + chrono::Duration::minutes(30)).to_rfc3339(),
                });
                if with_product {
                    body["products"] = json!([{"product_id": product, "quantity": 1}]);
                }
                let t0 = Instant::now();
                match http
                    .post(format!("{base}/v1/reservations"))
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        latencies.push(t0.elapsed().as_secs_f64() * 1e3);
                    }
                    Ok(_) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await?);
    }
    let elapsed = started.elapsed();
    let cpu_after: Duration = nodes
        .iter()
        .filter_map(|n| n.child.as_ref().and_then(|c| cpu_time(c.id())))
        .sum();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let booked = latencies.len() as f64;
    Ok(Run {
        label: format!(
            "{nodes_n} node{}, {}",
            if nodes_n == 1 { "" } else { "s" },
            if args.tenants > 1 {
                format!("{} tenants", args.tenants)
            } else if resources_n == 1 {
                "one hot resource".to_owned()
            } else {
                format!("{resources_n} resources")
            }
        ),
        per_second: booked / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        max: pct(1.0),
        timeouts: timeouts.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
        cpu_ms_per_booking: (cpu_after.saturating_sub(cpu_before)).as_secs_f64() * 1e3
            / booked.max(1.0),
    })
}

/// The smallest transaction with the same guarantees as a booking: an
/// insert under an exclusion constraint (no overlap on a resource), a
/// conditional stock decrement (never below zero) and the next of the
/// tenant's gapless event numbers with the event row — three statements in
/// one transaction, no reads. Run by pgbench with as many clients as the
/// HTTP run, over as many tenants (each with its own counter, product and
/// resource); returns its transactions per second.
async fn physical_limit(
    args: &Args,
    clients: usize,
    seconds: u64,
) -> Result<f64, Box<dyn std::error::Error>> {
    let tenants = args.tenants.max(1);
    let scratch = args.pg.create("booking_limit").await?;
    let result = async {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&scratch.url).await?;
        for statement in [
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            "CREATE TABLE counters (tenant int PRIMARY KEY, seq bigint NOT NULL)",
            "CREATE TABLE stock (product int PRIMARY KEY, n int NOT NULL CHECK (n >= 0))",
            "CREATE TABLE bookings (id bigserial PRIMARY KEY, tenant int NOT NULL,              resource int NOT NULL, during tstzrange NOT NULL,              EXCLUDE USING gist (resource WITH =, during WITH &&))",
            "CREATE TABLE events (tenant int, seq bigint, payload jsonb NOT NULL,              PRIMARY KEY (tenant, seq))",
        ] {
            sqlx::Executor::execute(&mut c, statement).await?;
        }
        for statement in [
            format!("INSERT INTO counters SELECT t, 0 FROM generate_series(1, {tenants}) t"),
            format!("INSERT INTO stock SELECT t, 100000000 FROM generate_series(1, {tenants}) t"),
        ] {
            sqlx::Executor::execute(&mut c, statement.as_str()).await?;
        }
        // Tenant t books resource t with product t: with one tenant, one
        // hot resource and one hot product, as the HTTP run's hot layout.
        let script = format!(
            "\\set n :n + 1\n\
             \\set slot :client_id * 1000000 + :n\n\
             \\set t random(1, {tenants})\n\
             BEGIN;\n\
             INSERT INTO bookings (tenant, resource, during) VALUES (:t, :t, tstzrange('2031-01-01'::timestamptz + :slot * interval '30 minutes', '2031-01-01'::timestamptz + (:slot + 1) * interval '30 minutes'));\n\
             UPDATE stock SET n = n - 1 WHERE product = :t AND n >= 1;\n\
             WITH c AS (UPDATE counters SET seq = seq + 1 WHERE tenant = :t RETURNING seq) INSERT INTO events SELECT :t, c.seq, '{{\"type\": \"ReservationCreated\"}}' FROM c;\n\
             COMMIT;\n"
        );
        let file = std::env::temp_dir().join(format!("booking-limit-{}.sql", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, script)?;
        let output = std::process::Command::new("pgbench")
            .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", "2"])
            .args(["-T", &seconds.to_string(), "-D", "n=0", "-f"])
            .arg(&file)
            .arg(&scratch.url)
            .output();
        let _ = std::fs::remove_file(&file);
        let output = output.map_err(|e| format!("cannot run pgbench ({e}): install postgresql-contrib"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(format!("pgbench failed: {}{stdout}", String::from_utf8_lossy(&output.stderr)).into());
        }
        stdout
            .lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .ok_or_else(|| format!("no tps in pgbench output:\n{stdout}").into())
    }
    .await;
    scratch.drop().await;
    result
}

pub(crate) async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    for &clients in &args.clients {
        runs(&args, clients).await?;
    }
    Ok(())
}

/// Every layout at `clients`, `--rounds` times, each round against (b)
/// measured just before and just after it at the same concurrency.
async fn runs(args: &Args, clients: usize) -> Result<(), Box<dyn std::error::Error>> {
    let tenants = args.tenants.max(1);
    let layouts: Vec<usize> = if args.tenants > 1 {
        vec![args.tenants]
    } else {
        vec![args.resources, 1]
    };
    // Each layout's ratio to (b), round by round, by node count.
    let mut ratios: Vec<(String, Vec<f64>)> = Vec::new();
    let mut after = None;
    for round in 1..=args.rounds.max(1) {
        if args.rounds > 1 {
            println!("round {round} of {}", args.rounds);
        }
        // A round starts from the previous round's closing (b).
        let before = match after {
            Some(limit) => limit,
            None => physical_limit(args, clients, 10).await?,
        };
        println!(
            "(b) physical limit (pgbench, {clients} clients, {tenants} tenant(s), the smallest transaction with the same guarantees): {before:.0} tx/s"
        );
        if args.tenants <= 1 && !args.no_product {
            let store_sql = crate::store_bench::store_sql(&args.pg, clients, 10, 1).await?;
            println!(
                "(a) the store's own SQL for a booking with one hot product (pgbench, {clients} clients): {store_sql:.0} tx/s = {:.2} x (b)",
                store_sql / before
            );
            let batched = crate::store_bench::store_sql(&args.pg, clients, 10, 4).await?;
            println!(
                "(a) the same for four bookings in one transaction, as a batch writes them: {batched:.0} bookings/s = {:.2} x (b)",
                batched / before
            );
        }
        println!(
            "http-bench: {clients} clients, {} bookings per run, disjoint 30-minute slots, {}, PostgreSQL + Valkey lock",
            args.bookings,
            match (args.no_product, args.tenants > 1) {
                (true, _) => "no product".to_owned(),
                (false, false) => "each with one unit of one hot product".to_owned(),
                (false, true) => format!(
                    "{} tenants, each booking one unit of its own product",
                    args.tenants
                ),
            }
        );
        println!(
            "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>14} {:>12}",
            "layout",
            "booked/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "timeouts",
            "false refusals",
            "CPU ms/book"
        );
        let mut rows = Vec::new();
        for &n in &args.nodes {
            let mut row = Vec::new();
            for &resources in &layouts {
                let r = one(args, clients, n, resources).await?;
                println!(
                    "{:<28} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>8} {:>14} {:>12.2}",
                    r.label,
                    r.per_second,
                    r.p50,
                    r.p99,
                    r.max,
                    r.timeouts,
                    r.refused,
                    r.cpu_ms_per_booking
                );
                row.push(r);
            }
            rows.push((n, row));
        }
        let closing = physical_limit(args, clients, 10).await?;
        after = Some(closing);
        let limit = f64::midpoint(before, closing);
        println!(
            "(b) again after the HTTP runs: {closing:.0} tx/s; the round's (b) is their mean, {limit:.0} tx/s"
        );
        for (n, row) in &rows {
            if let [spread, hot] = &row[..] {
                println!(
                    "  {n} node(s): hot ÷ spread throughput {:.2}, p99 {:.2}; ÷ (b): spread {:.2}, hot {:.2}",
                    hot.per_second / spread.per_second,
                    hot.p99 / spread.p99,
                    spread.per_second / limit,
                    hot.per_second / limit
                );
            } else {
                println!("  {n} node(s): ÷ (b) {:.2}", row[0].per_second / limit);
            }
            for r in row {
                let ratio = r.per_second / limit;
                match ratios.iter_mut().find(|(label, _)| *label == r.label) {
                    Some((_, all)) => all.push(ratio),
                    None => ratios.push((r.label.clone(), vec![ratio])),
                }
            }
        }
    }
    if args.rounds > 1 {
        println!(
            "median ÷ (b) over {} rounds at {clients} clients:",
            args.rounds
        );
        for (label, mut all) in ratios {
            all.sort_by(f64::total_cmp);
            let spread: Vec<String> = all.iter().map(|r| format!("{r:.2}")).collect();
            let mid = all.len() / 2;
            let median = if all.len() % 2 == 0 {
                f64::midpoint(all[mid - 1], all[mid])
            } else {
                all[mid]
            };
            println!("  {label:<28} {median:.2}  (rounds: {})", spread.join(", "));
        }
    }
    Ok(())
}
