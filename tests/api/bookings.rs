//! Success paths of the catalog and reservation endpoints, roles, and
//! idempotency.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, on_both_stores};

on_both_stores!(
    a_clinic_is_set_up_and_booked_through_the_api,
    a_reservation_moves_with_if_match_and_its_history_is_kept,
    roles_limit_what_a_key_may_do,
    the_same_idempotency_key_replays_the_same_response,
    health_endpoints_answer,
    unused_catalog_items_are_deleted_and_used_ones_refused,
    catalog_items_are_listed_read_and_updated,
    a_schedule_reads_back_as_it_was_written,
    a_hold_too_long_is_refused_naming_hold_minutes,
);

async fn a_clinic_is_set_up_and_booked_through_the_api(app: TestApp) {
    let c = app.clinic().await;
    let catalog = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.staff)
        .await;
    assert_eq!(catalog.status, StatusCode::OK);
    assert_eq!(catalog.body["resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        catalog.body["services"][0]["price"]["amount_minor"], 5500,
        "the branch price"
    );
    assert_eq!(catalog.body["products"][0]["stock"], 10);

    let mut body = c.booking("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z");
    body["service_id"] = json!(c.service);
    body["products"] = json!([{"product_id": c.product, "quantity": 2}]);
    body["note"] = json!("first visit");
    let created = app.post("/v1/reservations", &app.staff, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let r = &created.body;
    assert_eq!(r["status"], "confirmed");
    assert_eq!(r["version"], 1);
    assert_eq!(r["created_by"], "reception");
    assert_eq!(
        r["price"]["total"],
        json!({"amount_minor": 10500, "currency": "EUR"})
    );
    assert_eq!(
        created.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"1\"")
    );
    let id = r["id"].as_str().unwrap();
    assert_eq!(
        created
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/v1/reservations/{id}").as_str())
    );
    assert_eq!(r["starts_at"], "2030-01-07T10:00:00Z");
    assert_eq!(r["ends_at"], "2030-01-07T10:30:00Z");
    assert_eq!(r["degraded"], false);
    assert!(created.headers.get("booking-degraded").is_none());
    assert_eq!(
        r["products"],
        json!([{"product_id": c.product, "quantity": 2}])
    );

    let fetched = app
        .get(&format!("/v1/reservations/{id}"), &app.viewer)
        .await;
    assert_eq!(fetched.body, *r);
    let listed = app
        .get(
            &format!("/v1/reservations?branch_id={}", c.branch),
            &app.viewer,
        )
        .await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    let catalog = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.staff)
        .await;
    assert_eq!(catalog.body["products"][0]["stock"], 8, "two kits taken");
    let restocked = app
        .post(
            &format!("/v1/products/{}/branches/{}/restock", c.product, c.branch),
            &app.admin,
            json!({"quantity": 5}),
        )
        .await;
    assert_eq!(restocked.body["stock"]["stock"], 13);

    let events = app.get("/v1/events?since=0", &app.viewer).await;
    let types: Vec<_> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    for t in [
        "BranchCreated",
        "ResourceLinked",
        "ReservationCreated",
        "StockChanged",
    ] {
        assert!(types.contains(&json!(t)), "{t} in {types:?}");
    }
}

async fn a_reservation_moves_with_if_match_and_its_history_is_kept(app: TestApp) {
    let c = app.clinic().await;
    let created = app
        .post(
            "/v1/reservations",
            &app.staff,
            c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/reservations/{id}");
    let moved = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&app.staff)
        .header("If-Match", "\"1\"")
        .json(&json!({"starts_at": "2030-01-07T12:00:00Z", "ends_at": "2030-01-07T13:00:00Z"}))
        .send()
        .await
        .unwrap();
    let moved = crate::helpers::reply(moved).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["version"], 2);
    let stale = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&app.staff)
        .header("If-Match", "\"1\"")
        .json(&json!({"starts_at": "2030-01-07T14:00:00Z", "ends_at": "2030-01-07T15:00:00Z"}))
        .send()
        .await
        .unwrap();
    let stale = crate::helpers::reply(stale).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.problem(), "/problems/stale-version");
    assert_eq!(stale.body["current_version"], 2);

    let cancelled = app
        .post(&format!("{path}/cancel"), &app.staff, json!({}))
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let again = app
        .post(&format!("{path}/cancel"), &app.staff, json!({}))
        .await;
    assert_eq!(
        (again.status, again.problem()),
        (StatusCode::CONFLICT, "/problems/invalid-transition")
    );
    let history = app.get(&format!("{path}/events"), &app.viewer).await;
    let kinds: Vec<_> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("ReservationCreated"),
            json!("ReservationMoved"),
            json!("ReservationCancelled")
        ]
    );
}

async fn roles_limit_what_a_key_may_do(app: TestApp) {
    let c = app.clinic().await;
    let as_viewer = app
        .post(
            "/v1/reservations",
            &app.viewer,
            c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
        )
        .await;
    assert_eq!(
        (as_viewer.status, as_viewer.problem()),
        (StatusCode::FORBIDDEN, "/problems/forbidden")
    );
    let as_staff = app
        .post(
            "/v1/branches",
            &app.staff,
            json!({"name": "X", "time_zone": "UTC"}),
        )
        .await;
    assert_eq!(as_staff.status, StatusCode::FORBIDDEN);
    let anonymous = app.call(Method::GET, "/v1/branches", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers.get("www-authenticate").is_some());
    let wrong = app.get("/v1/branches", "bk_not-a-key").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

async fn the_same_idempotency_key_replays_the_same_response(app: TestApp) {
    let c = app.clinic().await;
    let body = c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z");
    let send = |key: &'static str, body: serde_json::Value| {
        let (client, base, staff) = (app.client.clone(), app.base.clone(), app.staff.clone());
        async move {
            let r = client
                .post(format!("{base}/v1/reservations"))
                .bearer_auth(staff)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            crate::helpers::reply(r).await
        }
    };
    let replies = futures::future::join_all((0..20).map(|_| send("book-1", body.clone()))).await;
    let first = &replies[0];
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let header = |r: &crate::helpers::Reply, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert!(header(first, "etag").is_some() && header(first, "location").is_some());
    for r in &replies {
        assert_eq!(
            (r.status, &r.body),
            (first.status, &first.body),
            "every reply is the same"
        );
        // A replay answers as the first did: the client's next If-Match and
        // its link to the reservation must not depend on which reply it got.
        for name in ["etag", "location", "content-type"] {
            assert_eq!(header(r, name), header(first, name), "{name}");
        }
    }
    assert!(
        replies
            .iter()
            .any(|r| header(r, "idempotent-replayed").as_deref() == Some("true")),
        "the rest were replays"
    );
    let listed = app.get("/v1/reservations", &app.viewer).await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(1),
        "one reservation"
    );
    let other = send(
        "book-1",
        c.booking("2030-01-07T12:00:00Z", "2030-01-07T13:00:00Z"),
    )
    .await;
    assert_eq!(
        (other.status, other.problem()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/idempotency-key-reused"
        )
    );
}

async fn health_endpoints_answer(app: TestApp) {
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None).await.status,
        StatusCode::OK
    );
}

async fn unused_catalog_items_are_deleted_and_used_ones_refused(app: TestApp) {
    let c = app.clinic().await;
    app.post(
        "/v1/reservations",
        &app.staff,
        c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
    )
    .await;
    let delete = |path: String, key: String| {
        let (client, base) = (app.client.clone(), app.base.clone());
        async move {
            crate::helpers::reply(
                client
                    .delete(format!("{base}{path}"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let used = delete(format!("/v1/resources/{}", c.dentist), app.admin.clone()).await;
    assert_eq!(
        (used.status, used.problem()),
        (StatusCode::CONFLICT, "/problems/in-use")
    );
    let as_staff = delete(format!("/v1/services/{}", c.service), app.staff.clone()).await;
    assert_eq!(as_staff.status, StatusCode::FORBIDDEN);
    let gone = delete(format!("/v1/services/{}", c.service), app.admin.clone()).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/v1/services/{}", c.service), &app.viewer)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let twice = delete(format!("/v1/services/{}", c.service), app.admin.clone()).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/v1/resources/{}", c.dentist), &app.viewer)
            .await
            .status,
        StatusCode::OK
    );
}

async fn catalog_items_are_listed_read_and_updated(app: TestApp) {
    let c = app.clinic().await;
    for (collection, id, body, field, value) in [
        (
            "branches",
            &c.branch,
            json!({"name": "Madrid Norte", "time_zone": "Europe/Madrid"}),
            "name",
            json!("Madrid Norte"),
        ),
        (
            "resources",
            &c.dentist,
            json!({"name": "Dr. Ana Vega", "kind": "staff"}),
            "name",
            json!("Dr. Ana Vega"),
        ),
        (
            "services",
            &c.service,
            json!({"name": "Deep cleaning", "duration_minutes": 45, "price": {"amount_minor": 7000, "currency": "EUR"}}),
            "duration_minutes",
            json!(45),
        ),
        (
            "products",
            &c.product,
            json!({"name": "Kit", "price": {"amount_minor": 2600, "currency": "EUR"}}),
            "price",
            json!({"amount_minor": 2600, "currency": "EUR"}),
        ),
    ] {
        let listed = app.get(&format!("/v1/{collection}"), &app.viewer).await;
        assert!(
            listed.body["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["id"] == json!(id))),
            "{collection}"
        );
        let updated = app
            .put(&format!("/v1/{collection}/{id}"), &app.admin, body)
            .await;
        assert_eq!(
            updated.status,
            StatusCode::OK,
            "{collection}: {}",
            updated.body
        );
        let read = app
            .get(&format!("/v1/{collection}/{id}"), &app.viewer)
            .await;
        assert_eq!(read.body[field], value, "{collection}");
    }
    let price = app
        .put(
            &format!("/v1/services/{}/branches/{}", c.service, c.branch),
            &app.admin,
            json!({"price": {"amount_minor": 6500, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(price.status, StatusCode::OK);
    let catalog = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.viewer)
        .await;
    assert_eq!(catalog.body["services"][0]["price"]["amount_minor"], 6500);
    assert_eq!(
        catalog.body["products"][0]["price"]["amount_minor"], 2600,
        "no branch price: the product's"
    );
}

async fn a_schedule_reads_back_as_it_was_written(app: TestApp) {
    let c = app.clinic().await;
    let schedule = json!({
        "working_hours": {"monday": [["09:00", "13:00"], ["14:00", "18:30"]], "friday": [["08:00", "12:00"]]},
        "exceptions": {"2030-12-24": [], "2030-12-28": [["10:00", "14:00"]]},
    });
    let linked = app
        .put(
            &format!("/v1/resources/{}/branches/{}", c.dentist, c.branch),
            &app.admin,
            schedule.clone(),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert_eq!(linked.body["schedule"], schedule, "the answer to the write");
    let offer = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.viewer)
        .await;
    let dentist = offer.body["resources"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["resource"]["id"] == json!(c.dentist)))
        .expect("the dentist works at the branch");
    assert_eq!(dentist["schedule"], schedule, "the branch's offer");
    // No working hours at all (bookable any time) reads back as such.
    let open = app
        .put(
            &format!("/v1/resources/{}/branches/{}", c.dentist, c.branch),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        open.body["schedule"],
        json!({"working_hours": null, "exceptions": {}})
    );
}

async fn a_hold_too_long_is_refused_naming_hold_minutes(app: TestApp) {
    let c = app.clinic().await;
    for minutes in [0, 24 * 60 + 1] {
        let mut body = c.booking("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z");
        body["hold_minutes"] = json!(minutes);
        let refused = app.post("/v1/reservations", &app.staff, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.body["field"], "hold_minutes", "{}", refused.body);
        assert!(
            refused.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("1440 minutes")),
            "{}",
            refused.body
        );
    }
    let listed = app.get("/v1/reservations", &app.viewer).await;
    assert_eq!(listed.body["items"], json!([]), "nothing written");
}
