//! Building the providers and installing the global subscriber.

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, InstrumentKind, SdkMeterProvider, Stream,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter, TracerProviderBuilder};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::span_metrics::LATENCY_BOUNDS;
use crate::{Prometheus, SpanMetrics};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event, with the span context (request
    /// id, trace id) in front.
    #[default]
    Text,
    /// One JSON object per line, with every enclosing span's fields.
    Json,
    /// No log output (benchmarks, tests).
    Off,
}

/// Why telemetry could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the environment.
    #[error("OTLP exporter: {0}")]
    Exporter(String),
    /// A global subscriber was already installed in this process.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

type ProviderStep = Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder + Send>;

/// Configures and installs telemetry; see [`Telemetry::builder`].
pub struct TelemetryBuilder {
    service_name: String,
    log_format: LogFormat,
    log_filter: String,
    otlp: bool,
    extra: Vec<ProviderStep>,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.service_name)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("otlp", &self.otlp)
            .field("extra_exporters", &self.extra.len())
            .finish()
    }
}

/// Every histogram measured in seconds gets [`LATENCY_BOUNDS`] (the SDK's
/// default buckets are sized for milliseconds).
pub(crate) fn seconds_buckets(instrument: &Instrument) -> Option<Stream> {
    if instrument.kind() != InstrumentKind::Histogram || instrument.unit() != "s" {
        return None;
    }
    Stream::builder()
        .with_aggregation(Aggregation::ExplicitBucketHistogram {
            boundaries: LATENCY_BOUNDS.to_vec(),
            record_min_max: true,
        })
        .build()
        .ok()
}

/// Whether the standard OTLP endpoint variables ask for export.
fn otlp_requested() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

impl TelemetryBuilder {
    /// The service name used when `OTEL_SERVICE_NAME` is not set.
    #[must_use]
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Text (default), JSON or no logs.
    #[must_use]
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// An `EnvFilter` directive for log lines (`RUST_LOG` wins when set).
    /// Spans for traces and metrics are not affected by it.
    #[must_use]
    pub fn log_filter(mut self, directive: impl Into<String>) -> Self {
        self.log_filter = directive.into();
        self
    }

    /// Forces OTLP export on or off (default: on when an
    /// `OTEL_EXPORTER_OTLP_*ENDPOINT` variable is set).
    #[must_use]
    pub fn otlp(mut self, on: bool) -> Self {
        self.otlp = on;
        self
    }

    /// Also sends every finished span to `exporter`, synchronously (tests:
    /// the SDK's in-memory exporter).
    #[must_use]
    pub fn with_span_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.extra.push(Box::new(move |b: TracerProviderBuilder| {
            b.with_simple_exporter(exporter)
        }));
        self
    }

    fn resource(&self) -> Resource {
        let builder = Resource::builder();
        if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|s| !s.is_empty()) {
            builder.build()
        } else {
            builder.with_service_name(self.service_name.clone()).build()
        }
    }

    /// Builds the providers and installs the global subscriber, meter
    /// provider and W3C trace-context propagator.
    ///
    /// # Errors
    /// [`TelemetryError::Exporter`] when OTLP is requested but its exporter
    /// cannot be built; [`TelemetryError::AlreadyInstalled`] when this
    /// process already has a global subscriber.
    pub fn install(self) -> Result<Telemetry, TelemetryError> {
        let resource = self.resource();
        let mut tracer = SdkTracerProvider::builder().with_resource(resource.clone());
        let prometheus = Prometheus::default();
        let mut meter = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(prometheus.reader())
            .with_view(seconds_buckets);
        if self.otlp {
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()
                .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            tracer = tracer.with_batch_exporter(spans);
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .build()
                .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            meter = meter.with_periodic_exporter(metrics);
        }
        for step in self.extra {
            tracer = step(tracer);
        }
        let tracer = tracer.build();
        let meter = meter.build();
        opentelemetry::global::set_meter_provider(meter.clone());
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

        // Traces and metrics see the engine's own spans whatever the log
        // filter says; everything else only from warnings up.
        let spans = Targets::new()
            .with_target("booking", LevelFilter::INFO)
            .with_default(LevelFilter::WARN);
        let otel = tracing_opentelemetry::layer()
            .with_tracer(tracer.tracer("booking"))
            .with_filter(spans.clone());
        let metrics = SpanMetrics::new(&meter.meter("booking")).with_filter(spans);
        let env = EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(self.log_filter.clone()));
        let logs = match self.log_format {
            LogFormat::Text => Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(env)
                    .boxed(),
            ),
            LogFormat::Json => Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_span_list(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr)
                    .with_filter(env)
                    .boxed(),
            ),
            LogFormat::Off => None,
        };
        tracing_subscriber::registry()
            .with(logs)
            .with(otel)
            .with(metrics)
            .try_init()
            .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
        Ok(Telemetry {
            tracer,
            meter,
            prometheus,
            exporting: self.otlp,
        })
    }
}

/// Installed telemetry. Keep it alive for the life of the process and call
/// [`Telemetry::shutdown`] on the way out so the last spans are exported.
#[derive(Debug)]
pub struct Telemetry {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    prometheus: Prometheus,
    exporting: bool,
}

impl Telemetry {
    /// A builder with text logs at `info`, and OTLP export when the
    /// standard endpoint variables are set.
    #[must_use]
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder {
            service_name: "booking-server".into(),
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            otlp: otlp_requested(),
            extra: Vec::new(),
        }
    }

    /// The `/metrics` renderer.
    #[must_use]
    pub fn prometheus(&self) -> Prometheus {
        self.prometheus.clone()
    }

    /// Whether traces and metrics are exported over OTLP.
    #[must_use]
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Exports what is buffered and stops the exporters.
    pub fn shutdown(&self) {
        let _ = self.tracer.shutdown();
        let _ = self.meter.shutdown();
    }
}
