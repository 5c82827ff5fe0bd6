//! Configuration, from flags and environment, parsed once.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use booking_app::{Config, Database, RequestLimits, ServeSettings, StreamLimits};
use booking_core::{Role, TenantId};
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "booking-server",
    about = "Multi-tenant booking engine: the HTTP server and its admin commands"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Logs, traces and metrics. OTLP export follows the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_SERVICE_NAME` variables.
#[derive(Args, Clone, Debug)]
pub(crate) struct TelemetryArgs {
    /// Log lines as human-readable `text`, `json` (one object per line), or
    /// `off`. `RUST_LOG` sets the level (default `info`; sqlx and the
    /// OpenTelemetry SDK at `warn`).
    #[arg(
        long,
        env = "BOOKING_LOG_FORMAT",
        hide_env_values = true,
        default_value = "text",
        global = true
    )]
    pub(crate) log_format: LogFormatArg,
    /// Do not serve `GET /metrics` (Prometheus text).
    #[arg(
        long,
        env = "BOOKING_NO_METRICS",
        hide_env_values = true,
        global = true
    )]
    pub(crate) no_metrics: bool,
    /// Serve `GET /metrics` on this address, apart from the API: node-wide
    /// figures are for the operator, not for whoever can reach the API.
    /// With the default, a node that finds it taken (another node on the
    /// machine) starts without metrics and says so.
    #[arg(
        long,
        env = "BOOKING_METRICS_LISTEN",
        hide_env_values = true,
        default_value = DEFAULT_METRICS_LISTEN,
        global = true
    )]
    pub(crate) metrics_listen: SocketAddr,
    /// Serve `GET /metrics` on the API's address instead (where that address
    /// is reachable from the internal network only).
    #[arg(
        long,
        env = "BOOKING_METRICS_ON_API",
        hide_env_values = true,
        conflicts_with = "no_metrics",
        global = true
    )]
    pub(crate) metrics_on_api: bool,
}

/// Where `/metrics` is served by default: loopback, the port
/// OpenTelemetry's Prometheus exporters use.
pub(crate) const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum LogFormatArg {
    Text,
    Json,
    Off,
}

/// Where data lives; shared by the server and the admin commands.
#[derive(Args, Clone)]
pub(crate) struct DatabaseArgs {
    /// `postgres://…` for production, or a SQLite file (`sqlite://path` or a
    /// path). The default needs no external service.
    #[arg(
        long,
        env = "DATABASE_URL", hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL,
        global = true
    )]
    pub(crate) database_url: String,
    /// Connections in the PostgreSQL pool.
    #[arg(
        long,
        env = "BOOKING_DB_POOL",
        hide_env_values = true,
        default_value_t = 16,
        global = true
    )]
    pub(crate) db_pool: u32,
}

impl fmt::Debug for DatabaseArgs {
    // The URL may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &booking_app::redact_url(&self.database_url))
            .finish()
    }
}

#[derive(Args, Clone)]
pub(crate) struct ServerArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "BOOKING_LISTEN",
        hide_env_values = true,
        default_value = "127.0.0.1:8080"
    )]
    pub(crate) listen: SocketAddr,
    /// Valkey for the shared lock (absent: an in-process lock, one node).
    #[arg(long, env = "VALKEY_URL", hide_env_values = true)]
    pub(crate) valkey_url: Option<String>,
    /// The secret every node signs and checks the live events it passes
    /// the others with over Valkey: the same random string (at least 16
    /// bytes) on every node; required with --valkey-url.
    #[arg(long, env = "BOOKING_BACKPLANE_SECRET", hide_env_values = true)]
    pub(crate) backplane_secret: Option<String>,
    /// Do not create the demo clinic in an empty store (it is created only
    /// on the embedded default: SQLite at the default path).
    #[arg(
        long,
        env = "BOOKING_NO_DEMO",
        hide_env_values = true,
        conflicts_with = "demo"
    )]
    pub(crate) no_demo: bool,
    /// Create the demo clinic in an empty store whatever the database (a
    /// trial on PostgreSQL); never on by itself outside the default.
    #[arg(long, env = "BOOKING_DEMO", hide_env_values = true)]
    pub(crate) demo: bool,
    /// An origin (`https://clinic.example`) whose pages may call the API and
    /// embed the calendar from a browser; repeat, or comma-separate in the
    /// environment. None: same origin only.
    #[arg(long = "allow-origin", env = "BOOKING_ALLOW_ORIGINS", hide_env_values = true, value_delimiter = ',', value_parser = origin)]
    pub(crate) allow_origins: Vec<String>,
    /// Lock time-to-live, in seconds.
    #[arg(
        long,
        env = "BOOKING_LOCK_TTL_SECS",
        hide_env_values = true,
        default_value_t = 30
    )]
    pub(crate) lock_ttl_secs: u64,
    /// How long a booking waits for a busy lock, in milliseconds.
    #[arg(
        long,
        env = "BOOKING_LOCK_WAIT_MS",
        hide_env_values = true,
        default_value_t = 5000
    )]
    pub(crate) lock_wait_ms: u64,
    /// How often expired holds are recorded (freeing slot and stock), in
    /// seconds.
    #[arg(
        long,
        env = "BOOKING_HOLD_SWEEP_SECS",
        hide_env_values = true,
        default_value_t = 15
    )]
    pub(crate) hold_sweep_secs: u64,
    /// Most reservation writes in one transaction: the bookings that
    /// arrive while `--write-batches-in-flight` batches are being written
    /// go together in the next (each still answered as if alone). 1 writes
    /// each booking in its own transaction.
    #[arg(
        long,
        env = "BOOKING_WRITE_BATCH",
        hide_env_values = true,
        default_value_t = 16,
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    pub(crate) write_batch: u16,
    /// Reservation write batches written at the same time.
    #[arg(
        long,
        env = "BOOKING_WRITE_BATCHES_IN_FLIGHT",
        hide_env_values = true,
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    pub(crate) write_batches_in_flight: u16,
    /// Longest booking, in hours.
    #[arg(
        long,
        env = "BOOKING_MAX_BOOKING_HOURS",
        hide_env_values = true,
        default_value_t = 24
    )]
    pub(crate) max_booking_hours: i64,
    /// How long an Idempotency-Key is remembered, in hours; older records
    /// are purged (a retry after that runs again).
    #[arg(
        long,
        env = "BOOKING_IDEMPOTENCY_RETENTION_HOURS",
        hide_env_values = true,
        default_value_t = 24
    )]
    pub(crate) idempotency_retention_hours: u32,
    /// How long a request may take before it is answered 503 (it may still
    /// finish; the retry with the same Idempotency-Key learns its outcome),
    /// in seconds.
    #[arg(
        long,
        env = "BOOKING_REQUEST_TIMEOUT_SECS",
        hide_env_values = true,
        default_value_t = 30
    )]
    pub(crate) request_timeout_secs: u64,
    /// How long an unfinished Idempotency-Key claim holds before the same
    /// request's retry takes it over (the node running it died), in
    /// seconds; keep it well above the request timeout.
    #[arg(
        long,
        env = "BOOKING_IDEMPOTENCY_LEASE_SECS",
        hide_env_values = true,
        default_value_t = 120
    )]
    pub(crate) idempotency_lease_secs: u64,
    /// Requests a second one API key may make (bursts of twice that); over
    /// it, 429 with Retry-After.
    #[arg(long, env = "BOOKING_RATE_PER_KEY", hide_env_values = true, default_value_t = RequestLimits::default().per_key)]
    pub(crate) rate_per_key: u32,
    /// Requests a second all keys of a tenant may make together on a node.
    #[arg(long, env = "BOOKING_RATE_PER_TENANT", hide_env_values = true, default_value_t = RequestLimits::default().per_tenant)]
    pub(crate) rate_per_tenant: u32,
    /// Requests of one API key being answered at once on a node.
    #[arg(long, env = "BOOKING_IN_FLIGHT_PER_KEY", hide_env_values = true, default_value_t = RequestLimits::default().in_flight_per_key)]
    pub(crate) in_flight_per_key: usize,
    /// Requests of all keys of a tenant being answered at once on a node.
    #[arg(long, env = "BOOKING_IN_FLIGHT_PER_TENANT", hide_env_values = true, default_value_t = RequestLimits::default().in_flight_per_tenant)]
    pub(crate) in_flight_per_tenant: usize,
    /// Failed authentications (401s) a second one peer address may cause,
    /// bursts of five times that; past them its requests get 429 unless
    /// their key authenticated recently. 0: no limit.
    #[arg(long, env = "BOOKING_AUTH_FAILURES_PER_ADDRESS", hide_env_values = true, default_value_t = RequestLimits::default().auth_failures_per_address)]
    pub(crate) auth_failures_per_address: u32,
    /// Open event streams (`/v1/stream`) per API key; over it the upgrade
    /// gets 429.
    #[arg(long, env = "BOOKING_STREAMS_PER_KEY", hide_env_values = true, default_value_t = StreamLimits::default().per_key)]
    pub(crate) streams_per_key: usize,
    /// Open event streams per tenant on this node.
    #[arg(long, env = "BOOKING_STREAMS_PER_TENANT", hide_env_values = true, default_value_t = StreamLimits::default().per_tenant)]
    pub(crate) streams_per_tenant: usize,
    /// Open event streams on this node.
    #[arg(long, env = "BOOKING_STREAMS_PER_NODE", hide_env_values = true, default_value_t = StreamLimits::default().per_node)]
    pub(crate) streams_per_node: usize,
    /// How long a stream waits for a client that stopped reading before it
    /// closes it, in milliseconds.
    #[arg(
        long,
        env = "BOOKING_STREAM_SEND_TIMEOUT_MS",
        hide_env_values = true,
        default_value_t = 10_000
    )]
    pub(crate) stream_send_timeout_ms: u64,
    /// The most events a stream replays; a `since` further behind gets
    /// `resync` (reload, then stream from the head).
    #[arg(long, env = "BOOKING_STREAM_MAX_REPLAY", hide_env_values = true, default_value_t = StreamLimits::default().max_replay)]
    pub(crate) stream_max_replay: u64,
    /// Kernel send buffer of a live-update stream's connection, in KiB: what
    /// a client that stopped reading can make the node hold for it.
    #[arg(long, env = "BOOKING_STREAM_SEND_BUFFER_KIB", hide_env_values = true, default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(4..=16_384))]
    pub(crate) stream_send_buffer_kib: u32,
    /// A connection must send a request's whole header within this many
    /// seconds of opening or of its last answer (also how long an idle
    /// keep-alive connection stays open).
    #[arg(long, env = "BOOKING_HEADER_READ_TIMEOUT_SECS", hide_env_values = true, default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) header_read_timeout_secs: u64,
    /// Open connections on the node, streams included (lowered to fit the
    /// process's file descriptor limit, which the server raises to its
    /// hard limit at start). At the cap the longest-idle connection gives
    /// way; when all are busy the newcomer is refused.
    #[arg(long, env = "BOOKING_MAX_CONNECTIONS", hide_env_values = true, default_value_t = 25_000,
          value_parser = clap::value_parser!(u32).range(16..))]
    pub(crate) max_connections: u32,
    /// Open connections from one peer address (0: no cap). Leave it 0
    /// behind a proxy or load balancer: every client then has its address.
    #[arg(
        long,
        env = "BOOKING_MAX_CONNECTIONS_PER_ADDRESS",
        hide_env_values = true,
        default_value_t = 0
    )]
    pub(crate) max_connections_per_address: u32,
}

/// The default database: the embedded SQLite file.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://data/booking.db";

/// `scheme://host[:port]`, as a browser sends it in `Origin`.
fn origin(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or("an origin starts with http:// or https://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!(
            "{text:?}: an origin is scheme://host[:port], with no path"
        ));
    }
    Ok(text.to_owned())
}

impl DatabaseArgs {
    /// The store these flags name.
    pub(crate) fn database(&self) -> Database {
        Database::from_url(&self.database_url, self.db_pool)
    }

    /// A node's configuration for the admin commands: the store only.
    pub(crate) fn config(&self) -> Config {
        Config::new(self.database())
    }
}

impl ServerArgs {
    /// The node's configuration.
    pub(crate) fn config(&self, db: &DatabaseArgs) -> Config {
        Config {
            valkey_url: self.valkey_url.clone(),
            backplane_secret: self.backplane_secret.clone(),
            // The demo clinic's keys are live credentials: only on the
            // embedded default, or when asked for.
            demo: self.demo || (!self.no_demo && db.database_url == DEFAULT_DATABASE_URL),
            request_limits: RequestLimits {
                per_key: self.rate_per_key.max(1),
                per_tenant: self.rate_per_tenant.max(1),
                in_flight_per_key: self.in_flight_per_key.max(1),
                in_flight_per_tenant: self.in_flight_per_tenant.max(1),
                auth_failures_per_address: self.auth_failures_per_address,
            },
            stream_limits: StreamLimits {
                per_key: self.streams_per_key.max(1),
                per_tenant: self.streams_per_tenant.max(1),
                per_node: self.streams_per_node.max(1),
                send_timeout: Duration::from_millis(self.stream_send_timeout_ms.max(100)),
                max_replay: self.stream_max_replay,
                ..StreamLimits::default()
            },
            serve: ServeSettings {
                header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
                max_connections: self.max_connections as usize,
                max_connections_per_address: self.max_connections_per_address as usize,
                upgraded_send_buffer: Some(self.stream_send_buffer_kib as usize * 1024),
            },
            allowed_origins: self.allow_origins.clone(),
            lock_ttl: Duration::from_secs(self.lock_ttl_secs),
            lock_wait: Duration::from_millis(self.lock_wait_ms),
            hold_sweep: Duration::from_secs(self.hold_sweep_secs.max(1)),
            write_batch: usize::from(self.write_batch),
            write_batches_in_flight: usize::from(self.write_batches_in_flight),
            idempotency_retention: chrono::Duration::hours(i64::from(
                self.idempotency_retention_hours.max(1),
            )),
            max_booking: chrono::Duration::hours(self.max_booking_hours.clamp(1, 24 * 31)),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            idempotency_lease: Duration::from_secs(self.idempotency_lease_secs.max(1)),
            ..db.config()
        }
    }
}

impl fmt::Debug for ServerArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerArgs")
            .field("listen", &self.listen)
            .field(
                "valkey",
                &self.valkey_url.as_deref().map(booking_app::redact_url),
            )
            .field("no_demo", &self.no_demo)
            .field("demo", &self.demo)
            .field("allow_origins", &self.allow_origins)
            .field("lock_ttl_secs", &self.lock_ttl_secs)
            .field("lock_wait_ms", &self.lock_wait_ms)
            .finish_non_exhaustive()
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand, Debug)]
pub(crate) enum TenantCommand {
    /// Create a tenant and its first admin key; prints both as JSON.
    Create {
        /// The business's name.
        #[arg(long)]
        name: String,
        /// The name the admin key's changes are recorded under.
        #[arg(long, default_value = "admin")]
        admin_actor: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeyCommand {
    /// Create an API key; prints it as JSON (it is not shown again).
    Create {
        /// The tenant it acts for.
        #[arg(long)]
        tenant: TenantId,
        /// admin, staff or viewer.
        #[arg(long)]
        role: Role,
        /// The name recorded on every change it makes.
        #[arg(long)]
        actor: String,
        /// When the key stops working, RFC 3339 (e.g. 2031-01-01T00:00:00Z);
        /// by default never.
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn an_origin_is_scheme_host_and_port_only() {
        assert_eq!(
            origin("https://clinic.example/").unwrap(),
            "https://clinic.example"
        );
        assert_eq!(
            origin("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        for bad in [
            "clinic.example",
            "https://",
            "https://clinic.example/app",
            "ftp://x",
            "https://a@b",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }
}
