//! OpenTelemetry for the booking engine: human or JSON logs, OTLP traces
//! and metrics, booking metrics derived from the core's spans, and a
//! Prometheus text rendering of every metric for `/metrics`.
//!
//! `booking-core` only emits `tracing` spans (it depends on no telemetry
//! SDK). This crate turns those spans into OpenTelemetry spans (through
//! `tracing-opentelemetry`) and into metrics ([`SpanMetrics`]): the span
//! names and their `outcome`/`state` fields are the contract. Adapters with
//! their own measurements (WebSocket connections, backplane lag) record
//! them on the global `opentelemetry` meter, which [`TelemetryBuilder::install`]
//! sets up.
//!
//! Nothing is exported unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or a
//! signal-specific endpoint) is set; spans still get trace ids, so logs and
//! `traceparent` continuation work without a collector.
//!
//! # Layout
//! - `install`: [`TelemetryBuilder`] and [`Telemetry`] (providers, global
//!   subscriber, shutdown).
//! - `span_metrics`: the [`SpanMetrics`] layer and the instrument names.
//! - `prometheus`: [`Prometheus`], an on-demand reader rendering text format.
#![forbid(unsafe_code)]

mod install;
mod prometheus;
mod span_metrics;

pub use install::{LogFormat, Telemetry, TelemetryBuilder, TelemetryError};
pub use prometheus::Prometheus;
pub use span_metrics::{SpanMetrics, names};
