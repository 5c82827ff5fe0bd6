//! # booking-app
//!
//! The composition root: the one place concrete adapters are named. A
//! typed [`Config`] goes in; [`App::build`] opens the store, the lock and
//! the event push, and wires the use cases ([`booking_core::Services`]) into
//! the HTTP API and the WebSocket stream; [`App::serve`] runs the node until
//! its shutdown future resolves, with its background jobs (the hold sweeper
//! and the idempotency purge) owned, stopped and awaited with it.
//!
//! `booking-server` turns flags into a [`Config`] and calls this; the
//! whole-system tests and the load harness build nodes the same way, so
//! what they test is what runs.
//!
//! ## Layout
//!
//! `config.rs` configuration; `jobs.rs` background jobs; `demo.rs` the demo
//! clinic; this file the wiring and the node's lifecycle.

#![forbid(unsafe_code)]

mod config;
mod demo;
mod jobs;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{
    BookingPolicy, BookingStore, Broadcaster, LockService, Ports, RangeLimits, Services, Spawn,
    SystemClock, WriteBatching,
};
use booking_http::{AppState, MetricsText, Readiness};
use booking_memory::InMemoryLocks;
use booking_postgres::{PgSettings, PgStore};
use booking_sqlite::{SqliteSettings, SqliteStore};
use booking_valkey_backplane::{BackplaneSettings, ValkeyBackplane};
use booking_valkey_lock::{ValkeyLockSettings, ValkeyLocks};
use tokio::net::TcpListener;

pub use booking_http::{RequestLimits, ServeSettings};
pub use booking_ws::StreamLimits;
pub use config::{Config, Database, redact_url};
pub use demo::{Demo, DemoError};

/// Why a node could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The SQLite file could not be opened or migrated.
    #[error(transparent)]
    Sqlite(#[from] booking_sqlite::ConnectError),
    /// PostgreSQL could not be reached or migrated.
    #[error(transparent)]
    Postgres(#[from] booking_postgres::ConnectError),
    /// The SQLite file's directory could not be created.
    #[error("cannot create the database directory: {0}")]
    Directory(#[source] std::io::Error),
    /// The Valkey URL is not valid.
    #[error("invalid Valkey configuration: {0}")]
    Valkey(String),
    /// Several nodes (Valkey configured) with no secret to authenticate
    /// the events they pass each other.
    #[error(
        "a Valkey URL needs a backplane secret: set --backplane-secret \
         (BOOKING_BACKPLANE_SECRET) to the same random string of at least 16 bytes on every node"
    )]
    NoBackplaneSecret,
}

/// One node, built and ready to serve.
#[derive(Debug)]
pub struct App {
    config: Config,
    services: Services,
    hub: Arc<booking_ws::Hub>,
    readiness: Vec<Arc<dyn Readiness>>,
    metrics: Option<MetricsText>,
}

#[derive(Debug)]
struct StoreReady(Services);

#[async_trait]
impl Readiness for StoreReady {
    fn name(&self) -> &'static str {
        "store"
    }
    async fn ready(&self) -> bool {
        self.0.access().has_tenants().await.is_ok()
    }
}

/// Raises the process's soft limit on open files to its hard limit (many
/// systems start services at 1,024, each client connection takes one);
/// returns the limit now in force.
///
/// # Errors
/// The system refused to say or to raise it.
pub fn raise_descriptor_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Batches of reservation writes run as tasks on the server's runtime.
#[derive(Debug)]
struct TokioSpawn(tokio::runtime::Handle);

impl Spawn for TokioSpawn {
    fn spawn(
        &self,
        work: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>,
    ) {
        drop(self.0.spawn(work));
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

/// Opens the store the configuration names (migrations run on open).
async fn open_store(database: &Database) -> Result<Arc<dyn BookingStore>, BuildError> {
    match database {
        Database::Postgres { url, pool } => {
            let mut settings = PgSettings::new(url.clone());
            settings.max_connections = *pool;
            Ok(Arc::new(PgStore::connect(&settings).await?))
        }
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(BuildError::Directory)?;
            }
            Ok(Arc::new(
                SqliteStore::open(&SqliteSettings::new(path.clone())).await?,
            ))
        }
    }
}

impl App {
    /// Opens the store, connects to Valkey if configured (in the
    /// background: a node may start while Valkey is down and runs degraded
    /// until it is up) and wires the use cases. Nothing is served yet.
    ///
    /// # Errors
    /// [`BuildError`] if the store cannot be opened or a URL is invalid.
    pub async fn build(config: Config) -> Result<Self, BuildError> {
        let store = open_store(&config.database).await?;
        let mut readiness: Vec<Arc<dyn Readiness>> = Vec::new();
        let hub = booking_ws::Hub::new(1024);
        // One node: an in-process lock, and committed events go straight to
        // this node's hub. Several (Valkey configured): the shared lock, and
        // events through the backplane to every node's hub.
        let (locks, broadcaster): (Arc<dyn LockService>, Arc<dyn Broadcaster>) =
            match &config.valkey_url {
                Some(url) => {
                    let valkey = Arc::new(
                        ValkeyLocks::connect(ValkeyLockSettings::new(url.clone()))
                            .map_err(|e| BuildError::Valkey(e.to_string()))?,
                    );
                    let secret = config
                        .backplane_secret
                        .as_deref()
                        .ok_or(BuildError::NoBackplaneSecret)?;
                    let settings = BackplaneSettings::new(url.clone(), secret)
                        .map_err(|e| BuildError::Valkey(e.to_string()))?;
                    let backplane = ValkeyBackplane::start(settings, hub.clone())
                        .map_err(|e| BuildError::Valkey(e.to_string()))?;
                    // Both connect in the background; wait for them together,
                    // so a node whose Valkey is down starts within one bound.
                    let bound = Duration::from_secs(2);
                    let (lock_up, backplane_up) = tokio::join!(
                        valkey.wait_connected(bound),
                        backplane.wait_connected(bound)
                    );
                    if !lock_up {
                        tracing::warn!(
                            "Valkey is not reachable yet; bookings run degraded until it is"
                        );
                    }
                    if !backplane_up {
                        tracing::warn!(
                            "the backplane is not subscribed yet; other nodes' streams catch up \
                             from the log until it is"
                        );
                    }
                    readiness.push(Arc::new(ValkeyReady(valkey.clone())));
                    (valkey, backplane)
                }
                None => (Arc::new(InMemoryLocks::new()), hub.clone()),
            };
        let policy = BookingPolicy {
            lock_ttl: config.lock_ttl,
            lock_wait: config.lock_wait,
            ..BookingPolicy::default()
        };
        let ports = Ports {
            store,
            locks,
            broadcaster,
            clock: Arc::new(SystemClock),
        };
        let services = match tokio::runtime::Handle::try_current() {
            Ok(runtime) if config.write_batch > 1 => Services::with_write_batching(
                ports,
                policy,
                &WriteBatching {
                    spawner: Arc::new(TokioSpawn(runtime)),
                    max_batch: config.write_batch,
                    in_flight: config.write_batches_in_flight,
                },
            ),
            _ => Services::new(ports, policy),
        };
        readiness.insert(0, Arc::new(StoreReady(services.clone())));
        Ok(Self {
            config,
            services,
            hub,
            readiness,
            metrics: None,
        })
    }

    /// Serves `GET /metrics` with this text: on the API listener, or on the
    /// metrics listener given to [`App::serve`].
    #[must_use]
    pub fn with_metrics(mut self, metrics: MetricsText) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The use cases (for the admin commands, embedders and tests).
    #[must_use]
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The configuration the node was built with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Creates the demo clinic if the configuration asks for it and the
    /// store has no tenant yet; returns what it created.
    ///
    /// # Errors
    /// [`DemoError`] if the store cannot be read or written.
    pub async fn seed_demo_if_empty(&self) -> Result<Option<Demo>, DemoError> {
        if !self.config.demo {
            return Ok(None);
        }
        let has_tenants = self
            .services
            .access()
            .has_tenants()
            .await
            .map_err(demo::fail)?;
        if has_tenants {
            return Ok(None);
        }
        demo::seed(&self.services).await.map(Some)
    }

    /// The API and the stream, behind the same edges (and `/metrics` when
    /// it has no listener of its own).
    fn router(&self, metrics_with_api: bool) -> axum::Router {
        let mut state =
            AppState::new(self.services.clone()).with_limits(self.config.request_limits);
        state.booking_limits = RangeLimits::with_max(self.config.max_booking);
        state.request_timeout = self.config.request_timeout;
        state.idempotency_lease = self.config.idempotency_lease;
        state.readiness.clone_from(&self.readiness);
        let mut extra = booking_ws::router(booking_ws::StreamState {
            services: self.services.clone(),
            hub: self.hub.clone(),
            heartbeat: self.config.stream_heartbeat,
            limits: self.config.stream_limits.clone(),
        });
        // The calendar's page and modules (`/`, `/ui/…`).
        extra = extra.merge(booking_ui::router());
        if metrics_with_api && let Some(metrics) = &self.metrics {
            extra = extra.merge(booking_http::metrics_routes(metrics.clone()));
        }
        let router = booking_http::router_with(state, extra);
        match Self::cors(&self.config.allowed_origins) {
            Some(layer) => router.layer(layer),
            None => router,
        }
    }

    /// Cross-origin access for the allowed origins (none: same origin only):
    /// the API's methods and headers, and the response headers a client reads
    /// (`ETag` for `If-Match`, `Location`, the request id, degraded mode).
    fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
        use axum::http::{HeaderName, HeaderValue, Method, header};
        let origins: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
            .collect();
        if origins.is_empty() {
            return None;
        }
        Some(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-request-id"),
                ])
                .expose_headers([
                    header::ETAG,
                    header::LOCATION,
                    header::RETRY_AFTER,
                    HeaderName::from_static("x-request-id"),
                    HeaderName::from_static("booking-degraded"),
                    HeaderName::from_static("idempotent-replayed"),
                ])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }

    /// How this node serves connections: the configured caps, the node's
    /// lowered to fit the process's file descriptor limit (connections past
    /// it could not be accepted, and the database pool needs some too).
    fn serve_settings(&self) -> booking_http::ServeSettings {
        let mut settings = self.config.serve;
        if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
            settings.max_connections =
                booking_http::fit_to_descriptors(settings.max_connections, soft);
        }
        settings
    }

    /// Serves the API (and the stream) on `api`, and `/metrics` on
    /// `metrics` if given, until `shutdown` resolves; then lets in-flight
    /// requests finish, stops the background jobs and waits for them.
    ///
    /// # Errors
    /// I/O errors of the listeners.
    pub async fn serve(
        self,
        api: TcpListener,
        metrics: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = self.router(metrics.is_none());
        let settings = self.serve_settings();
        let jobs = jobs::Jobs::start(&self.services, &self.config);
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = match (metrics, &self.metrics) {
            (Some(listener), Some(text)) => Some(tokio::spawn(booking_http::serve(
                listener,
                booking_http::metrics_router(text.clone()),
                async {
                    let _ = metrics_stopped.await;
                },
                settings,
            ))),
            _ => None,
        };
        let served = booking_http::serve(api, router, shutdown, settings).await;
        let _ = stop_metrics.send(());
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        jobs.stop().await;
        served
    }
}
