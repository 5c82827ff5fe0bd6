//! One `http.request` span per request: the request id, the route, the
//! status, and the caller's W3C trace context continued from `traceparent`.
//!
//! The span carries `request_id` and `trace_id` as fields, so every log line
//! written inside a request names both, with or without an exporter.

use axum::extract::{MatchedPath, Request};
use axum::http::Response;
use axum::middleware::Next;
use opentelemetry::trace::{TraceContextExt as _, TraceId};
use opentelemetry_http::HeaderExtractor;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::middleware::REQUEST_ID;

/// The method as a span field and metric label: the standard ones by name,
/// any other as `_OTHER` (OpenTelemetry's convention), so a client cannot
/// make up a label per request.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

fn make_span<B>(req: &axum::http::Request<B>) -> Span {
    let method = method_label(req.method());
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "http.request",
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = Empty,
        url.path = req.uri().path(),
        http.response.status_code = Empty,
        request_id,
        trace_id = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(req.headers()))
    });
    // Fails only when no OpenTelemetry layer is installed; then there is
    // no trace to continue.
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", trace_id.to_string());
    }
    span
}

fn on_response<B>(response: &Response<B>, latency: std::time::Duration, span: &Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    tracing::info!(
        parent: span,
        status = status.as_u16(),
        latency_ms = %format_args!("{:.2}", latency.as_secs_f64() * 1000.0),
        "request finished"
    );
}

type MakeSpan = fn(&axum::http::Request<axum::body::Body>) -> Span;
type OnResponse = fn(&Response<axum::body::Body>, std::time::Duration, &Span);

/// The `http.request` span layer (inside the request-id layers, so the id
/// is set when the span is made).
pub(crate) type RequestSpans =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan, (), OnResponse, (), (), ()>;

pub(crate) fn layer() -> RequestSpans {
    TraceLayer::new_for_http()
        .make_span_with(make_span as MakeSpan)
        .on_request(())
        .on_response(on_response as OnResponse)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// Names the request span after its route (`POST /v1/reservations`) once
/// routing has matched; unmatched paths keep the name `http.request` and no
/// route, so scanners cannot inflate the set of span names or metric labels.
pub(crate) async fn record_route(req: Request, next: Next) -> axum::response::Response {
    if let Some(path) = req.extensions().get::<MatchedPath>() {
        let span = Span::current();
        span.record("http.route", path.as_str());
        // The OpenTelemetry span started when its trace id was read, so it
        // is renamed directly (a later `otel.name` record would be ignored).
        span.context().span().update_name(format!(
            "{} {}",
            method_label(req.method()),
            path.as_str()
        ));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for made_up in ["FOO", "BREW", "X1"] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "_OTHER");
        }
    }
}
