//! `Idempotency-Key` records are per API key and written only for requests
//! that may run; a claim whose request died is taken over after its lease.
//! On the in-memory store, which can stall a write on demand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use booking_core::SystemClock;
use booking_memory::InMemoryStore;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

async fn post_branch(app: &TestApp, key: &str, idempotency: &str, name: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/branches", app.base))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency)
        .json(&json!({"name": name, "time_zone": "Europe/Paris"}))
        .send()
        .await
        .unwrap()
}

async fn branches_named(app: &TestApp, name: &str) -> usize {
    let all = app.get("/v1/branches", &app.admin).await;
    all.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["name"] == name)
        .count()
}

/// A read-only key's POST is refused before its key is claimed, and
/// another key's records are never its: neither spoils the other's
/// retries, nor reads their answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_keys_idempotency_records_never_meet_anothers() {
    let (app, _) = TestApp::in_memory(Arc::new(InMemoryStore::new()), Arc::new(SystemClock)).await;
    // The viewer goes first with the admin's key and body: refused, and
    // nothing is kept for anyone.
    let refused = post_branch(&app, &app.viewer, "visit-123", "Nice").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let made = post_branch(&app, &app.admin, "visit-123", "Nice").await;
    assert_eq!(made.status(), StatusCode::CREATED);
    assert!(made.headers().get("idempotent-replayed").is_none());
    // The same request again by the admin is a replay; by the viewer a
    // refusal, never the admin's stored answer.
    let again = post_branch(&app, &app.admin, "visit-123", "Nice").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let peek = post_branch(&app, &app.viewer, "visit-123", "Nice").await;
    assert_eq!(peek.status(), StatusCode::FORBIDDEN);
    assert!(peek.headers().get("idempotent-replayed").is_none());
    // A key that may book but not administer is refused by the handler:
    // the refusal is not kept, and the admin's record is not its.
    let staff = post_branch(&app, &app.staff, "visit-123", "Nice").await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    assert!(staff.headers().get("idempotent-replayed").is_none());
    let staff_again = post_branch(&app, &app.staff, "visit-123", "Other").await;
    assert_eq!(
        staff_again.status(),
        StatusCode::FORBIDDEN,
        "not 422 idempotency-key-reused: the refusal was not kept"
    );
    assert_eq!(branches_named(&app, "Nice").await, 1);
}

/// A request that dies mid-flight (its node stalled for good after the
/// claim) answers 503 at the request timeout; its retry waits while the
/// claim's lease holds, then takes the claim over and runs — once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_died_mid_flight_does_not_block_its_retry_past_the_lease() {
    let store = Arc::new(InMemoryStore::new());
    let (app, _) = TestApp::in_memory_with(store.clone(), Arc::new(SystemClock), |mut s| {
        s.request_timeout = Duration::from_millis(500);
        s.idempotency_lease = Duration::from_secs(2);
        s
    })
    .await;
    store.stall_next_write().await;
    let began = Instant::now();
    let died = post_branch(&app, &app.admin, "died-1", "Nice").await;
    assert_eq!(died.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = died.json().await.unwrap();
    assert_eq!(body["type"], "/problems/request-timeout");
    // A client retries what timed out, with the same key.
    let retried = loop {
        let retried = post_branch(&app, &app.admin, "died-1", "Nice").await;
        if retried.status() != StatusCode::SERVICE_UNAVAILABLE
            || began.elapsed() > Duration::from_secs(10)
        {
            break retried;
        }
    };
    let status = retried.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the retry ran: {}",
        retried.text().await.unwrap()
    );
    assert!(
        began.elapsed() >= Duration::from_secs(2),
        "the claim held for its lease: {:?}",
        began.elapsed()
    );
    assert_eq!(branches_named(&app, "Nice").await, 1, "made once");
}

/// A booking whose commit was made but whose answer was lost (the
/// connection cut after the database committed) answers 503; its retry
/// with the same key finds that booking and answers with it — one
/// reservation, its stock taken once — instead of booking again (or
/// refusing the slot as taken by itself). Seen in `booking-load check
/// --faults pg-restart` as a refused create that left a reservation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_whose_commit_answer_was_lost_is_found_by_its_retry_not_made_twice() {
    let store = Arc::new(InMemoryStore::new());
    let (app, _) = TestApp::in_memory(store.clone(), Arc::new(SystemClock)).await;
    let c = app.clinic().await;
    let mut body = c.booking("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z");
    body["products"] = json!([{"product_id": c.product, "quantity": 2}]);
    let book = || {
        app.client
            .post(format!("{}/v1/reservations", app.base))
            .bearer_auth(&app.staff)
            .header("Idempotency-Key", "visit-lost")
            .json(&body)
            .send()
    };
    store.fail_next("commit_answer").await;
    let lost = book().await.unwrap();
    assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retried = book().await.unwrap();
    let status = retried.status();
    let view: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let listed = app
        .get(
            &format!(
                "/v1/reservations?branch_id={}&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z",
                c.branch
            ),
            &app.staff,
        )
        .await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "booked once: {}", listed.body);
    assert_eq!(items[0]["id"], view["id"], "the retry answers with it");
    let stock = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.staff)
        .await;
    assert!(
        stock.body.to_string().contains("\"stock\":8"),
        "stock taken once: {}",
        stock.body
    );
    // Without a key nothing names the request: a second booking of the
    // slot is refused as taken, as ever.
    let plain = app.post("/v1/reservations", &app.staff, body.clone()).await;
    assert_eq!(plain.status, StatusCode::CONFLICT, "{}", plain.body);
}

/// The same for a catalog item: a branch whose commit answer was lost is
/// found by the retry (the same id, one branch, one `BranchCreated`), not
/// made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_whose_commit_answer_was_lost_is_found_by_its_retry_not_made_twice() {
    let store = Arc::new(InMemoryStore::new());
    let (app, _) = TestApp::in_memory(store.clone(), Arc::new(SystemClock)).await;
    store.fail_next("commit_answer").await;
    let lost = post_branch(&app, &app.admin, "branch-lost", "Nice").await;
    assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retried = post_branch(&app, &app.admin, "branch-lost", "Nice").await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    let made: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(branches_named(&app, "Nice").await, 1, "made once");
    let created = app.get("/v1/events?type=BranchCreated", &app.admin).await;
    let recorded: Vec<_> = created.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["after"]["id"] == made["id"])
        .collect();
    assert_eq!(recorded.len(), 1, "recorded once: {}", created.body);
}

/// The review's D09: a cancel with a stale `If-Match` is refused (412);
/// the client re-reads the version and retries the same operation with
/// the same `Idempotency-Key`: the retry runs (the 412 is not kept), and a
/// retry of that is its replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_precondition_refused_is_not_kept_so_the_corrected_retry_runs() {
    let (app, _) = TestApp::in_memory(Arc::new(InMemoryStore::new()), Arc::new(SystemClock)).await;
    let c = app.clinic().await;
    let booked = app
        .post(
            "/v1/reservations",
            &app.staff,
            c.booking("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z"),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let id = booked.body["id"].as_str().unwrap();
    let cancel = |tag: &'static str| {
        app.client
            .post(format!("{}/v1/reservations/{id}/cancel", app.base))
            .bearer_auth(&app.staff)
            .header("Idempotency-Key", "cancel-visit-1")
            .header("If-Match", tag)
            .json(&json!({}))
            .send()
    };
    let stale = cancel("\"999\"").await.unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let corrected = cancel("\"1\"").await.unwrap();
    assert_eq!(corrected.status(), StatusCode::OK);
    assert!(corrected.headers().get("idempotent-replayed").is_none());
    let again = cancel("\"1\"").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}
