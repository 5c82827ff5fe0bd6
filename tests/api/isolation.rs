//! Nothing crosses tenants: another tenant's id behaves like one that does
//! not exist, on every endpoint.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, new_tenant, on_both_stores};

on_both_stores!(another_tenants_ids_are_not_found_anywhere);

async fn another_tenants_ids_are_not_found_anywhere(app: TestApp) {
    let c = app.clinic().await;
    let created = app
        .post(
            "/v1/reservations",
            &app.staff,
            c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
        )
        .await;
    let reservation = created.body["id"].as_str().unwrap().to_owned();
    let (_, other) = new_tenant(&app.services, "Other Clinic").await;
    let staff_key = crate::keys::key_id(&app, "reception").await;

    let reads = [
        format!("/v1/branches/{}", c.branch),
        format!("/v1/branches/{}/catalog", c.branch),
        format!("/v1/resources/{}", c.dentist),
        format!("/v1/services/{}", c.service),
        format!("/v1/products/{}", c.product),
        format!("/v1/reservations/{reservation}"),
        format!("/v1/reservations/{reservation}/events"),
        format!("/v1/branches/{}/events", c.branch),
        format!("/v1/resources/{}/events", c.dentist),
        format!("/v1/services/{}/events", c.service),
        format!("/v1/products/{}/events", c.product),
        format!("/v1/keys/{staff_key}"),
    ];
    for path in &reads {
        let r = app.get(path, &other).await;
        assert_eq!(
            (r.status, r.problem()),
            (StatusCode::NOT_FOUND, "/problems/not-found"),
            "GET {path}"
        );
    }
    let writes = [
        (
            Method::PATCH,
            format!("/v1/keys/{staff_key}"),
            json!({"role": "admin"}),
        ),
        (Method::DELETE, format!("/v1/keys/{staff_key}"), json!({})),
        (
            Method::DELETE,
            format!("/v1/resources/{}/branches/{}", c.dentist, c.branch),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/v1/products/{}/branches/{}", c.product, c.branch),
            json!({}),
        ),
        (
            Method::PUT,
            format!("/v1/branches/{}", c.branch),
            json!({"name": "Mine", "time_zone": "UTC"}),
        ),
        (
            Method::PUT,
            format!("/v1/resources/{}", c.dentist),
            json!({"name": "Mine"}),
        ),
        (
            Method::PUT,
            format!("/v1/products/{}/branches/{}", c.product, c.branch),
            json!({"stock": 999}),
        ),
        (
            Method::POST,
            format!("/v1/products/{}/branches/{}/restock", c.product, c.branch),
            json!({"quantity": 5}),
        ),
        (
            Method::POST,
            format!("/v1/reservations/{reservation}/cancel"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/v1/reservations/{reservation}/complete"),
            json!({}),
        ),
        (
            Method::PATCH,
            format!("/v1/reservations/{reservation}"),
            json!({"starts_at": "2030-01-07T12:00:00Z", "ends_at": "2030-01-07T13:00:00Z"}),
        ),
        (
            Method::POST,
            "/v1/reservations".to_owned(),
            c.booking("2030-01-07T14:00:00Z", "2030-01-07T15:00:00Z"),
        ),
    ];
    for (method, path, body) in writes {
        let r = app
            .call(method.clone(), &path, Some(&other), Some(body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.body
        );
    }
    let lists = [
        "/v1/branches",
        "/v1/resources",
        "/v1/services",
        "/v1/products",
        "/v1/reservations",
    ];
    for path in lists {
        let r = app.get(path, &other).await;
        assert_eq!(
            r.body["items"].as_array().map(Vec::len),
            Some(0),
            "GET {path}"
        );
    }
    // Its log holds only its own creation and first key.
    let events = app.get("/v1/events?since=0", &other).await;
    let types: Vec<_> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(types, ["TenantCreated", "ApiKeyCreated"]);
    assert!(
        !events.body.to_string().contains(&c.branch),
        "nothing of tenant A in B's log"
    );
    for query in [
        format!("entity_id={}", c.branch),
        format!("actor_key_id={staff_key}"),
    ] {
        let r = app.get(&format!("/v1/events?{query}"), &other).await;
        assert_eq!(r.body["items"], json!([]), "{query}");
    }

    // Tenant A is untouched.
    let mine = app
        .get(&format!("/v1/reservations/{reservation}"), &app.viewer)
        .await;
    assert_eq!(mine.body["status"], "confirmed");
    let catalog = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.viewer)
        .await;
    assert_eq!(catalog.body["products"][0]["stock"], 10);
    assert_eq!(
        app.get("/v1/branches", &app.staff).await.status,
        StatusCode::OK,
        "A's staff key was neither revoked nor changed"
    );
}
