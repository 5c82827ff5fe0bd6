//! Real `booking-server` processes for the harness: started, killed,
//! paused and resumed by signal, and waited on until ready; and the catalog
//! a bench books against.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Flags that lift a server's request limits: the harness measures and
/// breaks the engine, not the limits (which have tests of their own).
pub(crate) const NO_REQUEST_LIMITS: [&str; 8] = [
    "--rate-per-key",
    "1000000",
    "--rate-per-tenant",
    "1000000",
    "--in-flight-per-key",
    "100000",
    "--in-flight-per-tenant",
    "100000",
];

/// The backplane secret the harness's nodes share.
pub(crate) const BACKPLANE_SECRET: &str = "booking-load shared backplane secret";

/// One server process on a loopback port.
pub(crate) struct Node {
    pub(crate) binary: PathBuf,
    pub(crate) db: String,
    pub(crate) valkey: String,
    pub(crate) port: u16,
    pub(crate) lock_ttl: u64,
    pub(crate) log: Option<PathBuf>,
    pub(crate) child: Option<Child>,
}

impl Node {
    pub(crate) fn spawn(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let (format, stdout, stderr) = match &self.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                ("json", Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => ("off", Stdio::null(), Stdio::null()),
        };
        let child = Command::new(&self.binary)
            .args(["--listen", &format!("127.0.0.1:{}", self.port), "--no-demo"])
            .args(["--database-url", &self.db, "--db-pool", "8"])
            .args(["--valkey-url", &self.valkey])
            .env("BOOKING_BACKPLANE_SECRET", BACKPLANE_SECRET)
            .args(NO_REQUEST_LIMITS)
            .args(["--lock-ttl-secs", &self.lock_ttl.to_string()])
            .args(["--lock-wait-ms", "2000", "--hold-sweep-secs", "1"])
            .env("BOOKING_LOG_FORMAT", format)
            .env("BOOKING_NO_METRICS", "true")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`-STOP`, `-CONT`) with kill(1). A fault that
    /// could not be injected is an error, not a quiet no-op.
    pub(crate) fn signal(&self, signal: &str) -> Result<(), String> {
        let Some(child) = &self.child else {
            return Err("the node is not running".into());
        };
        match Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
        {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("kill {signal} failed: {status}")),
            Err(e) => Err(format!("cannot run kill(1) (procps): {e}")),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.signal("-CONT");
        self.kill();
    }
}

pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) async fn healthy(client: &reqwest::Client, base: &str) -> bool {
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The server binary: `booking-server` beside this one unless given.
pub(crate) fn server_binary(given: Option<&PathBuf>) -> PathBuf {
    given.cloned().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("booking-server")))
            .unwrap_or_else(|| "booking-server".into())
    })
}

/// CPU time (user + system) a process has used so far, from /proc.
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// Creates a tenant named `name` with the server binary's admin command;
/// returns its id and its first (admin) key.
pub(crate) fn new_tenant(
    binary: &std::path::Path,
    db: &str,
    name: &str,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let created = admin_command(binary, db, &["tenant", "create", "--name", name])?;
    let field = |f: &str| {
        created[f]
            .as_str()
            .map(ToOwned::to_owned)
            .ok_or_else(|| format!("`tenant create` printed no {f}: {created}"))
    };
    Ok((field("tenant_id")?, field("api_key")?))
}

/// Runs an admin command of the server binary (`tenant create`, `key
/// create`) on `db` and returns the JSON it prints.
pub(crate) fn admin_command(
    binary: &std::path::Path,
    db: &str,
    args: &[&str],
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let out = Command::new(binary)
        .args(args)
        .args(["--database-url", db])
        .env("BOOKING_LOG_FORMAT", "off")
        .output()?;
    if !out.status.success() {
        return Err(format!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// A branch (UTC), `resources` resources working there at any time and a
/// product with a million in stock there, made with `key` (an admin's).
pub(crate) async fn catalog(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    resources: usize,
) -> Result<(String, Vec<String>, String), Box<dyn std::error::Error>> {
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let put = |path: String, body: Value| {
        http.put(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let id = |v: &Value, what: &str| {
        v["id"]
            .as_str()
            .map(ToOwned::to_owned)
            .ok_or_else(|| format!("no {what}: {v}"))
    };
    let branch: Value = post("/v1/branches", json!({"name": "Bench", "time_zone": "UTC"}))
        .await?
        .json()
        .await?;
    let branch = id(&branch, "branch")?;
    let mut ids = Vec::new();
    for i in 0..resources {
        let r: Value = post("/v1/resources", json!({"name": format!("Chair {i}")}))
            .await?
            .json()
            .await?;
        let r = id(&r, "resource")?;
        put(format!("/v1/resources/{r}/branches/{branch}"), json!({}))
            .await?
            .error_for_status()?;
        ids.push(r);
    }
    let product: Value = post(
        "/v1/products",
        json!({"name": "Kit", "price": {"amount_minor": 500, "currency": "EUR"}}),
    )
    .await?
    .json()
    .await?;
    let product = id(&product, "product")?;
    put(
        format!("/v1/products/{product}/branches/{branch}"),
        json!({"stock": 1_000_000}),
    )
    .await?
    .error_for_status()?;
    Ok((branch, ids, product))
}
