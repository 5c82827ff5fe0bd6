//! The server binary's telemetry as an operator sees it: OTLP export to a
//! receiver (decoding the real protobuf), `/metrics` in Prometheus text, and
//! JSON logs that name the request and trace.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::{Value, json};

use crate::common::{read_banner, server};

/// A running `booking-server` on a fresh SQLite file with the demo clinic.
struct Server {
    child: Child,
    url: String,
    staff: String,
    client: reqwest::Client,
    stderr: Option<std::process::ChildStderr>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server; its stdout is closed once the banner's keys are
    /// read (the server must not mind), its stderr is piped only when
    /// `capture_logs`.
    fn start(env: &[(&str, &str)], capture_logs: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = server();
        command
            .args(["--listen", "127.0.0.1:0", "--demo"])
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("b.db").display()),
            )
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("RUST_LOG")
            // Most cases scrape the API's address; one moves it away.
            .env("BOOKING_METRICS_ON_API", "true")
            .stdout(Stdio::piped())
            .stderr(if capture_logs {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let (url, staff) = read_banner(child.stdout.take().unwrap());
        let staff = staff.expect("--demo makes the demo clinic");
        let stderr = child.stderr.take();
        Self {
            child,
            url,
            staff,
            client: reqwest::Client::new(),
            stderr,
            _dir: dir,
        }
    }

    /// `GET path` as the staff key, as JSON.
    async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.staff)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A booking body for the demo clinic's first branch and resource, on
    /// a weekday morning inside its hours.
    async fn booking(&self, day: u32) -> Value {
        let branches = self.get_json("/v1/branches").await;
        let branch = branches["items"][0]["id"].as_str().unwrap().to_owned();
        let catalog = self
            .get_json(&format!("/v1/branches/{branch}/catalog"))
            .await;
        let resource = catalog["resources"][0]["resource"]["id"]
            .as_str()
            .expect("a resource in the catalog")
            .to_owned();
        json!({
            "branch_id": branch,
            "resource_id": resource,
            "starts_at": format!("2030-01-{day:02}T09:00:00Z"),
            "ends_at": format!("2030-01-{day:02}T09:30:00Z"),
        })
    }

    async fn post(&self, body: &Value, headers: &[(&str, &str)]) -> reqwest::StatusCode {
        let mut request = self
            .client
            .post(format!("{}/v1/reservations", self.url))
            .bearer_auth(&self.staff)
            .json(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().await.unwrap().status()
    }

    /// `GET /metrics` (on `base`, or on the server when `None`).
    async fn scrape(&self, base: Option<&str>) -> String {
        let base = base.unwrap_or(&self.url);
        let response = self
            .client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        response.text().await.unwrap()
    }

    /// Scrapes until `ready` holds (at most 2 s), then returns the last text.
    async fn scrape_until(&self, ready: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            text = self.scrape(None).await;
            if ready(&text) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        text
    }
}

#[derive(Clone, Default)]
struct Received {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

fn protobuf(body: Vec<u8>) -> ([(&'static str, &'static str); 1], Vec<u8>) {
    ([("content-type", "application/x-protobuf")], body)
}

/// An OTLP/HTTP receiver on port 0 that decodes what it is sent.
async fn otlp_receiver() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(r): State<Received>, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP trace protobuf");
                r.traces.lock().unwrap().push(request);
                protobuf(ExportTraceServiceResponse::default().encode_to_vec())
            }),
        )
        .route(
            "/v1/metrics",
            post(|State(r): State<Received>, body: Bytes| async move {
                let request =
                    ExportMetricsServiceRequest::decode(body).expect("OTLP metrics protobuf");
                r.metrics.lock().unwrap().push(request);
                protobuf(ExportMetricsServiceResponse::default().encode_to_vec())
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        other => Some(format!("{other:?}")),
    }
}

impl Received {
    /// Every received span with its resource's service name.
    fn spans(&self) -> Vec<(String, Span)> {
        let traces = self.traces.lock().unwrap();
        traces
            .iter()
            .flat_map(|request| &request.resource_spans)
            .flat_map(|rs| {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| text(&r.attributes, "service.name"))
                    .unwrap_or_default();
                rs.scope_spans
                    .iter()
                    .flat_map(|ss| &ss.spans)
                    .map(move |span| (service.clone(), span.clone()))
            })
            .collect()
    }

    /// The latest value of the `booking.operations` point with these labels.
    fn operations(&self, operation: &str, outcome: &str) -> Option<u64> {
        let metrics = self.metrics.lock().unwrap();
        metrics
            .iter()
            .flat_map(|request| &request.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter(|m| m.name == "booking.operations")
            .filter_map(|m| match &m.data {
                Some(metric::Data::Sum(sum)) => Some(&sum.data_points),
                _ => None,
            })
            .flatten()
            .filter(|point| {
                text(&point.attributes, "operation").as_deref() == Some(operation)
                    && text(&point.attributes, "outcome").as_deref() == Some(outcome)
            })
            .filter_map(|point| match point.value {
                Some(number_data_point::Value::AsInt(v)) => u64::try_from(v).ok(),
                Some(number_data_point::Value::AsDouble(v)) => Some(v as u64),
                None => None,
            })
            .next_back()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_span_and_metrics_arrive_at_an_otlp_receiver() {
    let (endpoint, received) = otlp_receiver().await;
    let server = Server::start(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "booking-wire-test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
            ("BOOKING_LOG_FORMAT", "off"),
        ],
        false,
    );
    let body = server.booking(7).await;
    let trace_id = "5b8efff798038103d269b633813fc60c";
    let caller_span = "eee19b7ec3c1b174";
    let status = server
        .post(
            &body,
            &[
                ("traceparent", &format!("00-{trace_id}-{caller_span}-01")),
                ("x-request-id", "wire-check-1"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);

    let mut found = None;
    for _ in 0..100 {
        let spans = received.spans();
        let create = spans
            .iter()
            .find(|(_, s)| s.name == "booking.create")
            .cloned();
        let request = spans
            .iter()
            .find(|(_, s)| text(&s.attributes, "request_id").as_deref() == Some("wire-check-1"))
            .cloned();
        if let (Some(create), Some(request)) = (create, request) {
            found = Some((create, request));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ((service, create), (_, request)) = found.expect("the booking spans reach the receiver");
    assert_eq!(
        service, "booking-wire-test",
        "OTEL_SERVICE_NAME names the resource"
    );
    assert_eq!(
        hex(&create.trace_id),
        trace_id,
        "the caller's trace is continued"
    );
    assert_eq!(hex(&request.parent_span_id), caller_span);
    assert_eq!(create.parent_span_id, request.span_id);
    assert_eq!(
        text(&create.attributes, "outcome").as_deref(),
        Some("created")
    );
    assert_eq!(
        text(&create.attributes, "branch_id").as_deref(),
        body["branch_id"].as_str()
    );
    assert_eq!(
        text(&create.attributes, "resource_id").as_deref(),
        body["resource_id"].as_str()
    );
    assert!(text(&create.attributes, "tenant_id").is_some());
    assert_eq!(request.name, "POST /v1/reservations");

    let mut counted = None;
    for _ in 0..100 {
        counted = received.operations("create", "created");
        if counted == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        counted,
        Some(1),
        "the booking is counted in the exported metrics"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_and_count_bookings_conflicts_and_streams() {
    let server = Server::start(&[("BOOKING_LOG_FORMAT", "off")], false);
    let body = server.booking(8).await;
    assert_eq!(server.post(&body, &[]).await, reqwest::StatusCode::CREATED);
    assert_eq!(server.post(&body, &[]).await, reqwest::StatusCode::CONFLICT);

    // A request's span (and its HTTP metric) ends just after its response
    // is written, so wait until the 409 is counted.
    let text = server
        .scrape_until(|t| {
            sample(
                t,
                "http_server_request_duration_seconds_count",
                &[("http_response_status_code", "409")],
            )
            .is_some()
        })
        .await;
    let created = [("operation", "create"), ("outcome", "created")];
    assert_eq!(
        sample(&text, "booking_operations_total", &created),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "booking_conflicts_total", &[("kind", "slot_taken")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "booking_operation_duration_seconds_count", &created),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "booking_lock_wait_seconds_count",
            &[("state", "acquired")]
        ),
        // Two bookings, and the demo clinic's four stock levels: a stock
        // change takes the stock's lock as a booking does.
        Some(6.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/v1/reservations"),
                ("http_response_status_code", "409")
            ]
        ),
        Some(1.0),
        "{text}"
    );

    // An open WebSocket stream is counted while it lives.
    let ws_url = format!(
        "{}/v1/stream?since=0",
        server.url.replace("http://", "ws://")
    );
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url)
            .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("booking.v1, bearer.{}", server.staff)
            .parse()
            .unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("stream opens");
    // The upgrade completes on the server just after the client sees 101.
    let gauge = |text: &str| sample(text, "booking_ws_connections", &[]);
    let open = server.scrape_until(|t| gauge(t) == Some(1.0)).await;
    assert_eq!(gauge(&open), Some(1.0), "an open stream is counted");
    // The upgrade went through the same edges as the API.
    let upgraded = server
        .scrape_until(|t| {
            sample(
                t,
                "http_server_request_duration_seconds_count",
                &[("http_route", "/v1/stream")],
            )
            .is_some()
        })
        .await;
    assert_eq!(
        sample(
            &upgraded,
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/v1/stream"),
                ("http_response_status_code", "101")
            ]
        ),
        Some(1.0),
        "{upgraded}"
    );
    socket.close(None).await.unwrap();
    drop(socket);
    let closed = server.scrape_until(|t| gauge(t) == Some(0.0)).await;
    assert_eq!(
        gauge(&closed),
        Some(0.0),
        "a closed stream is no longer counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_the_request_and_its_trace() {
    let mut server = Server::start(&[("BOOKING_LOG_FORMAT", "json")], true);
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let body = server.booking(9).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let status = server
        .post(
            &body,
            &[
                ("traceparent", &format!("00-{trace_id}-b7ad6b7169203331-01")),
                ("x-request-id", "json-log-check"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            panic!("a log line that is not JSON: {line}");
        };
        let spans = entry["spans"].as_array().cloned().unwrap_or_default();
        if let Some(request) = spans.iter().find(|s| s["request_id"] == "json-log-check") {
            assert_eq!(request["trace_id"], trace_id, "{line}");
            assert_eq!(entry["fields"]["status"], 201, "{line}");
            return;
        }
    }
    panic!("no JSON log line named request json-log-check within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_made_without_valkey_are_counted_as_degraded() {
    // Nothing listens on port 1: the lock is unavailable from the start.
    let server = Server::start(
        &[
            ("BOOKING_LOG_FORMAT", "off"),
            ("VALKEY_URL", "redis://127.0.0.1:1"),
            ("BOOKING_BACKPLANE_SECRET", "the telemetry test's secret"),
        ],
        false,
    );
    let body = server.booking(10).await;
    let response = server
        .client
        .post(format!("{}/v1/reservations", server.url))
        .bearer_auth(&server.staff)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["degraded"], true, "{created}");

    let text = server
        .scrape_until(|t| sample(t, "booking_degraded_total", &[("operation", "create")]).is_some())
        .await;
    assert_eq!(
        sample(&text, "booking_degraded_total", &[("operation", "create")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "booking_operations_total",
            &[("operation", "create"), ("outcome", "degraded")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "booking_lock_wait_seconds_count",
            &[("state", "unavailable")]
        ),
        // The booking, and the demo clinic's four stock levels.
        Some(5.0),
        "{text}"
    );
    let ready = server
        .client
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_move_to_their_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let internal = format!("127.0.0.1:{port}");
    let server = Server::start(
        &[
            ("BOOKING_LOG_FORMAT", "off"),
            ("BOOKING_METRICS_ON_API", "false"),
            ("BOOKING_METRICS_LISTEN", internal.as_str()),
        ],
        false,
    );
    let body = server.booking(11).await;
    assert_eq!(server.post(&body, &[]).await, reqwest::StatusCode::CREATED);
    let public = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        reqwest::StatusCode::NOT_FOUND,
        "not on the API port"
    );
    // The counter is derived from the booking's span, which may close a
    // moment after the response is sent: scrape until it shows (2 s).
    let created = |text: &str| {
        sample(
            text,
            "booking_operations_total",
            &[("operation", "create"), ("outcome", "created")],
        )
    };
    let mut text = String::new();
    for _ in 0..100 {
        text = server.scrape(Some(&format!("http://{internal}"))).await;
        if created(&text).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(created(&text), Some(1.0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_on_the_api_by_default() {
    let server = Server::start(
        &[
            ("BOOKING_LOG_FORMAT", "off"),
            ("BOOKING_METRICS_ON_API", "false"),
        ],
        false,
    );
    let public = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), reqwest::StatusCode::NOT_FOUND);
}
