//! # booking-http
//!
//! The HTTP API of the booking engine (axum): catalog administration, API
//! keys, reservations, the audit log and health checks under `/v1`.
//!
//! - **Auth**: `Authorization: Bearer <api key>`; keys belong to one tenant
//!   and carry a role (admin: catalog and keys; staff: bookings; viewer:
//!   reads) and an actor name; every change is recorded with the key's id
//!   and the request id ([`Caller::by`]). Another tenant's ids behave
//!   exactly like ids that do not exist.
//! - **Errors**: RFC 9457 problem+json with a stable `type` per kind
//!   (`/problems/slot-taken`, …), the fields to fix, and the request id.
//!   5xx bodies reveal nothing internal.
//! - **Idempotency**: `Idempotency-Key` on any POST.
//! - **OpenAPI**: generated from the handlers at `/openapi.json`.
//!
//! Handlers parse at the edge, call the use cases
//! ([`booking_core::Services`]) and answer with the API's own response
//! types (`views.rs`), never the domain's serde shapes. The composition
//! root builds an [`AppState`] from the services, calls [`router`], and
//! [`serve`]s it on a listener it bound, with a shutdown future.
//!
//! ## Layout
//!
//! `state.rs` shared state; `auth.rs` keys; `json.rs` bodies; `dto.rs`
//! request shapes; `views/` response shapes (`events.rs` the events and
//! their OpenAPI schema, `keys.rs` keys); `problem.rs` errors;
//! `middleware.rs` request ids and idempotency; `trace.rs` request spans;
//! `openapi.rs` the document's frame; `routes/` the handlers.

#![forbid(unsafe_code)]

mod auth;
mod dto;
mod json;
mod limits;
mod middleware;
mod openapi;
mod problem;
mod routes;
mod serve;
mod state;
mod throttle;
mod trace;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub use auth::Caller;
pub use limits::RequestLimits;
pub use middleware::{BODY_LIMIT, REQUEST_ID};
pub use problem::{PROBLEM_JSON, Problem};
pub use serve::{RESERVED_DESCRIPTORS, ServeSettings, fit_to_descriptors, serve};
pub use state::{AppState, MetricsText, Readiness};

use routes::{availability, catalog, events, health, holds, keys, reservations};

async fn no_route() -> impl IntoResponse {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-such-route",
        "No such route",
        "see /v1 in the API documentation",
    )
}

async fn wrong_method() -> impl IntoResponse {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this path does not accept that method",
    )
}

/// The API's routes and middleware.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] plus `extra` routes (the WebSocket stream) behind the same
/// edges: request ids, request spans, problem+json fallbacks, body limit.
///
/// The `/v1` routes and the OpenAPI document are built from one list
/// (`api()` in this file): a handler is routed exactly where it is documented.
pub fn router_with(state: AppState, extra: Router) -> Router {
    let (v1, doc) = api().split_for_parts();
    // Rendered once: the document does not change while the process runs.
    let doc =
        axum::body::Bytes::from(serde_json::to_vec(&doc).expect("the OpenAPI document serializes"));
    let v1 = v1
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::deadline,
        ));
    let routes = v1
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        doc,
                    )
                }
            }),
        );
    let failures = state.auth_failures.clone();
    with_edges(
        routes
            .with_state(state)
            .merge(extra)
            .layer(axum::middleware::from_fn_with_state(
                failures,
                throttle::throttle,
            )),
    )
}

/// The documented API: every `/v1` operation with its handler. Handlers of
/// one path share a `routes!`.
fn api() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(catalog::create_branch, catalog::list_branches))
        .routes(routes!(
            catalog::get_branch,
            catalog::update_branch,
            catalog::delete_branch
        ))
        .routes(routes!(catalog::branch_catalog))
        .routes(routes!(catalog::branch_events))
        .routes(routes!(catalog::create_resource, catalog::list_resources))
        .routes(routes!(
            catalog::get_resource,
            catalog::update_resource,
            catalog::delete_resource
        ))
        .routes(routes!(catalog::link_resource, catalog::unlink_resource))
        .routes(routes!(catalog::resource_events))
        .routes(routes!(catalog::create_service, catalog::list_services))
        .routes(routes!(
            catalog::get_service,
            catalog::update_service,
            catalog::delete_service
        ))
        .routes(routes!(
            catalog::price_service,
            catalog::clear_service_price
        ))
        .routes(routes!(catalog::list_service_resources))
        .routes(routes!(
            catalog::add_service_resource,
            catalog::remove_service_resource
        ))
        .routes(routes!(catalog::service_events))
        .routes(routes!(catalog::create_product, catalog::list_products))
        .routes(routes!(
            catalog::get_product,
            catalog::update_product,
            catalog::delete_product
        ))
        .routes(routes!(catalog::set_stock, catalog::stop_selling))
        .routes(routes!(catalog::product_events))
        .routes(routes!(catalog::restock))
        .routes(routes!(reservations::create, reservations::list))
        .routes(routes!(reservations::get, reservations::move_reservation))
        .routes(routes!(reservations::confirm))
        .routes(routes!(reservations::cancel))
        .routes(routes!(reservations::complete))
        .routes(routes!(reservations::history))
        .routes(routes!(holds::create_hold))
        .routes(routes!(holds::confirm_hold))
        .routes(routes!(holds::extend_hold))
        .routes(routes!(holds::release_hold))
        .routes(routes!(availability::availability))
        .routes(routes!(
            availability::get_settings,
            availability::put_settings
        ))
        .routes(routes!(events::since))
        .routes(routes!(keys::create_key, keys::list_keys))
        .routes(routes!(keys::get_key, keys::change_role, keys::revoke_key))
}

/// `GET /metrics`, to merge into the API with [`router_with`] or to serve
/// alone on an internal listener with [`metrics_router`].
pub fn metrics_routes(metrics: MetricsText) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(metrics)
}

/// [`metrics_routes`] alone, behind the same edges as the API.
pub fn metrics_router(metrics: MetricsText) -> Router {
    with_edges(metrics_routes(metrics))
}

/// What every route gets: problem+json for unknown routes and methods, the
/// body limit, request ids (taken from `x-request-id` when short visible
/// ASCII, else generated; returned in the header and in every problem
/// body), `nosniff` and `no-store` unless the route says otherwise, and the
/// `http.request` span that carries the request id and continues the
/// caller's `traceparent`.
fn with_edges<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .route_layer(axum::middleware::from_fn(trace::record_route))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(middleware::refuse_oversized))
        .layer(axum::middleware::from_fn(
            middleware::request_id_in_problems,
        ))
        .layer(axum::middleware::from_fn(middleware::protective_headers))
        .layer(trace::layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::from_fn(middleware::fit_request_id))
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_500_reveals_nothing_internal_and_carries_the_request_id() {
        let app = with_edges(Router::new().route(
            "/boom",
            get(|| async {
                Problem::internal(&"connection to db.internal:5432 failed, password hunter2")
            }),
        ));
        let request = Request::get("/boom")
            .header(REQUEST_ID, "req-42")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers().get(REQUEST_ID).unwrap(), "req-42");
        let body = to_bytes(response.into_body(), 10_000).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("db.internal"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["request_id"], "req-42");
        assert_eq!(json["type"], "/problems/internal");
    }

    #[tokio::test]
    async fn a_request_without_an_id_gets_one() {
        let app = with_edges(Router::new().route("/ok", get(|| async { "ok" })));
        let response = app
            .oneshot(Request::get("/ok").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get(REQUEST_ID)
                .is_some_and(|v| v.len() >= 32)
        );
    }

    #[tokio::test]
    async fn an_unfit_request_id_is_replaced_and_a_fit_one_kept() {
        let app = with_edges(Router::new().route("/ok", get(|| async { "ok" })));
        let sent_back = |id: &'static str| {
            let app = app.clone();
            async move {
                let request = Request::get("/ok")
                    .header(REQUEST_ID, id)
                    .body(Body::empty())
                    .unwrap();
                let response = app.oneshot(request).await.unwrap();
                response.headers()[REQUEST_ID].to_str().unwrap().to_owned()
            }
        };
        assert_eq!(sent_back("req-42.a_b:c").await, "req-42.a_b:c");
        let long: &'static str = "a".repeat(300).leak();
        for unfit in ["a status=500 tenant_id=evil", long] {
            let got = sent_back(unfit).await;
            assert_ne!(got, unfit);
            assert!(got.len() >= 32 && !got.contains(' '), "{got}");
        }
    }

    #[tokio::test]
    async fn answers_say_nosniff_and_no_store_unless_the_route_says_otherwise() {
        let app = with_edges(Router::new().route("/api", get(|| async { "{}" })).route(
            "/file",
            get(|| async { ([(axum::http::header::CACHE_CONTROL, "no-cache")], "x") }),
        ));
        for (path, cache) in [
            ("/api", "no-store"),
            ("/file", "no-cache"),
            ("/none", "no-store"),
        ] {
            let response = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let headers = response.headers();
            assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(headers["cache-control"], cache, "{path}");
        }
    }
}
