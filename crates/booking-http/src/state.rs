//! What handlers share.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{RangeLimits, Services};

/// A dependency `/readyz` checks.
#[async_trait]
pub trait Readiness: Send + Sync + std::fmt::Debug {
    /// The dependency's name, as reported.
    fn name(&self) -> &'static str;
    /// Whether it answers now.
    async fn ready(&self) -> bool;
}

/// Renders the process's metrics in Prometheus text format for
/// `GET /metrics` (the server wires it to its telemetry; see
/// [`crate::metrics_routes`]).
#[derive(Clone)]
pub struct MetricsText(Arc<dyn Fn() -> String + Send + Sync>);

impl MetricsText {
    /// Wraps a renderer.
    pub fn new(render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(render))
    }

    /// The current text.
    #[must_use]
    pub fn render(&self) -> String {
        (self.0)()
    }
}

impl std::fmt::Debug for MetricsText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsText")
    }
}

/// The application state: the use cases and what `/readyz` checks.
/// Handlers reach the stores only through the use cases.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The use cases.
    pub services: Services,
    /// Dependencies checked by `/readyz`.
    pub readiness: Vec<Arc<dyn Readiness>>,
    /// Limits for booking ranges.
    pub booking_limits: RangeLimits,
    /// How long a request may take before it is answered 503 (it may still
    /// finish: its `Idempotency-Key` tells the retry its outcome).
    pub request_timeout: Duration,
    /// How long an unfinished `Idempotency-Key` claim holds before the same
    /// request's retry takes it over (the node running it died). Longer
    /// than any request runs.
    pub idempotency_lease: Duration,
    /// Requests a second and at once per key and tenant (see
    /// [`AppState::with_limits`]).
    pub(crate) limiter: Arc<crate::limits::Limiter>,
    /// Failed authentications per peer address.
    pub(crate) auth_failures: Arc<crate::throttle::AuthFailures>,
    /// `/readyz`'s last answer and when it was made: it is given again
    /// for a second, so probes (or anyone without a key) asking in a loop
    /// cost the dependencies one check a second. An async lock: it is held
    /// while the dependencies are asked, so a burst waits for one check.
    pub(crate) readiness_seen: Arc<tokio::sync::Mutex<Option<ReadinessSeen>>>,
}

/// A `/readyz` answer, as made at `at`.
#[derive(Clone, Debug)]
pub(crate) struct ReadinessSeen {
    pub(crate) at: std::time::Instant,
    pub(crate) ready: bool,
    pub(crate) body: serde_json::Value,
}

impl AppState {
    /// State over the use cases.
    #[must_use]
    pub fn new(services: Services) -> Self {
        Self {
            services,
            readiness: Vec::new(),
            booking_limits: RangeLimits::bookings(),
            request_timeout: Duration::from_secs(30),
            idempotency_lease: Duration::from_secs(120),
            limiter: crate::limits::Limiter::new(crate::RequestLimits::default()),
            auth_failures: crate::throttle::AuthFailures::new(
                crate::RequestLimits::default().auth_failures_per_address,
            ),
            readiness_seen: Arc::default(),
        }
    }

    /// With these request limits instead of the defaults.
    #[must_use]
    pub fn with_limits(mut self, limits: crate::RequestLimits) -> Self {
        self.limiter = crate::limits::Limiter::new(limits);
        self.auth_failures = crate::throttle::AuthFailures::new(limits.auth_failures_per_address);
        self
    }

    /// Adds a dependency to `/readyz`.
    #[must_use]
    pub fn with_readiness(mut self, check: Arc<dyn Readiness>) -> Self {
        self.readiness.push(check);
        self
    }
}
