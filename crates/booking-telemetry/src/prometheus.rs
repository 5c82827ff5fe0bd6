//! Metrics in the Prometheus text exposition format (version 0.0.4), read
//! on demand from the OpenTelemetry SDK.
//!
//! Names follow the OpenTelemetry-to-Prometheus mapping: dots become
//! underscores, a unit of seconds adds `_seconds`, monotonic counters get
//! `_total`. Attributes become labels. Cumulative temporality, so every
//! scrape sees totals since start.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, Metric, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

/// A handle that renders the current metrics as Prometheus text. Cheap to
/// clone. [`TelemetryBuilder::install`](crate::TelemetryBuilder::install)
/// registers its reader with the meter provider.
#[derive(Debug, Clone, Default)]
pub struct Prometheus {
    reader: Arc<ManualReader>,
}

/// The [`MetricReader`] side of a [`Prometheus`] handle.
#[derive(Debug)]
pub(crate) struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

impl Prometheus {
    /// The reader to add to the meter provider this handle renders.
    pub(crate) fn reader(&self) -> SharedReader {
        SharedReader(Arc::clone(&self.reader))
    }

    /// Every metric, in text format. Empty when nothing was recorded yet
    /// or the provider is shut down.
    #[must_use]
    pub fn render(&self) -> String {
        let mut rm = ResourceMetrics::default();
        if self.reader.collect(&mut rm).is_err() {
            return String::new();
        }
        let mut out = String::new();
        for scope in rm.scope_metrics() {
            for metric in scope.metrics() {
                render_metric(&mut out, metric);
            }
        }
        out
    }
}

/// A metric or label name with everything but letters and digits as `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The Prometheus family name for an instrument.
fn family(metric: &Metric, monotonic_sum: bool) -> String {
    let mut name = sanitize(metric.name());
    if metric.unit() == "s" && !name.ends_with("_seconds") {
        name.push_str("_seconds");
    }
    if monotonic_sum && !name.ends_with("_total") {
        name.push_str("_total");
    }
    name
}

fn render_metric(out: &mut String, metric: &Metric) {
    match metric.data() {
        AggregatedMetrics::F64(data) => render_data(out, metric, data),
        AggregatedMetrics::U64(data) => render_data(out, metric, data),
        AggregatedMetrics::I64(data) => render_data(out, metric, data),
    }
}

/// A sample value as Prometheus writes it.
trait Sample: Copy {
    fn text(self) -> String;
}
impl Sample for f64 {
    fn text(self) -> String {
        if self.is_nan() {
            "NaN".into()
        } else if self.is_infinite() {
            if self > 0.0 { "+Inf" } else { "-Inf" }.into()
        } else {
            self.to_string()
        }
    }
}
impl Sample for u64 {
    fn text(self) -> String {
        self.to_string()
    }
}
impl Sample for i64 {
    fn text(self) -> String {
        self.to_string()
    }
}

fn header(out: &mut String, name: &str, metric: &Metric, kind: &str) {
    if !metric.description().is_empty() {
        let help = metric
            .description()
            .replace('\\', "\\\\")
            .replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {name} {help}");
    }
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn render_data<T: Sample>(out: &mut String, metric: &Metric, data: &MetricData<T>) {
    match data {
        MetricData::Sum(sum) => {
            let name = family(metric, sum.is_monotonic());
            let kind = if sum.is_monotonic() {
                "counter"
            } else {
                "gauge"
            };
            header(out, &name, metric, kind);
            for point in sum.data_points() {
                let labels = labels(point.attributes(), None);
                let _ = writeln!(out, "{name}{labels} {}", point.value().text());
            }
        }
        MetricData::Gauge(gauge) => {
            let name = family(metric, false);
            header(out, &name, metric, "gauge");
            for point in gauge.data_points() {
                let labels = labels(point.attributes(), None);
                let _ = writeln!(out, "{name}{labels} {}", point.value().text());
            }
        }
        MetricData::Histogram(histogram) => {
            let name = family(metric, false);
            header(out, &name, metric, "histogram");
            for point in histogram.data_points() {
                render_histogram_point(out, &name, point);
            }
        }
        // Not used by this engine; an exponential histogram has no
        // faithful classic-text rendering.
        MetricData::ExponentialHistogram(_) => {}
    }
}

fn render_histogram_point<T: Sample>(out: &mut String, name: &str, point: &HistogramDataPoint<T>) {
    let mut cumulative = 0u64;
    // One more count than bounds: the last bucket is +Inf, the total.
    for (bound, count) in point.bounds().zip(point.bucket_counts()) {
        cumulative += count;
        let labels = labels(point.attributes(), Some(&bound.text()));
        let _ = writeln!(out, "{name}_bucket{labels} {cumulative}");
    }
    let labels_inf = labels(point.attributes(), Some("+Inf"));
    let _ = writeln!(out, "{name}_bucket{labels_inf} {}", point.count());
    let plain = labels(point.attributes(), None);
    let _ = writeln!(out, "{name}_sum{plain} {}", point.sum().text());
    let _ = writeln!(out, "{name}_count{plain} {}", point.count());
}

/// `{a="x",b="y"}` (sorted by name), or nothing when there are no labels.
fn labels<'a>(attributes: impl Iterator<Item = &'a KeyValue>, le: Option<&str>) -> String {
    let mut sorted: BTreeMap<String, String> = attributes
        .map(|kv| (sanitize(kv.key.as_str()), kv.value.as_str().into_owned()))
        .collect();
    if let Some(le) = le {
        sorted.insert("le".into(), le.into());
    }
    if sorted.is_empty() {
        return String::new();
    }
    let body: Vec<String> = sorted
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::SdkMeterProvider;

    use super::*;

    fn provider() -> (SdkMeterProvider, Prometheus) {
        let prometheus = Prometheus::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(prometheus.reader())
            .build();
        (provider, prometheus)
    }

    #[test]
    fn counters_get_total_and_labels_are_escaped() {
        let (provider, prometheus) = provider();
        let counter = provider
            .meter("t")
            .u64_counter("booking.operations")
            .build();
        counter.add(2, &[KeyValue::new("outcome", "a\"b\\c\nd")]);
        let text = prometheus.render();
        assert!(
            text.contains("# TYPE booking_operations_total counter"),
            "{text}"
        );
        assert!(
            text.contains(r#"booking_operations_total{outcome="a\"b\\c\nd"} 2"#),
            "{text}"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_seconds_and_inf() {
        let (provider, prometheus) = provider();
        let histogram = provider
            .meter("t")
            .f64_histogram("booking.lock.wait")
            .with_unit("s")
            .with_boundaries(vec![0.01, 0.1])
            .build();
        for v in [0.005, 0.05, 0.05, 3.0] {
            histogram.record(v, &[KeyValue::new("state", "acquired")]);
        }
        let text = prometheus.render();
        for line in [
            "# TYPE booking_lock_wait_seconds histogram",
            r#"booking_lock_wait_seconds_bucket{le="0.01",state="acquired"} 1"#,
            r#"booking_lock_wait_seconds_bucket{le="0.1",state="acquired"} 3"#,
            r#"booking_lock_wait_seconds_bucket{le="+Inf",state="acquired"} 4"#,
            r#"booking_lock_wait_seconds_count{state="acquired"} 4"#,
            r#"booking_lock_wait_seconds_sum{state="acquired"} 3.105"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn up_down_counters_are_gauges() {
        let (provider, prometheus) = provider();
        let gauge = provider
            .meter("t")
            .i64_up_down_counter("booking.ws.connections")
            .build();
        gauge.add(3, &[]);
        gauge.add(-1, &[]);
        let text = prometheus.render();
        assert!(
            text.contains("# TYPE booking_ws_connections gauge"),
            "{text}"
        );
        assert!(text.contains("\nbooking_ws_connections 2\n"), "{text}");
    }
}
