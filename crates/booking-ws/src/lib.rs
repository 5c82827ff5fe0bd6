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
mod limits;
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
pub use limits::StreamLimits;

use crate::limits::Open;
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
    /// What streams may take.
    pub limits: StreamLimits,
}

/// The route's state: the caller's, and the streams open on this node.
#[derive(Clone, Debug)]
struct Route {
    state: StreamState,
    open: Arc<Open>,
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
    State(Route { state, open }): State<Route>,
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
    let place = match open.take(&state.limits, key.id, key.tenant_id) {
        Ok(place) => place,
        Err(over) => {
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-streams",
                &format!("{over}; close a stream (another tab or device) before opening one"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return response;
        }
    };
    // Where the log is now. A `since` past it names events that do not
    // exist (and would overflow), and one too far behind would replay more
    // than a stream may send. Without `since` the stream starts at the
    // head, so its gaps are filled from the log like any other's: a live
    // message lost or replayed on the backplane cannot blind or rewind it.
    let Ok(head) = state.services.events().head(key.tenant_id).await else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "retry shortly",
        );
    };
    let head = head.0;
    let start = match since {
        None => Start::From(head),
        Some(n) if n > head => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                &format!("since: {n} is past the last event ({head}); send the last seq you saw"),
            );
        }
        Some(n) if head - n > state.limits.max_replay => Start::Resync { head },
        Some(n) => Start::From(n),
    };
    let hub = state.hub.clone();
    let limits = state.limits.clone();
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(limits.max_message)
        .max_frame_size(limits.max_message)
        // Small buffers: an idle stream holds little more than its socket.
        .read_buffer_size(limits.max_message)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let _place = place;
            Session::new(
                socket,
                state.services,
                key,
                branch,
                start,
                state.heartbeat,
                limits,
            )
            .run(&hub)
            .await;
        })
}

/// Where a stream starts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start {
    /// After this event: the log's events after it, then live (a stream
    /// without `since` starts after the head).
    From(u64),
    /// Too far behind to replay: tell the client to reload and stream from
    /// `head`, and close.
    Resync { head: u64 },
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
        .with_state(Route {
            state,
            open: Arc::new(Open::default()),
        })
}
