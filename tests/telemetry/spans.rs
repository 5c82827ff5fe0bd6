//! The span tree of one booking, on both stores.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use reqwest::StatusCode;

use crate::helpers::{TestApp, on_both_stores};

on_both_stores!(
    one_booking_produces_the_span_tree_with_its_attributes,
    a_refused_booking_says_why_on_its_span,
    moves_and_cancellations_have_their_own_spans
);

/// The process-wide telemetry of this test binary, installed once, and
/// the exporter its spans end in.
fn exporter() -> &'static InMemorySpanExporter {
    static INSTALLED: OnceLock<(booking_telemetry::Telemetry, InMemorySpanExporter)> =
        OnceLock::new();
    let (_, exporter) = INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let telemetry = booking_telemetry::Telemetry::builder()
            .log_format(booking_telemetry::LogFormat::Off)
            .otlp(false)
            .with_span_exporter(exporter.clone())
            .install()
            .expect("install telemetry");
        (telemetry, exporter)
    });
    exporter
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

/// A fresh W3C trace context: the caller's trace id and span id.
fn caller_context() -> (TraceId, SpanId, String) {
    let trace = TraceId::from_bytes(*uuid::Uuid::new_v4().as_bytes());
    let parent = SpanId::from_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap());
    let header = format!("00-{trace}-{parent}-01");
    (trace, parent, header)
}

/// What a traced request returned, and every span of its trace.
struct Traced {
    status: StatusCode,
    request_id: String,
    caller: SpanId,
    body: serde_json::Value,
    spans: Vec<SpanData>,
}

/// Sends `method path` with a request id and a traceparent, and waits for
/// the request span (named `route_name`) to be exported.
async fn traced(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    route_name: &str,
    body: serde_json::Value,
    if_match: Option<&str>,
) -> Traced {
    let exporter = exporter();
    let request_id = format!("spans-{}", uuid::Uuid::new_v4());
    let (trace, caller, traceparent) = caller_context();
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&app.staff)
        .header("x-request-id", &request_id)
        .header("traceparent", traceparent)
        .json(&body);
    if let Some(version) = if_match {
        request = request.header("If-Match", version);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let echoed = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(echoed, request_id, "the response echoes the request id");
    let body = response.json().await.unwrap_or_default();
    // The request span ends just after the response is written.
    for _ in 0..100 {
        let spans: Vec<SpanData> = exporter
            .get_finished_spans()
            .expect("spans")
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        if spans.iter().any(|s| s.name == route_name) {
            return Traced {
                status,
                request_id,
                caller,
                body,
                spans,
            };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the request span {route_name} of {request_id} was not exported");
}

async fn book(app: &TestApp, body: serde_json::Value) -> Traced {
    traced(
        app,
        reqwest::Method::POST,
        "/v1/reservations",
        "POST /v1/reservations",
        body,
        None,
    )
    .await
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
        panic!("no span {name:?} among {names:?}")
    })
}

/// Every span below `of`, at any depth.
fn descendants<'a>(spans: &'a [SpanData], of: &SpanData) -> Vec<&'a SpanData> {
    let mut found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == of.span_context.span_id())
        .collect();
    let mut i = 0;
    while i < found.len() {
        let id = found[i].span_context.span_id();
        found.extend(spans.iter().filter(|s| s.parent_span_id == id));
        i += 1;
    }
    found
}

async fn one_booking_produces_the_span_tree_with_its_attributes(app: TestApp) {
    let c = app.clinic().await;
    let Traced {
        status,
        request_id,
        caller,
        spans,
        ..
    } = book(
        &app,
        c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The request span continues the caller's trace and names the request.
    let request = named(&spans, "POST /v1/reservations");
    assert_eq!(request.parent_span_id, caller, "traceparent is continued");
    assert_eq!(request.span_kind, SpanKind::Server);
    assert_eq!(
        attr(request, "request_id").as_deref(),
        Some(request_id.as_str())
    );
    assert!(
        request_id.starts_with("spans-"),
        "the response echoes the request id"
    );
    assert_eq!(
        attr(request, "http.route").as_deref(),
        Some("/v1/reservations")
    );
    assert_eq!(
        attr(request, "http.response.status_code").as_deref(),
        Some("201")
    );
    assert_eq!(
        attr(request, "trace_id"),
        Some(request.span_context.trace_id().to_string()),
        "logs get the trace id from the span"
    );

    // Under it, the booking with its attributes.
    let create = named(&spans, "booking.create");
    assert_eq!(create.parent_span_id, request.span_context.span_id());
    assert_eq!(attr(create, "outcome").as_deref(), Some("created"));
    assert_eq!(attr(create, "branch_id"), Some(c.branch.clone()));
    assert_eq!(attr(create, "resource_id"), Some(c.dentist.clone()));
    assert!(attr(create, "tenant_id").is_some_and(|t| !t.is_empty()));

    // Under the booking: lock, checks, store write, broadcast.
    let under = descendants(&spans, create);
    let lock: Vec<&SpanData> = under
        .iter()
        .copied()
        .filter(|s| s.name == "lock.acquire")
        .collect();
    assert_eq!(lock.len(), 1, "one lock acquisition");
    assert_eq!(lock[0].parent_span_id, create.span_context.span_id());
    assert_eq!(attr(lock[0], "state").as_deref(), Some("acquired"));
    assert_eq!(attr(lock[0], "keys").as_deref(), Some("1"));
    assert!(attr(lock[0], "waited_ms").is_some());
    let checks: Vec<String> = under
        .iter()
        .filter(|s| s.name == "booking.check")
        .filter_map(|s| attr(s, "check"))
        .collect();
    assert!(checks.iter().any(|c| c == "hours"), "{checks:?}");
    assert!(checks.iter().any(|c| c == "overlap"), "{checks:?}");
    let apply = under
        .iter()
        .find(|s| s.name == "store.apply")
        .expect("a store.apply span under the booking");
    assert_eq!(attr(apply, "outcome").as_deref(), Some("written"));
    assert!(
        under.iter().any(|s| s.name == "broadcast"),
        "a broadcast span under the booking"
    );
}

async fn a_refused_booking_says_why_on_its_span(app: TestApp) {
    let c = app.clinic().await;
    let slot = c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z");
    let first = book(&app, slot.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = book(&app, slot).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let spans = second.spans;
    let request = named(&spans, "POST /v1/reservations");
    assert_eq!(
        attr(request, "http.response.status_code").as_deref(),
        Some("409")
    );
    let create = named(&spans, "booking.create");
    assert_eq!(attr(create, "outcome").as_deref(), Some("slot_taken"));
    // The overlap check runs inside the write's transaction, which the
    // refusal rolls back: the span says so, and no booking was added.
    let apply = named(&spans, "store.apply");
    assert_eq!(attr(apply, "outcome").as_deref(), Some("slot_taken"));
    let checks: Vec<String> = spans
        .iter()
        .filter(|s| s.name == "booking.check")
        .filter_map(|s| attr(s, "check"))
        .collect();
    assert!(checks.iter().any(|c| c == "overlap"), "{checks:?}");
    let listed = app
        .get(
            &format!("/v1/reservations?branch_id={}", c.branch),
            &app.viewer,
        )
        .await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(1),
        "nothing written for the refused booking"
    );

    let mut hold = c.booking("2030-01-07T12:00:00Z", "2030-01-07T12:30:00Z");
    hold["hold_minutes"] = serde_json::json!(10);
    let held = book(&app, hold).await;
    assert_eq!(held.status, StatusCode::CREATED);
    // The SDK span is named by `otel.name`.
    assert_eq!(
        attr(named(&held.spans, "booking.hold"), "outcome").as_deref(),
        Some("created")
    );
}

async fn moves_and_cancellations_have_their_own_spans(app: TestApp) {
    let c = app.clinic().await;
    let created = book(
        &app,
        c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/reservations/{id}");

    let moved = traced(
        &app,
        reqwest::Method::PATCH,
        &path,
        "PATCH /v1/reservations/{id}",
        serde_json::json!({"starts_at": "2030-01-07T12:00:00Z", "ends_at": "2030-01-07T13:00:00Z"}),
        Some("\"1\""),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let span = named(&moved.spans, "booking.move");
    assert_eq!(attr(span, "outcome").as_deref(), Some("moved"));
    assert_eq!(attr(span, "branch_id"), Some(c.branch.clone()));
    assert_eq!(attr(span, "resource_id"), Some(c.dentist.clone()));
    let under = descendants(&moved.spans, span);
    for step in ["lock.acquire", "booking.check", "store.apply", "broadcast"] {
        assert!(
            under.iter().any(|s| s.name == step),
            "{step} under booking.move"
        );
    }

    let stale = traced(
        &app,
        reqwest::Method::PATCH,
        &path,
        "PATCH /v1/reservations/{id}",
        serde_json::json!({"starts_at": "2030-01-07T14:00:00Z", "ends_at": "2030-01-07T15:00:00Z"}),
        Some("\"1\""),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        attr(named(&stale.spans, "booking.move"), "outcome").as_deref(),
        Some("stale_version")
    );

    let cancelled = traced(
        &app,
        reqwest::Method::POST,
        &format!("{path}/cancel"),
        "POST /v1/reservations/{id}/cancel",
        serde_json::json!({}),
        None,
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let span = named(&cancelled.spans, "booking.cancel");
    assert_eq!(attr(span, "outcome").as_deref(), Some("changed"));
    assert_eq!(attr(span, "branch_id"), Some(c.branch.clone()));
    let apply = descendants(&cancelled.spans, span)
        .into_iter()
        .find(|s| s.name == "store.apply")
        .expect("store.apply under booking.cancel");
    assert_eq!(attr(apply, "outcome").as_deref(), Some("written"));
}
