//! Booking metrics derived from the spans `booking-core` and `booking-http`
//! already emit, so the core records each fact once (as a span) and stays
//! free of any metrics SDK.
//!
//! | span | fields read | metrics |
//! |---|---|---|
//! | `booking.create`, `booking.move`, `booking.transition` | `otel.name`, `outcome`, `conflict` | operations, operation duration, conflicts, degraded |
//! | `lock.acquire` | `state` | lock wait |
//! | `http.request` | `http.request.method`, `http.route`, `http.response.status_code` | HTTP request duration |

use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Instrument names (OpenTelemetry style; `/metrics` shows them with
/// underscores, `_seconds` and `_total`).
pub mod names {
    /// Counter: booking operations by `operation` and `outcome`.
    pub const OPERATIONS: &str = "booking.operations";
    /// Histogram (s): how long an operation took, by `operation` and `outcome`.
    pub const OPERATION_DURATION: &str = "booking.operation.duration";
    /// Counter: refusals because of another booking, by `operation` and
    /// `kind` (slot_taken, out_of_stock, stale_version, lock_busy).
    pub const CONFLICTS: &str = "booking.conflicts";
    /// Counter: changes written without the lock service, by `operation`.
    pub const DEGRADED: &str = "booking.degraded";
    /// Histogram (s): time spent acquiring locks, by `state`
    /// (acquired, busy, unavailable).
    pub const LOCK_WAIT: &str = "booking.lock.wait";
    /// Histogram (s): HTTP request duration by method, route and status.
    pub const HTTP_DURATION: &str = "http.server.request.duration";
    /// Up-down counter: open WebSocket streams (recorded by `booking-ws`).
    pub const WS_CONNECTIONS: &str = "booking.ws.connections";
    /// Histogram (s): commit-to-arrival time of events that came over the
    /// Valkey backplane (recorded by `booking-valkey-backplane`).
    pub const BACKPLANE_LAG: &str = "booking.backplane.lag";
}

/// Bucket bounds for every histogram in seconds (1 ms to 30 s), applied by
/// a view so adapters' own histograms get them too.
pub(crate) const LATENCY_BOUNDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Operation,
    Lock,
    Http,
}

impl Kind {
    fn of(name: &str) -> Option<Self> {
        match name {
            "booking.create" | "booking.move" | "booking.transition" => Some(Self::Operation),
            "lock.acquire" => Some(Self::Lock),
            "http.request" => Some(Self::Http),
            _ => None,
        }
    }
}

/// What the layer keeps in a watched span's extensions.
#[derive(Debug)]
struct Watched {
    kind: Kind,
    name: &'static str,
    started: Instant,
    fields: Fields,
}

#[derive(Debug, Default)]
struct Fields {
    otel_name: Option<String>,
    outcome: Option<String>,
    conflict: Option<String>,
    state: Option<String>,
    method: Option<String>,
    route: Option<String>,
    status: Option<String>,
}

impl Fields {
    /// Where a field the metrics use goes; `None` for every other field,
    /// which is then never formatted.
    fn slot(&mut self, field: &Field) -> Option<&mut Option<String>> {
        Some(match field.name() {
            "otel.name" => &mut self.otel_name,
            "outcome" => &mut self.outcome,
            "conflict" => &mut self.conflict,
            "state" => &mut self.state,
            "http.request.method" => &mut self.method,
            "http.route" => &mut self.route,
            "http.response.status_code" => &mut self.status,
            _ => return None,
        })
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(value.to_owned());
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(format!("{value:?}"));
        }
    }
}

/// A `tracing` layer that records the booking metrics when watched spans
/// close.
#[derive(Debug, Clone)]
pub struct SpanMetrics {
    operations: Counter<u64>,
    duration: Histogram<f64>,
    conflicts: Counter<u64>,
    degraded: Counter<u64>,
    lock_wait: Histogram<f64>,
    http: Histogram<f64>,
}

impl SpanMetrics {
    /// Creates the instruments on `meter`.
    #[must_use]
    pub fn new(meter: &Meter) -> Self {
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .build()
        };
        Self {
            operations: meter
                .u64_counter(names::OPERATIONS)
                .with_description("Booking operations by operation and outcome")
                .build(),
            duration: seconds(
                names::OPERATION_DURATION,
                "Booking operation latency by operation and outcome",
            ),
            conflicts: meter
                .u64_counter(names::CONFLICTS)
                .with_description("Operations refused because of another booking or writer")
                .build(),
            degraded: meter
                .u64_counter(names::DEGRADED)
                .with_description("Changes written without the lock service (store alone)")
                .build(),
            lock_wait: seconds(names::LOCK_WAIT, "Time spent acquiring locks by state"),
            http: seconds(names::HTTP_DURATION, "HTTP request latency"),
        }
    }

    fn record(&self, watched: &Watched) {
        let seconds = watched.started.elapsed().as_secs_f64();
        let f = &watched.fields;
        match watched.kind {
            Kind::Operation => {
                let name = f.otel_name.as_deref().unwrap_or(watched.name);
                let operation = name.strip_prefix("booking.").unwrap_or(name).to_owned();
                let outcome = f.outcome.clone().unwrap_or_else(|| "unknown".into());
                let labels = [
                    KeyValue::new("operation", operation.clone()),
                    KeyValue::new("outcome", outcome.clone()),
                ];
                self.operations.add(1, &labels);
                self.duration.record(seconds, &labels);
                // Which outcomes are conflicts is the core's call: it
                // records the kind in `conflict`.
                if let Some(kind) = &f.conflict {
                    self.conflicts.add(
                        1,
                        &[
                            KeyValue::new("operation", operation.clone()),
                            KeyValue::new("kind", kind.clone()),
                        ],
                    );
                }
                if outcome == "degraded" {
                    self.degraded
                        .add(1, &[KeyValue::new("operation", operation)]);
                }
            }
            Kind::Lock => {
                let state = f.state.clone().unwrap_or_else(|| "unknown".into());
                self.lock_wait
                    .record(seconds, &[KeyValue::new("state", state)]);
            }
            Kind::Http => {
                let mut labels = vec![KeyValue::new(
                    "http.request.method",
                    f.method.clone().unwrap_or_default(),
                )];
                // Unmatched paths have no route; leaving it out keeps
                // scanners from inflating the label set.
                if let Some(route) = &f.route {
                    labels.push(KeyValue::new("http.route", route.clone()));
                }
                labels.push(KeyValue::new(
                    "http.response.status_code",
                    f.status.clone().unwrap_or_default(),
                ));
                self.http.record(seconds, &labels);
            }
        }
    }
}

impl<S> Layer<S> for SpanMetrics
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(kind) = Kind::of(attrs.metadata().name()) else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(Watched {
            kind,
            name: attrs.metadata().name(),
            started: Instant::now(),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(watched) = span.extensions_mut().get_mut::<Watched>() {
            values.record(&mut watched.fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if let Some(watched) = span.extensions_mut().remove::<Watched>() {
            self.record(&watched);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::SdkMeterProvider;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::Prometheus;

    #[test]
    fn closed_booking_spans_become_outcome_conflict_and_lock_metrics() {
        let prometheus = Prometheus::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(prometheus.reader())
            .build();
        let layer = SpanMetrics::new(&provider.meter("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let ok = tracing::info_span!(
                "booking.create",
                otel.name = "booking.hold",
                outcome = tracing::field::Empty
            );
            let lock =
                tracing::info_span!(parent: &ok, "lock.acquire", state = tracing::field::Empty);
            lock.record("state", "acquired");
            drop(lock);
            ok.record("outcome", "created");
            drop(ok);
            let taken = tracing::info_span!(
                "booking.create",
                outcome = tracing::field::Empty,
                conflict = tracing::field::Empty
            );
            taken.record("outcome", "slot_taken");
            taken.record("conflict", "slot_taken");
            drop(taken);
            let degraded = tracing::info_span!("booking.move", outcome = "degraded");
            drop(degraded);
        });
        let text = prometheus.render();
        for line in [
            r#"booking_operations_total{operation="hold",outcome="created"} 1"#,
            r#"booking_operations_total{operation="create",outcome="slot_taken"} 1"#,
            r#"booking_conflicts_total{kind="slot_taken",operation="create"} 1"#,
            r#"booking_degraded_total{operation="move"} 1"#,
            r#"booking_lock_wait_seconds_count{state="acquired"} 1"#,
            r#"booking_operation_duration_seconds_count{operation="move",outcome="degraded"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
