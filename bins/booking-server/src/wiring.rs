//! The composition root: the one place concrete adapters are named.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{
    BookingPolicy, BookingService, BookingStore, Broadcaster, LockService, RangeLimits, SystemClock,
};
use booking_http::{AppState, MetricsText, Readiness};
use booking_postgres::{PgSettings, PgStore};
use booking_sqlite::{SqliteSettings, SqliteStore};
use booking_telemetry::{LogFormat, Prometheus, Telemetry};
use booking_testkit::memory::InMemoryLocks;
use booking_valkey_backplane::{BackplaneSettings, ValkeyBackplane};
use booking_valkey_lock::{ValkeyLockSettings, ValkeyLocks};

use crate::config::{DatabaseArgs, LogFormatArg, ServerArgs, TelemetryArgs};
use crate::demo;

type AnyError = Box<dyn std::error::Error>;

/// Opens the store the URL names (migrations run on open).
pub(crate) async fn store(db: &DatabaseArgs) -> Result<Arc<dyn BookingStore>, AnyError> {
    let url = db.database_url.as_str();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut settings = PgSettings::new(url);
        settings.max_connections = db.db_pool.max(1);
        return Ok(Arc::new(PgStore::connect(&settings).await?));
    }
    let path = std::path::PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(Arc::new(
        SqliteStore::open(&SqliteSettings::new(path)).await?,
    ))
}

#[derive(Debug)]
struct StoreReady(Arc<dyn BookingStore>);

#[async_trait]
impl Readiness for StoreReady {
    fn name(&self) -> &'static str {
        "store"
    }
    async fn ready(&self) -> bool {
        self.0.has_tenants().await.is_ok()
    }
}

#[derive(Debug)]
struct ValkeyReady(Arc<ValkeyLocks>);

#[async_trait]
impl Readiness for ValkeyReady {
    fn name(&self) -> &'static str {
        "valkey"
    }
    async fn ready(&self) -> bool {
        self.0.ping().await
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Forgets idempotency records older than `keep`, every ten minutes.
async fn purge_idempotency(store: Arc<dyn BookingStore>, keep: chrono::Duration) {
    loop {
        match store.purge_idempotency(chrono::Utc::now() - keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "forgot old idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "could not purge idempotency keys"),
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}

/// Records expired holds every `every`, so their slots and stock are free
/// and subscribers hear about it even when no other booking touches them.
/// Several nodes may sweep at once: a hold already expired by another is
/// skipped by its version.
async fn sweep_holds(service: BookingService, every: Duration) {
    const BATCH: usize = 500;
    loop {
        tokio::time::sleep(every).await;
        loop {
            match service.expire_stale_holds(BATCH).await {
                Ok(n) if n == BATCH => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(expired = n, "recorded expired holds");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not sweep expired holds");
                    break;
                }
            }
        }
    }
}

/// Installs logs, traces and metrics (first, so every adapter built later
/// records on the installed meter).
pub(crate) fn telemetry(args: &TelemetryArgs) -> Result<Telemetry, AnyError> {
    let format = match args.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
        LogFormatArg::Off => LogFormat::Off,
    };
    let telemetry = Telemetry::builder()
        .log_format(format)
        .log_filter(
            "info,sqlx=warn,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn",
        )
        .install()?;
    if telemetry.exporting() {
        tracing::info!("exporting traces and metrics over OTLP/HTTP");
        let protocol = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_default();
        if !protocol.is_empty() && protocol != "http/protobuf" {
            tracing::warn!(
                %protocol,
                "only OTLP over HTTP with protobuf is built in: point OTEL_EXPORTER_OTLP_ENDPOINT \
                 at the collector's HTTP port (usually 4318)"
            );
        }
    }
    Ok(telemetry)
}

/// Where and what `/metrics` serves.
pub(crate) struct Metrics {
    pub(crate) prometheus: Prometheus,
    /// A separate listener for `/metrics`; `None` serves it with the API.
    pub(crate) listen: Option<std::net::SocketAddr>,
}

/// Serves the API until asked to stop.
pub(crate) async fn run(
    args: ServerArgs,
    db: DatabaseArgs,
    store: Arc<dyn BookingStore>,
    metrics: Option<Metrics>,
) -> Result<(), AnyError> {
    tracing::info!(?args, ?db, "starting");
    let mut readiness: Vec<Arc<dyn Readiness>> = vec![Arc::new(StoreReady(store.clone()))];
    let locks: Arc<dyn LockService> = match &args.valkey_url {
        Some(url) => {
            let valkey = Arc::new(ValkeyLocks::connect(ValkeyLockSettings::new(url.clone()))?);
            if !valkey.wait_connected(Duration::from_secs(2)).await {
                tracing::warn!("Valkey is not reachable yet; bookings run degraded until it is");
            }
            readiness.push(Arc::new(ValkeyReady(valkey.clone())));
            valkey
        }
        None => Arc::new(InMemoryLocks::new()),
    };
    // One node: committed events go straight to this node's WebSocket hub.
    // Several (Valkey configured): through the backplane to every node's hub.
    let hub = booking_ws::Hub::new(1024);
    let broadcaster: Arc<dyn Broadcaster> = match &args.valkey_url {
        Some(url) => ValkeyBackplane::start(BackplaneSettings::new(url.clone()), hub.clone())?,
        None => hub.clone(),
    };
    let policy = BookingPolicy {
        lock_ttl: args.lock_ttl(),
        lock_wait: args.lock_wait(),
        ..BookingPolicy::default()
    };
    let service = BookingService::new(
        store.clone(),
        locks,
        broadcaster,
        Arc::new(SystemClock),
        policy,
    );
    tokio::spawn(sweep_holds(
        service.clone(),
        Duration::from_secs(args.hold_sweep_secs.max(1)),
    ));
    tokio::spawn(purge_idempotency(
        store.clone(),
        chrono::Duration::hours(i64::from(args.idempotency_retention_hours.max(1))),
    ));
    let mut state = AppState::new(service);
    state.booking_limits = RangeLimits::with_max(chrono::Duration::hours(
        args.max_booking_hours.clamp(1, 24 * 31),
    ));
    state.readiness = readiness;
    // Routes served beside the API: the event stream, and /metrics unless
    // it has a listener of its own.
    let mut extra = booking_ws::router(booking_ws::StreamState {
        store: store.clone(),
        hub,
        heartbeat: Duration::from_secs(15),
    });
    if let Some(Metrics { prometheus, listen }) = metrics {
        let text = MetricsText::new(move || prometheus.render());
        match listen {
            Some(address) => {
                let listener = tokio::net::TcpListener::bind(address).await?;
                tracing::info!(address = %listener.local_addr()?, "serving /metrics");
                tokio::spawn(booking_http::serve(
                    listener,
                    booking_http::metrics_router(text),
                    std::future::pending(),
                ));
            }
            None => extra = extra.merge(booking_http::metrics_routes(text)),
        }
    }

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    if !args.no_demo && !store.has_tenants().await? {
        let demo = demo::seed(&*store).await?;
        demo::print_banner(address, &demo);
    } else {
        demo::say(&format!("booking-server listening on http://{address}"));
    }
    let app = booking_http::router_with(state, extra);
    booking_http::serve(listener, app, shutdown_signal()).await?;
    Ok(())
}
