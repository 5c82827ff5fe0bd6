//! Malformed and hostile requests: each gets its specific 4xx problem, the
//! server keeps serving, and nothing partial is written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Clinic, TestApp, on_both_stores};

on_both_stores!(
    every_hostile_request_gets_its_own_problem_and_nothing_is_written,
    a_huge_declared_body_is_refused_unread,
    a_stock_level_leaves_room_for_the_units_out,
);

#[derive(Clone, Copy)]
enum Key {
    Admin,
    Staff,
    Viewer,
    Foreign,
    Bad,
    None,
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    key: Key,
    content_type: Option<&'static str>,
    body: String,
    headers: Vec<(&'static str, &'static str)>,
    status: u16,
    problem: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: impl Into<String>,
    key: Key,
    body: impl Into<String>,
    status: u16,
    problem: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        key,
        content_type: Some("application/json"),
        body: body.into(),
        headers: vec![],
        status,
        problem,
    }
}

fn booking(c: &Clinic, patch: impl FnOnce(&mut Value)) -> String {
    let mut b = c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z");
    patch(&mut b);
    b.to_string()
}

fn cases(c: &Clinic, foreign_branch: &str) -> Vec<Case> {
    use Key::{Admin, Bad, Foreign, Staff, Viewer};
    let post = Method::POST;
    let r = "/v1/reservations";
    let mut v = vec![
        case("truncated JSON", post.clone(), r, Staff, "{\"branch_id\":", 400, "/problems/malformed-json"),
        case("not JSON at all", post.clone(), r, Staff, "hello", 400, "/problems/malformed-json"),
        case("time as a number", post.clone(), r, Staff, booking(c, |b| b["starts_at"] = json!(5)), 422, "/problems/invalid-body"),
        case("id that is not a UUID", post.clone(), r, Staff, booking(c, |b| b["branch_id"] = json!("x")), 422, "/problems/invalid-body"),
        case("end before start", post.clone(), r, Staff, booking(c, |b| b["ends_at"] = json!("2030-01-07T09:00:00Z")), 422, "/problems/invalid-input"),
        case("end equal to start", post.clone(), r, Staff, booking(c, |b| b["ends_at"] = json!("2030-01-07T10:00:00Z")), 422, "/problems/invalid-input"),
        case("a year-9999 range", post.clone(), r, Staff, booking(c, |b| b["ends_at"] = json!("9999-01-01T00:00:00Z")), 422, "/problems/invalid-input"),
        case("a 1970 start", post.clone(), r, Staff, booking(c, |b| b["starts_at"] = json!("1970-01-01T00:00:00Z")), 422, "/problems/invalid-input"),
        case("a three-day booking", post.clone(), r, Staff, booking(c, |b| b["ends_at"] = json!("2030-01-10T10:00:00Z")), 422, "/problems/invalid-input"),
        case("negative quantity", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": c.product, "quantity": -2}])), 422, "/problems/invalid-input"),
        case("zero quantity", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": c.product, "quantity": 0}])), 422, "/problems/invalid-input"),
        case("huge quantity", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": c.product, "quantity": 1_000_000_000_000_i64}])), 422, "/problems/invalid-input"),
        case("quantity as a string", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": c.product, "quantity": "2"}])), 422, "/problems/invalid-body"),
        case("a product listed twice", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": c.product, "quantity": 1}, {"product_id": c.product, "quantity": 1}])), 422, "/problems/invalid-input"),
        case("an unknown field", post.clone(), r, Staff, booking(c, |b| b["colour"] = json!("red")), 422, "/problems/invalid-body"),
        case("a missing field", post.clone(), r, Staff, booking(c, |b| { b.as_object_mut().map(|o| o.remove("ends_at")); }), 422, "/problems/invalid-body"),
        case("a negative hold", post.clone(), r, Staff, booking(c, |b| b["hold_minutes"] = json!(-5)), 422, "/problems/invalid-body"),
        case("an overlong note", post.clone(), r, Staff, booking(c, |b| b["note"] = json!("n".repeat(3000))), 422, "/problems/invalid-input"),
        case("another tenant's branch", post.clone(), r, Staff, booking(c, |b| b["branch_id"] = json!(foreign_branch)), 404, "/problems/not-found"),
        case("an unknown resource", post.clone(), r, Staff, booking(c, |b| b["resource_id"] = json!(uuid::Uuid::nil())), 404, "/problems/not-found"),
        case("an unknown product", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": uuid::Uuid::nil(), "quantity": 1}])), 404, "/problems/not-found"),
        case("outside working hours", post.clone(), r, Staff, booking(c, |b| { b["starts_at"] = json!("2030-01-07T03:00:00Z"); b["ends_at"] = json!("2030-01-07T04:00:00Z"); }), 422, "/problems/outside-working-hours"),
        case("more kits than in stock", post.clone(), r, Staff, booking(c, |b| b["products"] = json!([{"product_id": c.product, "quantity": 11}])), 409, "/problems/out-of-stock"),
        case("a 200 KB body", post.clone(), r, Staff, format!("{{\"note\":\"{}\"}}", "x".repeat(200 * 1024)), 413, "/problems/body-too-large"),
        case("no credentials", post.clone(), r, Key::None, booking(c, |_| {}), 401, "/problems/unauthorized"),
        case("a made-up key", post.clone(), r, Bad, booking(c, |_| {}), 401, "/problems/unauthorized"),
        case("a viewer booking", post.clone(), r, Viewer, booking(c, |_| {}), 403, "/problems/forbidden"),
        case("staff editing the catalog", post.clone(), "/v1/branches", Staff, json!({"name": "X", "time_zone": "UTC"}).to_string(), 403, "/problems/forbidden"),
        case("a made-up time zone", post.clone(), "/v1/branches", Admin, json!({"name": "X", "time_zone": "Mars/Olympus"}).to_string(), 422, "/problems/invalid-input"),
        case("a blank name", post.clone(), "/v1/branches", Admin, json!({"name": "  ", "time_zone": "UTC"}).to_string(), 422, "/problems/invalid-input"),
        case("a negative price", post.clone(), "/v1/products", Admin, json!({"name": "X", "price": {"amount_minor": -1, "currency": "EUR"}}).to_string(), 422, "/problems/invalid-input"),
        case("an unknown currency", post.clone(), "/v1/products", Admin, json!({"name": "X", "price": {"amount_minor": 1, "currency": "XYZ"}}).to_string(), 422, "/problems/invalid-input"),
        case("a three-day service", post.clone(), "/v1/services", Admin, json!({"name": "X", "duration_minutes": 5000, "price": {"amount_minor": 1, "currency": "EUR"}}).to_string(), 422, "/problems/invalid-input"),
        case("negative stock", Method::PUT, format!("/v1/products/{}/branches/{}", c.product, c.branch), Admin, json!({"stock": -1}).to_string(), 422, "/problems/invalid-input"),
        case("an unparsable path id", Method::GET, "/v1/reservations/not-a-uuid", Staff, "", 404, "/problems/not-found"),
        case("an unknown route", Method::GET, "/v1/nothing-here", Staff, "", 404, "/problems/no-such-route"),
        case("a wrong method", Method::DELETE, "/v1/events", Staff, "", 405, "/problems/method-not-allowed"),
        case("a zero page size", Method::GET, "/v1/reservations?limit=0", Staff, "", 422, "/problems/invalid-input"),
        case("a foreign key's reads", Method::GET, format!("/v1/branches/{}", c.branch), Foreign, "", 404, "/problems/not-found"),
        case("a truncated hold", post.clone(), "/v1/holds", Staff, "{\"branch_id\":", 400, "/problems/malformed-json"),
        case("a hold ending before it starts", post.clone(), "/v1/holds", Staff, booking(c, |b| b["ends_at"] = json!("2030-01-07T09:00:00Z")), 422, "/problems/invalid-input"),
        case("a hold of a foreign branch", post.clone(), "/v1/holds", Staff, booking(c, |b| b["branch_id"] = json!(foreign_branch)), 404, "/problems/not-found"),
        case("a viewer holding", post.clone(), "/v1/holds", Viewer, booking(c, |_| {}), 403, "/problems/forbidden"),
        case("a foreign key confirming", post.clone(), format!("/v1/holds/{}/confirm", uuid::Uuid::nil()), Foreign, "{}", 404, "/problems/not-found"),
        case("settings as strings", Method::PUT, "/v1/settings", Admin, json!({"min_notice_minutes": "0", "horizon_days": 1, "hold_minutes": 5, "max_active_holds_per_key": 1}).to_string(), 422, "/problems/invalid-body"),
        case("a huge horizon", Method::PUT, "/v1/settings", Admin, json!({"min_notice_minutes": 0, "horizon_days": 1_000_000, "hold_minutes": 5, "max_active_holds_per_key": 1}).to_string(), 422, "/problems/invalid-input"),
        case("staff reading settings", Method::GET, "/v1/settings", Staff, "", 403, "/problems/forbidden"),
        case("availability of a foreign branch", Method::GET, format!("/v1/availability?branch_id={foreign_branch}&duration_minutes=30&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z"), Staff, "", 404, "/problems/not-found"),
        case("availability for a year", Method::GET, format!("/v1/availability?branch_id={}&duration_minutes=30&from=2030-01-01T00:00:00Z&to=2031-01-01T00:00:00Z", c.branch), Staff, "", 422, "/problems/invalid-input"),
        // The second review's I07, I27, I52, A16 and V01.
        case("a name turned around by U+202E", post.clone(), "/v1/resources", Admin, json!({"name": "Dr. \u{202E}anav\u{200B}"}).to_string(), 422, "/problems/invalid-input"),
        case("a price of 2^63-1", post.clone(), "/v1/products", Admin, json!({"name": "X", "price": {"amount_minor": i64::MAX, "currency": "EUR"}}).to_string(), 422, "/problems/invalid-input"),
        case("a typo in a list's filter", Method::GET, format!("/v1/reservations?branch={}", c.branch), Staff, "", 422, "/problems/invalid-input"),
        case("an unknown catalog list parameter", Method::GET, "/v1/branches?colour=blue", Staff, "", 422, "/problems/invalid-input"),
        case("staff booking outside hours", post.clone(), r, Staff, booking(c, |b| { b["starts_at"] = json!("2030-01-07T03:00:00Z"); b["ends_at"] = json!("2030-01-07T04:00:00Z"); b["allow_outside_hours"] = json!(true); }), 403, "/problems/forbidden"),
        case("availability on a 1-minute grid", Method::GET, format!("/v1/availability?branch_id={}&duration_minutes=1&step_minutes=1&from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z", c.branch), Viewer, "", 422, "/problems/invalid-input"),
        case("a performer from nowhere", Method::PUT, format!("/v1/services/{}/resources/{}", c.service, uuid::Uuid::nil()), Admin, "{}", 404, "/problems/not-found"),
    ];
    let mut text = case(
        "a text/plain body",
        post.clone(),
        r,
        Staff,
        booking(c, |_| {}),
        415,
        "/problems/unsupported-media-type",
    );
    text.content_type = Some("text/plain");
    v.push(text);
    let mut bare = case(
        "no content type",
        post.clone(),
        r,
        Staff,
        booking(c, |_| {}),
        415,
        "/problems/unsupported-media-type",
    );
    bare.content_type = None;
    v.push(bare);
    let mut spaces = case(
        "an Idempotency-Key with spaces",
        post,
        r,
        Staff,
        booking(c, |_| {}),
        422,
        "/problems/invalid-input",
    );
    spaces.headers.push(("Idempotency-Key", "has spaces"));
    v.push(spaces);
    v
}

async fn every_hostile_request_gets_its_own_problem_and_nothing_is_written(app: TestApp) {
    let c = app.clinic().await;
    let (foreign_tenant, foreign_admin) =
        crate::helpers::new_tenant(&app.services, "Other Clinic").await;
    let _ = foreign_tenant;
    let foreign_branch = app
        .post(
            "/v1/branches",
            &foreign_admin,
            json!({"name": "Elsewhere", "time_zone": "UTC"}),
        )
        .await;
    let foreign_branch = foreign_branch.body["id"].as_str().unwrap().to_owned();
    let table = cases(&c, &foreign_branch);
    assert!(table.len() >= 30, "at least 30 hostile requests");
    let mut failures = Vec::new();
    for case in &table {
        let mut req = app
            .client
            .request(case.method.clone(), format!("{}{}", app.base, case.path));
        req = match case.key {
            Key::Admin => req.bearer_auth(&app.admin),
            Key::Staff => req.bearer_auth(&app.staff),
            Key::Viewer => req.bearer_auth(&app.viewer),
            Key::Foreign => req.bearer_auth(&foreign_admin),
            Key::Bad => req.bearer_auth("bk_0000"),
            Key::None => req,
        };
        if let Some(ct) = case.content_type {
            req = req.header("Content-Type", ct);
        }
        for (name, value) in &case.headers {
            req = req.header(*name, *value);
        }
        if !case.body.is_empty() {
            req = req.body(case.body.clone());
        }
        let reply = crate::helpers::reply(req.send().await.expect("the server answers")).await;
        let ok = reply.status.as_u16() == case.status
            && reply.problem() == case.problem
            && reply.content_type == "application/problem+json"
            && reply.body["request_id"].is_string();
        if !ok {
            failures.push(format!(
                "{}: got {} {} {}",
                case.name, reply.status, reply.content_type, reply.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );

    // Still serving, and nothing was written by any of them.
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
    let listed = app.get("/v1/reservations", &app.viewer).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(0));
    let catalog = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.viewer)
        .await;
    assert_eq!(catalog.body["products"][0]["stock"], 10);
    assert_eq!(catalog.body["branch"]["name"], "Madrid");
}

/// A client announcing 10 MB gets its 413 at once: the server neither waits
/// for nor reads the body, and closes the connection after answering.
async fn a_huge_declared_body_is_refused_unread(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/reservations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.staff,
        10 * 1024 * 1024
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes without waiting for the body")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("/problems/body-too-large"), "{answer}");
    assert!(answer.contains("\"request_id\""), "{answer}");
}

/// A key past its rate gets 429 problem+json with `Retry-After` (nothing
/// read or written for it); another key of the tenant is not held back,
/// and the key is served again once its bucket refills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_past_its_rate_gets_429_with_retry_after_and_others_do_not() {
    let mut config =
        booking_app::Config::new(crate::helpers::database(crate::helpers::Backend::Sqlite).await);
    config.request_limits = booking_app::RequestLimits {
        per_key: 2,
        per_tenant: 1_000,
        in_flight_per_key: 100,
        in_flight_per_tenant: 100,
        auth_failures_per_address: 0,
    };
    let app = TestApp::spawn_with(config).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.get("/v1/branches", &app.staff).await);
    }
    let limited = statuses
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("the burst of 4 is spent within 8 requests");
    assert_eq!(limited.content_type, "application/problem+json");
    assert_eq!(limited.problem(), "/problems/rate-limited");
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(
        statuses.iter().take(4).all(|r| r.status == StatusCode::OK),
        "the burst is served"
    );
    assert_eq!(
        app.get("/v1/branches", &app.admin).await.status,
        StatusCode::OK,
        "another key is not held back"
    );
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(
        app.get("/v1/branches", &app.staff).await.status,
        StatusCode::OK,
        "served again once the bucket refills"
    );
}

/// Catalog lists come a page at a time: `limit` items by id and a
/// `next_cursor` while there may be more; following it walks every item
/// once. A cursor that is not one is a 422 naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_lists_come_a_page_at_a_time() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    for n in 0..5 {
        let made = app
            .post(
                "/v1/branches",
                &app.admin,
                json!({"name": format!("Branch {n}"), "time_zone": "UTC"}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/branches?limit=2".to_owned();
    loop {
        let page = app.get(&path, &app.staff).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|b| b["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/branches?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "by id, each once");
    assert_eq!(seen.len(), 5);
    for bad in [
        "/v1/branches?cursor=yesterday",
        "/v1/branches?limit=0",
        "/v1/products?limit=501",
    ] {
        let refused = app.get(bad, &app.staff).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(refused.problem(), "/problems/invalid-input", "{bad}");
    }
}

/// The review's K01: units out in a booking, an admin sets the level to
/// the maximum, the booking is cancelled. The level is refused (it would
/// leave no room for the units coming back) and the cancel goes through;
/// before, the level was taken and the cancel answered 500 for good.
async fn a_stock_level_leaves_room_for_the_units_out(app: TestApp) {
    let c = app.clinic().await;
    let mut body = c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z");
    body["products"] = json!([{"product_id": c.product, "quantity": 5}]);
    let booked = app.post("/v1/reservations", &app.staff, body).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let id = booked.body["id"].as_str().unwrap();
    let level = format!("/v1/products/{}/branches/{}", c.product, c.branch);
    let refused = app
        .put(&level, &app.admin, json!({"stock": 1_000_000_000}))
        .await;
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("stock")),
        "{}",
        refused.body
    );
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("5 units out") && detail.contains("999999995"),
        "{detail}"
    );
    let set = app
        .put(&level, &app.admin, json!({"stock": 999_999_995}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let cancelled = app
        .post(
            &format!("/v1/reservations/{id}/cancel"),
            &app.staff,
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let offer = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.admin)
        .await;
    assert_eq!(
        offer.body["products"][0]["stock"], 1_000_000_000,
        "{}",
        offer.body
    );
}

/// The review's Q07 and S20: a client sending made-up keys (to the API or
/// the stream) gets 429 with `Retry-After` once its address has used up its
/// failures, before any key is looked up; a key that authenticated
/// recently goes on from the same address, as does `/readyz`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_sending_unknown_keys_is_slowed_but_good_keys_go_on() {
    let mut config =
        booking_app::Config::new(crate::helpers::database(crate::helpers::Backend::Sqlite).await);
    config.request_limits = booking_app::RequestLimits {
        auth_failures_per_address: 2,
        ..crate::helpers::unlimited()
    };
    let app = TestApp::spawn_with(config).await;
    assert_eq!(
        app.get("/v1/branches", &app.staff).await.status,
        StatusCode::OK
    );
    let mut statuses = Vec::new();
    for i in 0..40 {
        let made_up = format!("bk_{i:064x}");
        statuses.push(app.get("/v1/branches", &made_up).await.status);
    }
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        unauthorized, 10,
        "a burst of five seconds' worth: {statuses:?}"
    );
    let refused = app.get("/v1/branches", "bk_nope").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.problem(), "/problems/too-many-failures");
    assert!(refused.headers.contains_key("retry-after"));
    let stream = app
        .client
        .get(format!("{}/v1/stream", app.base))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Protocol", "booking.v1, bearer.bk_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the stream too"
    );
    assert_eq!(
        app.get("/v1/branches", &app.staff).await.status,
        StatusCode::OK,
        "a key that authenticated recently is not held back"
    );
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None).await.status,
        StatusCode::OK
    );
}
