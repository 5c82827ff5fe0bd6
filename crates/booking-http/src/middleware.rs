//! Request ids in problem bodies, and idempotent POSTs.

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use booking_core::{Claim, IdempotencyKey, IdempotencyScope};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::Instrument as _;

use crate::auth::Caller;
use crate::problem::{PROBLEM_JSON, Problem};
use crate::state::AppState;

/// The largest body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Oversized bodies up to this size are read and thrown away before the 413
/// goes out, so the client reads the answer instead of a connection reset.
/// Larger ones are refused unread and the connection is closed.
const DRAIN_LIMIT: u64 = 1024 * 1024;

/// How long the server spends draining an oversized body.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The request id header (set by the outer layer when the client sent none).
pub const REQUEST_ID: &str = "x-request-id";

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes())
}

/// Drops a client's `x-request-id` that is not a short run of visible
/// ASCII ([`booking_core::RequestId`]'s rule), so the request-id layer
/// makes a fresh one: the id goes into every log line, the response header
/// and problem bodies, where a long one or one with spaces could forge or
/// swamp them.
pub(crate) async fn fit_request_id(mut req: Request, next: Next) -> Response {
    let mut sent = req.headers().get_all(REQUEST_ID).iter();
    let fit = match (sent.next(), sent.next()) {
        (Some(one), None) => one
            .to_str()
            .is_ok_and(|v| booking_core::RequestId::new(v).is_ok()),
        // None (one is made), or several (which one?).
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !fit {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

/// What every answer carries unless its route set it: no content-type
/// sniffing, and no caching (API answers hold names and notes of patients;
/// the calendar's files set their own caching).
pub(crate) async fn protective_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Adds `request_id` to every problem+json body, so a client can quote it
/// (5xx bodies say nothing else).
pub(crate) async fn request_id_in_problems(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    let Some(id) = id.filter(|_| is_problem(&response)) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("request_id".into(), serde_json::Value::String(id));
            serde_json::Value::Object(map).to_string().into_bytes()
        }
        _ => bytes.to_vec(),
    };
    let mut response = Response::from_parts(parts, Body::from(body));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

/// Refuses a body whose declared length is over [`BODY_LIMIT`] before any
/// handler runs.
///
/// Closing a socket with unread input makes the kernel send a reset, which
/// can destroy the 413 before the client reads it. So a moderately oversized
/// body is drained first (bounded in size and time) and the connection stays
/// usable; a huge one is not read at all and the connection is closed.
pub(crate) async fn refuse_oversized(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(declared) = declared.filter(|&n| n > BODY_LIMIT as u64) else {
        return next.run(req).await;
    };
    let mut response = Problem::body_too_large().into_response();
    if declared <= DRAIN_LIMIT {
        let drain = to_bytes(
            req.into_body(),
            usize::try_from(DRAIN_LIMIT).unwrap_or(usize::MAX),
        );
        if tokio::time::timeout(DRAIN_TIME, drain).await.is_ok() {
            return response;
        }
    }
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The headers an idempotent replay repeats: what a client reads from the
/// first answer (the `ETag` for `If-Match`, the new resource's `Location`).
const REPLAYED_HEADERS: [&str; 4] = ["content-type", "etag", "location", "booking-degraded"];

/// A finished request's answer, as the store keeps it (opaquely) for
/// retries: `{"status": 201, "headers": [["etag", "\"1\""]], "body": "…"}`.
/// Records from before headers were kept have none.
#[derive(serde::Serialize, serde::Deserialize)]
struct Outcome {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body: String,
}

impl Outcome {
    fn of(parts: &axum::http::response::Parts, body: &[u8]) -> Self {
        Self {
            status: parts.status.as_u16(),
            headers: REPLAYED_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = parts.headers.get(*name)?.to_str().ok()?;
                    Some(((*name).to_owned(), value.to_owned()))
                })
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    fn replay(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = (status, self.body).into_response();
        let headers = response.headers_mut();
        let fallback_type = if status.is_success() {
            "application/json"
        } else {
            PROBLEM_JSON
        };
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(fallback_type),
        );
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.insert(name, value);
            }
        }
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    }
}

/// POST routes whose answer must never be stored: it holds a secret (a new
/// API key's) that exists nowhere else.
const NOT_REPLAYABLE: &[&str] = &["/v1/keys"];

/// How long a request waits for the same request running elsewhere.
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(10);

/// How long a claim's outcome is retried in the background when the store
/// cannot take it at once (the database restarting, a cut connection).
const SETTLE_FOR: Duration = Duration::from_secs(120);

/// Records the outcome of the claim made at `claimed_at` for its retries
/// (`Some`), or lets the claim go so a retry runs again (`None`: a 5xx, a
/// panic, or a claim whose answer was lost, which may or may not exist;
/// only the claim made at that instant goes). When the
/// store is unavailable right then — the very failure that often caused
/// the 5xx — it is tried again in the background with backoff: a claim
/// left behind would answer every retry "in progress" for as long as
/// records are kept.
async fn settle(
    access: booking_core::AccessService,
    scope: IdempotencyScope,
    key: IdempotencyKey,
    claimed_at: DateTime<Utc>,
    outcome: Option<String>,
) {
    let Err(e) = settle_once(&access, scope, &key, claimed_at, outcome.as_deref()).await else {
        return;
    };
    tracing::warn!(error = %e, "could not settle an idempotency claim; retrying in the background");
    tokio::spawn(
        async move {
            let started = Instant::now();
            let mut pause = Duration::from_millis(100);
            while started.elapsed() < SETTLE_FOR {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                match settle_once(&access, scope, &key, claimed_at, outcome.as_deref()).await {
                    Ok(()) => return,
                    Err(booking_core::StoreError::Unavailable(_)) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot settle an idempotency claim");
                        return;
                    }
                }
            }
            tracing::warn!("gave up settling an idempotency claim");
        }
        .in_current_span(),
    );
}

async fn settle_once(
    access: &booking_core::AccessService,
    scope: IdempotencyScope,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
    outcome: Option<&str>,
) -> Result<(), booking_core::StoreError> {
    match outcome {
        Some(outcome) => {
            access
                .finish_idempotency(scope, key, claimed_at, outcome)
                .await
        }
        None => access.abandon_idempotency(scope, key, claimed_at).await,
    }
}

/// Whether an answer is kept for retries: not a server error (a retry may
/// succeed), nor a refusal of who is asking (401, 403: nothing ran, and a
/// key that gains the role should not be answered from the record), nor a
/// 429 (try again later), nor a 412 (nothing ran: the client re-reads the
/// version and retries the same operation with the right `If-Match`).
fn kept(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::PRECONDITION_FAILED
        ))
}

/// Authenticates the caller once (handlers and the idempotency layer read
/// it from the request) and admits the request within its key's and
/// tenant's rate and its key's requests in flight; 401 or 429 otherwise,
/// before anything is read or written for it.
pub(crate) async fn admit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &s).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    let in_flight = match s.limiter.admit(caller.key()) {
        Ok(in_flight) => in_flight,
        Err(problem) => return problem.into_response(),
    };
    parts.extensions.insert(caller);
    let response = next.run(Request::from_parts(parts, body)).await;
    drop(in_flight);
    response
}

/// Answers 503 when a request takes longer than the node's request
/// timeout. What it started may still finish (an idempotent request runs
/// on to its end and records its outcome): the retry with the same
/// `Idempotency-Key` learns it.
pub(crate) async fn deadline(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let limit = s.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request-timeout",
            "The request took too long",
            format!(
                "no answer within {} s; it may still complete: retry with the same \
                 Idempotency-Key to learn its outcome",
                limit.as_secs_f64()
            ),
        )
        .retry_after(1)
        .into_response(),
    }
}

/// `Idempotency-Key` on a POST: the first request with a key runs and its
/// response is stored; the same key and body (also sent concurrently) get
/// that response again; the same key with another body is refused. Records
/// are per API key, claimed only after authentication and the write-role
/// check. A 5xx, 401, 403 or 429 is not stored, so a retry may succeed. An
/// unfinished claim older than the lease (its node died) is taken over by
/// the same request's retry.
pub(crate) async fn idempotency(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    let path = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    if NOT_REPLAYABLE.contains(&path.as_str()) {
        return Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-not-supported",
            "This request cannot be replayed",
            format!(
                "POST {path} answers with a secret, which is never stored, so it cannot be \
                 replayed; send it without an Idempotency-Key (revoke a key made twice)"
            ),
        )
        .into_response();
    }
    let key = match raw_key
        .to_str()
        .map_err(|e| e.to_string())
        .and_then(IdempotencyKey::new)
    {
        Ok(key) => key,
        Err(reason) => return Problem::invalid("Idempotency-Key", reason).into_response(),
    };
    let (mut parts, body) = req.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &s).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    // Every POST writes; a key that may not write is refused before its
    // Idempotency-Key is claimed, so it writes nothing at all.
    if let Err(problem) = caller.must_book() {
        return problem.into_response();
    }
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return Problem::body_too_large().into_response();
    };
    let scope = IdempotencyScope {
        tenant: caller.tenant(),
        api_key: caller.key().id,
    };
    let mut hasher = Sha256::new();
    hasher.update(scope.api_key.as_uuid().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let digest = hasher.finalize();
    let fingerprint = hex::encode(digest);
    // What the request creates is named from its key and what it asks, so
    // a retry after a lost answer (the commit made, the connection cut)
    // finds the first attempt's work instead of doing it again.
    let mut named = Sha256::new();
    named.update(b"created-id\n");
    named.update(key.as_str().as_bytes());
    named.update(b"\n");
    named.update(digest);
    let mut seed = [0u8; 16];
    seed.copy_from_slice(&named.finalize()[..16]);
    parts
        .extensions
        .insert(caller.idempotent(uuid::Builder::from_custom_bytes(seed).into_uuid()));
    let access = s.services.access().clone();
    let lease = chrono::Duration::from_std(s.idempotency_lease).unwrap_or(chrono::Duration::MAX);
    // From the claim on, the request runs to its end on its own task,
    // whatever happens to the connection: a client that goes away (a
    // timeout, a reset) must not cut it between the claim and the record of
    // its outcome — a claim left behind would answer every retry "in
    // progress" for as long as records are kept, and a write cut after its
    // commit could neither be replayed nor safely run again. A handler that
    // panics lets the claim go (500), so the retry runs.
    let run = async move {
        let started = Instant::now();
        let claimed_at = loop {
            let at = access.now();
            match access
                .claim_idempotency(scope, &key, &fingerprint, at, lease)
                .await
            {
                Ok(Claim::New) => break at,
                Ok(Claim::Replay { outcome }) => {
                    return match serde_json::from_str::<Outcome>(&outcome) {
                        Ok(stored) => stored.replay(),
                        Err(e) => Problem::internal(&format!("unreadable idempotency record: {e}"))
                            .into_response(),
                    };
                }
                Ok(Claim::Mismatch) => {
                    return Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency-key-reused",
                        "Idempotency-Key already used for another request",
                        "use a new Idempotency-Key for a different request",
                    )
                    .into_response();
                }
                Ok(Claim::InProgress) if started.elapsed() < IN_PROGRESS_WAIT => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Ok(Claim::InProgress) => {
                    return Problem::new(
                        StatusCode::CONFLICT,
                        "idempotency-in-progress",
                        "The same request is still running",
                        "retry shortly",
                    )
                    .retry_after(1)
                    .into_response();
                }
                Err(e) => {
                    // The claim may have been made and its answer lost: if
                    // so it is this request's, and nothing else would ever
                    // let it go.
                    settle(access, scope, key, at, None).await;
                    return Problem::from(e).into_response();
                }
            }
        };
        let handled = tokio::spawn(
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .in_current_span(),
        )
        .await;
        let response = match handled {
            Ok(response) => response,
            Err(e) => {
                settle(access, scope, key, claimed_at, None).await;
                return Problem::internal(&format!("the request failed: {e}")).into_response();
            }
        };
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, 16 * BODY_LIMIT).await.unwrap_or_default();
        let outcome = if !kept(parts.status) {
            None
        } else {
            match serde_json::to_string(&Outcome::of(&parts, &body)) {
                Ok(outcome) => Some(outcome),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot store the idempotent response");
                    None
                }
            }
        };
        settle(access, scope, key, claimed_at, outcome).await;
        Response::from_parts(parts, Body::from(body))
    };
    match tokio::spawn(run.in_current_span()).await {
        Ok(response) => response,
        Err(e) => Problem::internal(&format!("the request failed: {e}")).into_response(),
    }
}
