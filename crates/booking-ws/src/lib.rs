//! # booking-ws
//!
//! Live calendar updates: every connected client of a tenant sees each
//! committed change within a second, on whichever node it is connected to,
//! and a client that was away catches up without missing or repeating
//! anything.
//!
//! - [`Hub`]: this node's clients, per tenant, each with a bounded queue.
//!   In one-node mode it is the `Broadcaster`; in cluster mode the Valkey
//!   backplane feeds it.
//! - `GET /v1/stream?since=N[&branch_id=…]` ([`router`]): upgrades to a
//!   WebSocket. The API key comes as `Authorization: Bearer …` or, from
//!   browsers (which cannot set headers), as the subprotocol `bearer.<key>`
//!   next to `booking.v1`; keys never go in URLs. Messages are the events
//!   in the log's JSON envelope ([`booking_core::Event`]), `seq` being the
//!   tenant's event number; events about keys and tenants go to admin
//!   keys only. A stream closes (1008) when its key is revoked (on any
//!   node) or expires.
//!
//! ## Layout
//!
//! `hub.rs` fan-out; `session.rs` one client's replay, live stream, gap
//! filling and heartbeats; `message.rs` the wire format; this file the
//! route.

#![forbid(unsafe_code)]

mod hub;
mod message;
mod session;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use booking_core::{BranchId, Services};
pub use hub::{Hub, Subscription};

use crate::session::Session;

/// The subprotocol spoken on the stream.
pub const PROTOCOL: &str = "booking.v1";

/// What the stream route needs.
#[derive(Clone, Debug)]
pub struct StreamState {
    /// The use cases: keys and the event log.
    pub services: Services,
    /// This node's clients.
    pub hub: Arc<Hub>,
    /// Ping interval; a client silent for three is closed.
    pub heartbeat: Duration,
}

fn refuse(status: StatusCode, kind: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("/problems/{kind}"),
        "title": kind,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The API key from the `Authorization` header or a `bearer.<key>`
/// subprotocol.
fn secret(headers: &HeaderMap) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let from_protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("bearer."))
        });
    from_header
        .or(from_protocol)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_owned)
}

async fn stream(
    State(state): State<StreamState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(secret) = secret(&headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the API key as a Bearer header or a bearer.<key> subprotocol",
        );
    };
    let key = match state.services.access().authenticate(&secret).await {
        Ok(Some(key)) => key,
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "unknown API key"),
        Err(_) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "retry shortly",
            );
        }
    };
    let since = match params.get("since").map(|v| v.parse::<u64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "since: the last sequence number seen (0 for all)",
            );
        }
    };
    let branch = match params.get("branch_id").map(|v| v.parse::<BranchId>()) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(_)) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "branch_id: not a UUID",
            );
        }
    };
    let hub = state.hub.clone();
    upgrade
        .protocols([PROTOCOL])
        .on_upgrade(move |socket| async move {
            Session::new(socket, state.services, key, branch, since, state.heartbeat)
                .run(&hub)
                .await;
        })
}

/// The stream route, with its state.
pub fn router(state: StreamState) -> Router {
    // `booking.ws.connections` on the global meter, read from the hub when
    // metrics are collected (the hub already counts its clients).
    let hub = Arc::downgrade(&state.hub);
    let _gauge = opentelemetry::global::meter("booking-ws")
        .u64_observable_gauge("booking.ws.connections")
        .with_description("Open WebSocket event streams on this node")
        .with_callback(move |gauge| {
            if let Some(hub) = hub.upgrade() {
                gauge.observe(u64::try_from(hub.clients()).unwrap_or(u64::MAX), &[]);
            }
        })
        .build();
    Router::new()
        .route("/v1/stream", get(stream))
        .with_state(state)
}
