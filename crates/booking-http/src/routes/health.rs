//! `/healthz` (the process is alive) and `/readyz` (its dependencies
//! answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::{AppState, ReadinessSeen};

pub(crate) async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
}

/// How long a `/readyz` answer is given again.
const READINESS_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) async fn readyz(State(s): State<AppState>) -> Response {
    let mut seen = s.readiness_seen.lock().await;
    let fresh = seen
        .as_ref()
        .filter(|r| r.at.elapsed() < READINESS_FRESH)
        .cloned();
    let answer = match fresh {
        Some(answer) => answer,
        None => {
            let answer = check(&s).await;
            *seen = Some(answer.clone());
            answer
        }
    };
    drop(seen);
    let status = if answer.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(answer.body)).into_response()
}

/// Asks every dependency now.
async fn check(s: &AppState) -> ReadinessSeen {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for dependency in &s.readiness {
        let ok = dependency.ready().await;
        ready &= ok;
        checks.insert(
            dependency.name().to_owned(),
            json!(if ok { "ok" } else { "unavailable" }),
        );
    }
    ReadinessSeen {
        at: std::time::Instant::now(),
        ready,
        body: json!({ "status": if ready { "ready" } else { "not ready" }, "checks": checks }),
    }
}

/// Prometheus text format 0.0.4. The labels are operations, outcomes,
/// routes and states, never tenant data, so it needs no key; expose it on
/// the internal network only.
pub(crate) async fn metrics(State(metrics): State<crate::MetricsText>) -> Response {
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}
