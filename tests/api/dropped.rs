//! A request whose client goes away mid-write gives its lock back at once
//! (not after the lock's TTL). Written one transaction per booking, it
//! leaves nothing written; handed to a batch of writes (the default), its
//! write runs to its end with the batch.

use std::time::Duration;

use booking_app::{Config, Database};
use booking_core::Role;
use booking_test_services::valkey::ValkeyServer;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

use crate::helpers::{new_key, new_tenant, serve};

/// The client of booking A disconnects while A holds the lock of its hour
/// of the resource and waits on a stock row the test has locked in the
/// database. Booking B of the same resource in the same hour (so it needs
/// A's lock key: the hour), right after A's slot (no product, so the row lock
/// is not in its way) then gets the lock: before the fix it waited its
/// whole lock wait and got 503, as A's lock lived for the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_releases_its_lock_at_once() {
    dropped_request_releases_its_lock(None, Batching::Off).await;
}

/// The same through the Valkey lock, whose release goes out from a
/// background task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_releases_its_valkey_lock_at_once() {
    let valkey = ValkeyServer::start();
    dropped_request_releases_its_lock(Some(valkey.url()), Batching::Off).await;
}

/// With writes batched (the default): A's lock goes back at once as well,
/// and A's write, already being written in its batch, is made once the
/// row is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_in_a_batch_releases_its_lock_and_its_write_runs_to_its_end() {
    dropped_request_releases_its_lock(None, Batching::On).await;
}

/// How the node writes bookings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Batching {
    /// One transaction per booking (`--write-batch 1`).
    Off,
    /// The defaults.
    On,
}

/// A node on PostgreSQL (with Valkey if given) with a branch, a dentist
/// working at any time, and a product with stock 5.
struct Setup {
    base: String,
    url: String,
    staff: String,
    branch: String,
    dentist: String,
    product: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn setup(valkey_url: Option<String>, batching: Batching) -> Setup {
    let database = crate::helpers::postgres().await;
    let Database::Postgres { url, .. } = &database else {
        unreachable!("a PostgreSQL database")
    };
    let mut config = Config::new(database.clone());
    config.lock_ttl = Duration::from_secs(60);
    config.lock_wait = Duration::from_secs(5);
    config.valkey_url = valkey_url;
    config.backplane_secret = Some("the dropped test's shared secret".into());
    if batching == Batching::Off {
        config.write_batch = 1;
    }
    let (base, services, stop) = serve(config).await;
    let (tenant, admin) = new_tenant(&services, "Dropped Dental").await;
    let staff = new_key(&services, tenant, Role::Staff, "reception").await;
    let client = reqwest::Client::new();
    let post = |path: &str, key: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let id = |v: serde_json::Value| v["id"].as_str().unwrap().to_owned();
    let branch = id(post(
        "/v1/branches",
        &admin,
        json!({"name": "Madrid", "time_zone": "Europe/Madrid"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap());
    let dentist = id(post("/v1/resources", &admin, json!({"name": "Dr. Vega"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap());
    let product = id(post(
        "/v1/products",
        &admin,
        json!({"name": "Kit", "price": {"amount_minor": 2500, "currency": "EUR"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap());
    for (path, body) in [
        (
            format!("/v1/resources/{dentist}/branches/{branch}"),
            json!({}),
        ),
        (
            format!("/v1/products/{product}/branches/{branch}"),
            json!({"stock": 5}),
        ),
    ] {
        let done = client
            .put(format!("{base}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK);
    }

    Setup {
        base,
        url: url.clone(),
        staff,
        branch,
        dentist,
        product,
        client,
        _stop: stop,
    }
}

/// Holds the product's stock row in the database, so a booking that takes
/// the product blocks inside its transaction until the returned connection
/// rolls back.
async fn block_stock(url: &str, product: &str) -> PgConnection {
    let mut blocker = PgConnection::connect(url).await.unwrap();
    blocker.execute("BEGIN").await.unwrap();
    blocker
        .execute(
            sqlx::query("SELECT stock FROM product_branches WHERE product_id = $1 FOR UPDATE")
                .bind(product.parse::<uuid::Uuid>().unwrap()),
        )
        .await
        .unwrap();
    blocker
}

async fn dropped_request_releases_its_lock(valkey_url: Option<String>, batching: Batching) {
    let Setup {
        base,
        url,
        staff,
        branch,
        dentist,
        product,
        client,
        _stop,
    } = setup(valkey_url, batching).await;
    let post = |path: &str, key: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    // The test holds the stock row, so A blocks inside its transaction.
    let mut blocker = block_stock(&url, &product).await;

    let a = {
        // Its own client: dropping the request closes its connection.
        let (base, staff) = (base.clone(), staff.clone());
        let body = json!({"branch_id": branch, "resource_id": dentist,
            "starts_at": "2030-01-07T10:00:00Z", "ends_at": "2030-01-07T10:30:00Z",
            "products": [{"product_id": product, "quantity": 1}]});
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/v1/reservations"))
                .bearer_auth(staff)
                .json(&body)
                .send()
                .await
        })
    };
    // A is in, holding the lock and waiting on the row.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!a.is_finished(), "A waits on the locked stock row");
    a.abort();
    let _ = a.await;

    let b = post(
        "/v1/reservations",
        &staff,
        json!({"branch_id": branch, "resource_id": dentist,
            "starts_at": "2030-01-07T10:30:00Z", "ends_at": "2030-01-07T11:00:00Z"}),
    )
    .await
    .unwrap();
    let status = b.status();
    let body: serde_json::Value = b.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "B gets the lock: {body}");
    assert_eq!(body["degraded"], false, "under the lock, not around it");

    blocker.execute("ROLLBACK").await.unwrap();
    let starts = || async {
        let listed: serde_json::Value = client
            .get(format!("{base}/v1/reservations"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["starts_at"].as_str().unwrap().to_owned())
            .collect::<Vec<String>>()
    };
    if batching == Batching::Off {
        assert_eq!(
            starts().await,
            ["2030-01-07T10:30:00Z"],
            "only B: A's transaction was rolled back"
        );
        return;
    }
    // A's batch was waiting on the row; it commits now.
    let mut listed = starts().await;
    for _ in 0..100 {
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        listed = starts().await;
    }
    assert_eq!(
        listed,
        ["2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z"],
        "A's write ran to its end with its batch, beside B"
    );
}

/// A request with an Idempotency-Key whose client goes away mid-write runs
/// to its end and records its outcome: the retry gets that outcome at once
/// (replayed: booked once), instead of waiting for a request that will
/// never finish and getting 409 `idempotency-in-progress` (as before), or
/// running a second time after the first committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_lets_its_idempotency_key_go() {
    let s = setup(None, Batching::On).await;
    let body = json!({"branch_id": s.branch, "resource_id": s.dentist,
        "starts_at": "2030-01-07T10:00:00Z", "ends_at": "2030-01-07T10:30:00Z",
        "products": [{"product_id": s.product, "quantity": 1}]});
    let blocker = block_stock(&s.url, &s.product).await;
    let first = {
        let (base, staff, body) = (s.base.clone(), s.staff.clone(), body.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/v1/reservations"))
                .bearer_auth(staff)
                .header("Idempotency-Key", "visit-42")
                .json(&body)
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !first.is_finished(),
        "the first request waits on the stock row"
    );
    first.abort();
    let _ = first.await;
    drop(blocker);

    let started = std::time::Instant::now();
    let retry = s
        .client
        .post(format!("{}/v1/reservations", s.base))
        .bearer_auth(&s.staff)
        .header("Idempotency-Key", "visit-42")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = retry.status();
    let replayed = retry.headers().get("idempotent-replayed").cloned();
    let answer: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the first request's answer: {answer}"
    );
    assert_eq!(
        replayed.as_ref().and_then(|v| v.to_str().ok()),
        Some("true"),
        "the first request ran to its end; the retry replays it"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "at once, not after the in-progress wait: {:?}",
        started.elapsed()
    );
    let again = s
        .client
        .post(format!("{}/v1/reservations", s.base))
        .bearer_auth(&s.staff)
        .header("Idempotency-Key", "visit-42")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["id"], answer["id"], "and is then replayed");
    let listed: serde_json::Value = s
        .client
        .get(format!("{}/v1/reservations", s.base))
        .bearer_auth(&s.staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "booked once");
}
