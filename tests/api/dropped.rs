//! A request whose client goes away mid-write gives its lock back at once
//! (not after the lock's TTL), and leaves nothing written.

use std::time::Duration;

use booking_app::{Config, Database};
use booking_core::Role;
use booking_test_services::valkey::ValkeyServer;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

use crate::helpers::{new_key, new_tenant, serve};

/// The client of booking A disconnects while A holds the resource's and
/// the product's lock and waits on a stock row the test has locked in the
/// database. Booking B of the same resource (no product, so the row lock
/// is not in its way) then gets the lock: before the fix it waited its
/// whole lock wait and got 503, as A's lock lived for the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_releases_its_lock_at_once() {
    dropped_request_releases_its_lock(None).await;
}

/// The same through the Valkey lock, whose release goes out from a
/// background task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_releases_its_valkey_lock_at_once() {
    let valkey = ValkeyServer::start();
    dropped_request_releases_its_lock(Some(valkey.url())).await;
}

async fn dropped_request_releases_its_lock(valkey_url: Option<String>) {
    let database = crate::helpers::postgres().await;
    let Database::Postgres { url, .. } = &database else {
        unreachable!("a PostgreSQL database")
    };
    let mut config = Config::new(database.clone());
    config.lock_ttl = Duration::from_secs(60);
    config.lock_wait = Duration::from_secs(5);
    config.valkey_url = valkey_url;
    let (base, services, _stop) = serve(config).await;
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

    // The test holds the stock row, so A blocks inside its transaction.
    let mut blocker = PgConnection::connect(url).await.unwrap();
    blocker.execute("BEGIN").await.unwrap();
    blocker
        .execute(
            sqlx::query("SELECT stock FROM product_branches WHERE product_id = $1 FOR UPDATE")
                .bind(product.parse::<uuid::Uuid>().unwrap()),
        )
        .await
        .unwrap();

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
            "starts_at": "2030-01-07T11:00:00Z", "ends_at": "2030-01-07T11:30:00Z"}),
    )
    .await
    .unwrap();
    let status = b.status();
    let body: serde_json::Value = b.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "B gets the lock: {body}");
    assert_eq!(body["degraded"], false, "under the lock, not around it");

    blocker.execute("ROLLBACK").await.unwrap();
    let listed: serde_json::Value = client
        .get(format!("{base}/v1/reservations"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only B: A's transaction was rolled back");
    assert_eq!(items[0]["starts_at"], "2030-01-07T11:00:00Z");
}
