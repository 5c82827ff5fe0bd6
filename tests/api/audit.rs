//! The audit log over HTTP: every catalog change is an event with before
//! and after, the key that made it and the request id; the log is found by
//! type, item and key, and one item's history is read even after it is
//! deleted.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_stores};
use crate::keys::key_id;

on_both_stores!(
    every_catalog_change_is_an_event_with_before_after_and_who,
    the_log_is_found_by_type_item_and_key_and_pages,
    an_items_history_outlives_the_item,
);

fn types(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of events: {reply}"))
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The tenant's last event number, paging through the log.
async fn head(app: &TestApp) -> u64 {
    let mut since = 0;
    loop {
        let page = app
            .get(&format!("/v1/events?since={since}"), &app.admin)
            .await;
        match page.body["next_cursor"].as_str() {
            Some(next) => since = next.parse().unwrap(),
            None => {
                let last = page.body["last_seq"].as_u64().unwrap();
                // What a client reads instead of paging: the head, with
                // any page (a viewer's too, though it is not shown the
                // access events at the head).
                for key in [&app.admin, &app.viewer] {
                    let first = app.get("/v1/events?limit=1", key).await;
                    assert_eq!(
                        first.body["head_seq"].as_u64(),
                        Some(last),
                        "{}",
                        first.body
                    );
                }
                return last;
            }
        }
    }
}

/// A write with our own request id.
async fn traced(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    request_id: &str,
) -> StatusCode {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&app.admin)
        .header("x-request-id", request_id);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap().status()
}

async fn every_catalog_change_is_an_event_with_before_after_and_who(app: TestApp) {
    let c = app.clinic().await;
    let admin_id = key_id(&app, "admin").await;
    let setup = app.get("/v1/events?since=0", &app.admin).await;
    assert_eq!(
        types(&setup.body),
        [
            "TenantCreated",
            "ApiKeyCreated",
            "ApiKeyCreated",
            "ApiKeyCreated",
            "BranchCreated",
            "ResourceCreated",
            "ResourceCreated",
            "ResourceLinked",
            "ResourceLinked",
            "ServiceCreated",
            "ServicePriceSet",
            "ProductCreated",
            "StockChanged",
        ],
        "the tenant, its keys and the clinic, in order"
    );
    assert!(
        setup.body["items"].as_array().unwrap()[4..]
            .iter()
            .all(|e| e["actor"] == "admin" && e["actor_key_id"] == admin_id.as_str()),
        "the catalog was set up by the admin key"
    );

    let since = head(&app).await;
    let branch = format!("/v1/branches/{}", c.branch);
    let link = format!("/v1/resources/{}/branches/{}", c.dentist, c.branch);
    let price = format!("/v1/services/{}/branches/{}", c.service, c.branch);
    let stock = format!("/v1/products/{}/branches/{}", c.product, c.branch);
    let steps: Vec<(Method, String, Option<Value>, &[&str])> = vec![
        (
            Method::PUT,
            branch.clone(),
            Some(json!({"name": "Madrid Norte", "time_zone": "Europe/Madrid"})),
            &["BranchUpdated"],
        ),
        (
            Method::PUT,
            link.clone(),
            Some(
                json!({"working_hours": {"monday": [["08:00", "14:00"]]}, "exceptions": {"2030-12-24": []}}),
            ),
            &["WorkingHoursChanged"],
        ),
        (
            Method::DELETE,
            price.clone(),
            None,
            &["ServicePriceCleared"],
        ),
        (
            Method::PUT,
            stock.clone(),
            Some(json!({"stock": 12, "price": {"amount_minor": 2300, "currency": "EUR"}})),
            &["StockChanged", "ProductPriceSet"],
        ),
        (
            Method::PUT,
            format!("/v1/products/{}", c.product),
            Some(json!({"name": "Kit", "price": {"amount_minor": 2700, "currency": "EUR"}})),
            &["ProductUpdated"],
        ),
        (
            Method::DELETE,
            stock.clone(),
            None,
            &["ProductPriceCleared", "StockChanged"],
        ),
        (Method::DELETE, link.clone(), None, &["ResourceUnlinked"]),
    ];
    let mut expected = Vec::new();
    for (i, (method, path, body, recorded)) in steps.into_iter().enumerate() {
        let status = traced(&app, method.clone(), &path, body, &format!("audit-{i}")).await;
        assert!(status.is_success(), "{method} {path}: {status}");
        expected.extend(
            recorded
                .iter()
                .map(|t| ((*t).to_owned(), format!("audit-{i}"))),
        );
    }
    let log = app
        .get(&format!("/v1/events?since={since}"), &app.admin)
        .await;
    let got: Vec<(String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["request_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected, "one event per change, with its request");
    let items = log.body["items"].as_array().unwrap();
    assert!(items.iter().all(|e| e["actor_key_id"] == admin_id.as_str()));
    assert!(items.iter().all(|e| e["version"] == 1));

    let renamed = &items[0]["data"];
    assert_eq!(
        (&renamed["before"]["name"], &renamed["after"]["name"]),
        (&json!("Madrid"), &json!("Madrid Norte"))
    );
    let hours = &items[1]["data"];
    assert_eq!(
        hours["before"]["working_hours"]["monday"],
        json!([["09:00", "17:00"]])
    );
    assert_eq!(
        hours["after"],
        json!({"working_hours": {"monday": [["08:00", "14:00"]]}, "exceptions": {"2030-12-24": []}})
    );
    assert_eq!(items[2]["data"]["before"]["amount_minor"], 5500);
    assert!(items[2]["data"]["after"].is_null());
    assert_eq!(
        (&items[3]["data"]["before"], &items[3]["data"]["after"]),
        (&json!(10), &json!(12))
    );
    assert_eq!(items[3]["data"]["cause"], json!({"kind": "set"}));
    let removed = &items[7]["data"];
    assert_eq!(
        (&removed["before"], &removed["after"], &removed["cause"]),
        (&json!(12), &json!(0), &json!({"kind": "removed"})),
        "stock that goes with its record is recorded as removed"
    );
}

async fn the_log_is_found_by_type_item_and_key_and_pages(app: TestApp) {
    let c = app.clinic().await;
    let staff_id = key_id(&app, "reception").await;
    let booked = app
        .client
        .post(format!("{}/v1/reservations", app.base))
        .bearer_auth(&app.staff)
        .header("x-request-id", "visit-7")
        .json(&json!({"branch_id": c.branch, "resource_id": c.dentist,
            "starts_at": "2030-01-07T10:00:00Z", "ends_at": "2030-01-07T11:00:00Z",
            "products": [{"product_id": c.product, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), StatusCode::CREATED);

    let by_staff = app
        .get(&format!("/v1/events?actor_key_id={staff_id}"), &app.viewer)
        .await;
    assert_eq!(
        types(&by_staff.body),
        ["ReservationCreated", "StockChanged"]
    );
    let created = &by_staff.body["items"][0];
    assert_eq!(
        (&created["actor"], &created["request_id"]),
        (&json!("reception"), &json!("visit-7"))
    );
    assert_eq!(created["data"]["after"]["created_by"], "reception");

    let of_product = app
        .get(&format!("/v1/events?entity_id={}", c.product), &app.viewer)
        .await;
    assert_eq!(
        types(&of_product.body),
        ["ProductCreated", "StockChanged", "StockChanged"]
    );
    let typed = app
        .get(
            "/v1/events?type=ResourceCreated&type=ServiceCreated",
            &app.viewer,
        )
        .await;
    assert_eq!(
        types(&typed.body),
        ["ResourceCreated", "ResourceCreated", "ServiceCreated"]
    );
    let listed = app
        .get(
            "/v1/events?type=ResourceCreated,ServiceCreated",
            &app.viewer,
        )
        .await;
    assert_eq!(types(&listed.body), types(&typed.body));

    // Pages of two, followed by `next_cursor`, give the whole log once.
    let whole = app.get("/v1/events?since=0", &app.admin).await;
    let mut paged = Vec::new();
    let mut path = "/v1/events?limit=2".to_owned();
    loop {
        let page = app.get(&path, &app.admin).await;
        paged.extend(types(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(next) => path = format!("/v1/events?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(paged, types(&whole.body));

    for (query, field) in [
        ("type=Booked", "type"),
        ("entity=x", "entity"),
        ("entity_id=x", "entity_id"),
        ("actor_key_id=7", "actor_key_id"),
        ("limit=5000", "limit"),
        ("since=3&cursor=4", "cursor"),
    ] {
        let r = app.get(&format!("/v1/events?{query}"), &app.viewer).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{query}: {}",
            r.body
        );
    }
}

async fn an_items_history_outlives_the_item(app: TestApp) {
    let c = app.clinic().await;
    let history = |path: String| {
        let app = &app;
        async move { app.get(&path, &app.viewer).await }
    };
    let branch = history(format!("/v1/branches/{}/events", c.branch)).await;
    assert_eq!(
        types(&branch.body),
        [
            "BranchCreated",
            "ResourceLinked",
            "ResourceLinked",
            "ServicePriceSet",
            "StockChanged"
        ],
        "a branch's history: itself, who works there, its prices and stock"
    );
    let dentist = history(format!("/v1/resources/{}/events", c.dentist)).await;
    assert_eq!(types(&dentist.body), ["ResourceCreated", "ResourceLinked"]);
    let service = history(format!(
        "/v1/services/{}/events?type=ServicePriceSet",
        c.service
    ))
    .await;
    assert_eq!(types(&service.body), ["ServicePriceSet"]);

    let product = app
        .post(
            "/v1/products",
            &app.admin,
            json!({"name": "Floss", "price": {"amount_minor": 300, "currency": "EUR"}}),
        )
        .await;
    let floss = product.body["id"].as_str().unwrap().to_owned();
    app.put(
        &format!("/v1/products/{floss}/branches/{}", c.branch),
        &app.admin,
        json!({"stock": 4}),
    )
    .await;
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/products/{floss}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/v1/products/{floss}"), &app.viewer)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let kept = history(format!("/v1/products/{floss}/events")).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(
        types(&kept.body),
        [
            "ProductCreated",
            "StockChanged",
            "StockChanged",
            "ProductDeleted"
        ],
        "created, stocked, its 4 units removed with it, deleted"
    );
    for path in [
        format!("/v1/products/{}/events", uuid::Uuid::now_v7()),
        "/v1/branches/nope/events".to_owned(),
        format!("/v1/resources/{}/events?entity_id={}", c.dentist, c.branch),
    ] {
        let r = history(path.clone()).await;
        assert!(
            matches!(
                r.status,
                StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{path}: {}",
            r.status
        );
    }
}
