//! Holds over HTTP on both stores: placed, extended, confirmed and let go;
//! blocking like a booking; a key's quota; a start in the past or outside
//! the tenant's notice and horizon; tenant settings; who performs a
//! service. And, on the in-memory adapters with a manual clock, what
//! happens when a hold runs out.

use std::sync::Arc;
use std::time::Duration;

use booking_memory::{InMemoryStore, ManualClock};
use chrono::{DateTime, Datelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Clinic, Reply, TestApp, event_types_until, on_both_stores, open_stream};

on_both_stores!(
    a_hold_keeps_its_slot_and_stock_until_confirmed_or_released,
    a_key_over_its_hold_quota_is_refused_with_429,
    a_start_outside_the_tenants_rules_is_refused_unless_an_admin_books,
    settings_are_read_and_replaced_by_admins_only,
    a_service_is_offered_and_booked_on_its_performers_only,
);

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("an RFC 3339 instant: {v}"))
}

fn kits(c: &Clinic, start: &str, end: &str, quantity: u32) -> Value {
    let mut body = c.booking(start, end);
    body["products"] = json!([{"product_id": c.product, "quantity": quantity}]);
    body
}

async fn stock(app: &TestApp, c: &Clinic) -> i64 {
    let catalog = app
        .get(&format!("/v1/branches/{}/catalog", c.branch), &app.viewer)
        .await;
    catalog.body["products"][0]["stock"]
        .as_i64()
        .expect("the kit's stock")
}

async fn count(app: &TestApp, event_type: &str) -> usize {
    let found = app
        .get(&format!("/v1/events?type={event_type}"), &app.admin)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    found.body["items"].as_array().map_or(0, Vec::len)
}

fn refused(r: &Reply, status: StatusCode, problem: &str) {
    assert_eq!(
        (r.status, r.problem()),
        (status, format!("/problems/{problem}").as_str()),
        "{}",
        r.body
    );
    assert_eq!(r.content_type, "application/problem+json");
}

async fn a_hold_keeps_its_slot_and_stock_until_confirmed_or_released(app: TestApp) {
    let c = app.clinic().await;
    let ws = format!("{}/v1/stream?since=0", app.base.replacen("http", "ws", 1));
    let mut stream = open_stream(&ws, &app.staff).await;
    let asked = Utc::now();
    let held = app
        .post(
            "/v1/holds",
            &app.staff,
            kits(&c, "2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z", 2),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let id = held.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        held.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/v1/holds/{id}").as_str())
    );
    assert_eq!(held.body["status"], "held");
    let expires = instant(&held.body["expires_at"]);
    assert_eq!(held.body["hold_expires_at"], held.body["expires_at"]);
    let five = chrono::Duration::minutes(5);
    assert!(
        expires >= asked + five && expires <= Utc::now() + five,
        "the tenant's 5 minutes from now: {expires}"
    );
    assert_eq!(stock(&app, &c).await, 8, "its kits are reserved");

    for path in ["/v1/holds", "/v1/reservations"] {
        let rival = app
            .post(
                path,
                &app.admin,
                c.booking("2030-01-07T10:15:00Z", "2030-01-07T10:45:00Z"),
            )
            .await;
        refused(&rival, StatusCode::CONFLICT, "slot-taken");
        assert_eq!(rival.body["conflicting_reservation_id"], id.as_str());
    }

    let extended = app
        .post(&format!("/v1/holds/{id}/extend"), &app.staff, json!({}))
        .await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.body);
    assert!(instant(&extended.body["expires_at"]) >= expires);
    assert_eq!(extended.body["version"], 2);

    let confirmed = app
        .post(&format!("/v1/holds/{id}/confirm"), &app.staff, json!({}))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "confirmed");
    assert_eq!(confirmed.body["expires_at"], Value::Null);
    assert_eq!(stock(&app, &c).await, 8, "the booking keeps the kits");
    refused(
        &app.post(&format!("/v1/holds/{id}/extend"), &app.staff, json!({}))
            .await,
        StatusCode::CONFLICT,
        "invalid-transition",
    );
    refused(
        &app.delete(&format!("/v1/holds/{id}"), &app.staff).await,
        StatusCode::CONFLICT,
        "invalid-transition",
    );

    let second = app
        .post(
            "/v1/holds",
            &app.staff,
            kits(&c, "2030-01-07T11:00:00Z", "2030-01-07T11:30:00Z", 3),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(stock(&app, &c).await, 5);
    let second = second.body["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let released = app.delete(&format!("/v1/holds/{second}"), &app.staff).await;
        assert_eq!(
            released.status,
            StatusCode::NO_CONTENT,
            "released, then already released: {}",
            released.body
        );
    }
    assert_eq!(stock(&app, &c).await, 8, "its kits are back at once");
    let fetched = app
        .get(&format!("/v1/reservations/{second}"), &app.viewer)
        .await;
    assert_eq!(fetched.body["status"], "cancelled");
    let rebooked = app
        .post(
            "/v1/reservations",
            &app.staff,
            c.booking("2030-01-07T11:00:00Z", "2030-01-07T11:30:00Z"),
        )
        .await;
    assert_eq!(
        rebooked.status,
        StatusCode::CREATED,
        "its slot is free at once: {}",
        rebooked.body
    );

    for (event_type, n) in [
        ("ReservationHeld", 2),
        ("ReservationExtended", 1),
        ("ReservationConfirmed", 1),
        ("ReservationReleased", 1),
    ] {
        assert_eq!(count(&app, event_type).await, n, "{event_type}");
    }
    let released = app
        .get("/v1/events?type=ReservationReleased", &app.admin)
        .await;
    assert_eq!(released.body["items"][0]["actor"], "reception");
    assert_eq!(
        released.body["items"][0]["data"]["after"]["id"],
        second.as_str()
    );

    let pushed =
        event_types_until(&mut stream, "ReservationReleased", Duration::from_secs(10)).await;
    let holds: Vec<&str> = pushed
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("Reservation"))
        .collect();
    assert_eq!(
        holds,
        [
            "ReservationHeld",
            "ReservationExtended",
            "ReservationConfirmed",
            "ReservationHeld",
            "ReservationReleased"
        ],
        "pushed live, in order: {pushed:?}"
    );

    for path in [
        "/v1/holds/not-a-uuid/confirm",
        "/v1/holds/0190a8a0-0000-7000-8000-000000000000/extend",
    ] {
        let r = app.post(path, &app.staff, json!({})).await;
        refused(&r, StatusCode::NOT_FOUND, "not-found");
    }
    let as_viewer = app
        .post(
            "/v1/holds",
            &app.viewer,
            c.booking("2030-01-07T13:00:00Z", "2030-01-07T13:30:00Z"),
        )
        .await;
    assert_eq!(
        as_viewer.status,
        StatusCode::FORBIDDEN,
        "{}",
        as_viewer.body
    );
}

async fn a_key_over_its_hold_quota_is_refused_with_429(app: TestApp) {
    let c = app.clinic().await;
    let set = app
        .put(
            "/v1/settings",
            &app.admin,
            json!({"min_notice_minutes": 0, "horizon_days": 3650, "hold_minutes": 5, "max_active_holds_per_key": 2}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let hold = |key: &str, hour: u32| {
        let body = c.booking(
            &format!("2030-01-07T{hour}:00:00Z"),
            &format!("2030-01-07T{hour}:30:00Z"),
        );
        let key = key.to_owned();
        let app = &app;
        async move { app.post("/v1/holds", &key, body).await }
    };
    let first = hold(&app.staff, 9).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(hold(&app.staff, 10).await.status, StatusCode::CREATED);
    let over = hold(&app.staff, 11).await;
    refused(&over, StatusCode::TOO_MANY_REQUESTS, "hold-quota");
    assert_eq!(over.body["max_active_holds_per_key"], 2, "{}", over.body);
    assert_eq!(
        hold(&app.admin, 11).await.status,
        StatusCode::CREATED,
        "another key has its own quota"
    );
    let booked = app
        .post(
            "/v1/reservations",
            &app.staff,
            c.booking("2030-01-07T12:00:00Z", "2030-01-07T12:30:00Z"),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "bookings are not holds");
    let id = first.body["id"].as_str().unwrap();
    app.delete(&format!("/v1/holds/{id}"), &app.staff).await;
    assert_eq!(
        hold(&app.staff, 13).await.status,
        StatusCode::CREATED,
        "a released hold frees its place"
    );
    assert_eq!(
        count(&app, "ReservationHeld").await,
        4,
        "nothing else written"
    );
}

/// The first weekday at least `days` from now, at 10:00 UTC (11:00 in
/// Madrid: inside the dentist's hours).
fn weekday_ahead(days: i64) -> DateTime<Utc> {
    let mut day = (Utc::now() + chrono::Duration::days(days)).date_naive();
    while day.weekday().number_from_monday() > 5 {
        day = day.succ_opt().unwrap();
    }
    day.and_hms_opt(10, 0, 0).unwrap().and_utc()
}

async fn a_start_outside_the_tenants_rules_is_refused_unless_an_admin_books(app: TestApp) {
    let c = app.clinic().await;
    let slot = |start: DateTime<Utc>| {
        c.booking(
            &start.to_rfc3339(),
            &(start + chrono::Duration::minutes(30)).to_rfc3339(),
        )
    };
    let past = slot(weekday_ahead(-30));
    for path in ["/v1/reservations", "/v1/holds"] {
        let r = app.post(path, &app.staff, past.clone()).await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "in-the-past");
        assert_eq!(r.body["field"], "starts_at");
    }
    let by_admin = app.post("/v1/reservations", &app.admin, past).await;
    assert_eq!(
        by_admin.status,
        StatusCode::CREATED,
        "an admin records a past visit: {}",
        by_admin.body
    );

    let set = app
        .put(
            "/v1/settings",
            &app.admin,
            json!({"min_notice_minutes": 4 * 24 * 60, "horizon_days": 60, "hold_minutes": 5, "max_active_holds_per_key": 20}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let soon = slot(weekday_ahead(1));
    let r = app.post("/v1/reservations", &app.staff, soon.clone()).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "too-soon");
    let earliest = instant(&r.body["earliest_start"]);
    let expected = Utc::now() + chrono::Duration::days(4);
    assert!(
        (expected - earliest).num_seconds().abs() < 60,
        "{earliest} is four days from now"
    );
    let far = slot(weekday_ahead(70));
    let r = app.post("/v1/holds", &app.staff, far.clone()).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "beyond-horizon");
    assert!(r.body["latest_start"].is_string(), "{}", r.body);
    for body in [soon, far] {
        let r = app.post("/v1/reservations", &app.admin, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "an admin may: {}", r.body);
    }
    let within = app
        .post("/v1/reservations", &app.staff, slot(weekday_ahead(10)))
        .await;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.body);
}

async fn settings_are_read_and_replaced_by_admins_only(app: TestApp) {
    let defaults = app.get("/v1/settings", &app.admin).await;
    assert_eq!(defaults.status, StatusCode::OK, "{}", defaults.body);
    assert_eq!(
        defaults.body,
        json!({"min_notice_minutes": 0, "horizon_days": 3650, "hold_minutes": 5, "max_active_holds_per_key": 20})
    );
    let new = json!({"min_notice_minutes": 60, "horizon_days": 90, "hold_minutes": 10, "max_active_holds_per_key": 3});
    for key in [&app.staff, &app.viewer] {
        assert_eq!(
            app.get("/v1/settings", key).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.put("/v1/settings", key, new.clone()).await.status,
            StatusCode::FORBIDDEN
        );
    }
    for (body, field) in [
        (
            json!({"min_notice_minutes": 60, "horizon_days": 90, "hold_minutes": 0, "max_active_holds_per_key": 3}),
            "hold_minutes",
        ),
        (
            json!({"min_notice_minutes": 60, "horizon_days": 3651, "hold_minutes": 10, "max_active_holds_per_key": 3}),
            "horizon_days",
        ),
        (
            json!({"min_notice_minutes": 60, "horizon_days": 90, "hold_minutes": 10, "max_active_holds_per_key": 0}),
            "max_active_holds_per_key",
        ),
        (
            json!({"min_notice_minutes": -1, "horizon_days": 90, "hold_minutes": 10, "max_active_holds_per_key": 3}),
            "min_notice_minutes",
        ),
    ] {
        let r = app.put("/v1/settings", &app.admin, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.body["detail"].as_str().is_some_and(|d| d.contains(field)),
            "names {field}: {}",
            r.body
        );
    }
    let partial = app
        .put("/v1/settings", &app.admin, json!({"hold_minutes": 10}))
        .await;
    assert_eq!(
        partial.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        partial.body
    );
    assert_eq!(count(&app, "SettingsChanged").await, 0, "nothing written");
    let put = app.put("/v1/settings", &app.admin, new.clone()).await;
    assert_eq!((put.status, &put.body), (StatusCode::OK, &new));
    assert_eq!(app.get("/v1/settings", &app.admin).await.body, new);
    let changed = app.get("/v1/events?type=SettingsChanged", &app.admin).await;
    let event = &changed.body["items"][0];
    assert_eq!(event["actor"], "admin");
    assert_eq!(event["data"]["after"]["hold_minutes"], 10, "{event}");
    assert_eq!(event["data"]["before"]["hold_minutes"], 5, "{event}");
}

async fn a_service_is_offered_and_booked_on_its_performers_only(app: TestApp) {
    let c = app.clinic().await;
    let performers = format!("/v1/services/{}/resources", c.service);
    let listed = app.get(&performers, &app.viewer).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["items"], json!([]), "none listed: anyone");
    let added = app
        .put(
            &format!("{performers}/{}", c.dentist),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(
        added.body,
        json!({"service_id": c.service, "resource_id": c.dentist})
    );
    assert_eq!(
        app.put(&format!("{performers}/{}", c.chair), &app.staff, json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unknown = app
        .put(
            &format!("{performers}/0190a8a0-0000-7000-8000-000000000000"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert_eq!(
        app.get(&performers, &app.viewer).await.body["items"],
        json!([{"service_id": c.service, "resource_id": c.dentist}])
    );

    let mut on_chair = c.booking("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z");
    on_chair["resource_id"] = json!(c.chair);
    on_chair["service_id"] = json!(c.service);
    let r = app
        .post("/v1/reservations", &app.staff, on_chair.clone())
        .await;
    refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "resource-cannot-perform",
    );
    assert_eq!(r.body["resource_id"], c.chair.as_str());
    assert_eq!(offered(&app, &c).await, std::slice::from_ref(&c.dentist));

    let removed = app
        .delete(&format!("{performers}/{}", c.dentist), &app.admin)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let again = app
        .delete(&format!("{performers}/{}", c.dentist), &app.admin)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    let mut both = vec![c.dentist.clone(), c.chair.clone()];
    both.sort();
    assert_eq!(offered(&app, &c).await, both, "anyone again");
    let r = app.post("/v1/reservations", &app.staff, on_chair).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(count(&app, "ServiceResourceAdded").await, 1);
    assert_eq!(count(&app, "ServiceResourceRemoved").await, 1);
}

/// Who is offered for the clinic's service on Monday 08:00–09:00 UTC.
async fn offered(app: &TestApp, c: &Clinic) -> Vec<String> {
    let path = format!(
        "/v1/availability?branch_id={}&service_id={}&from=2030-01-07T08:00:00Z&to=2030-01-07T09:00:00Z",
        c.branch, c.service
    );
    let r = app.get(&path, &app.staff).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut who: Vec<String> = r.body["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["resource_id"].as_str().expect("a resource").to_owned())
        .collect();
    who.sort();
    who.dedup();
    who
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_that_ran_out_blocks_nothing_and_cannot_be_confirmed_or_extended() {
    let now = DateTime::parse_from_rfc3339("2030-01-07T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let clock = Arc::new(ManualClock::new(now));
    let (app, _tenant) = TestApp::in_memory(Arc::new(InMemoryStore::new()), clock.clone()).await;
    let c = app.clinic().await;
    let held = app
        .post(
            "/v1/holds",
            &app.staff,
            kits(&c, "2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z", 2),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    assert_eq!(held.body["expires_at"], "2030-01-07T07:05:00Z");
    let id = held.body["id"].as_str().unwrap().to_owned();
    clock.set(now + chrono::Duration::minutes(6));
    for action in ["confirm", "extend"] {
        let r = app
            .post(&format!("/v1/holds/{id}/{action}"), &app.staff, json!({}))
            .await;
        refused(&r, StatusCode::CONFLICT, "hold-expired");
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("2030-01-07T07:05:00")),
            "{}",
            r.body
        );
    }
    let released = app.delete(&format!("/v1/holds/{id}"), &app.staff).await;
    assert_eq!(
        released.status,
        StatusCode::NO_CONTENT,
        "letting go of a hold that ran out changes nothing"
    );
    assert_eq!(count(&app, "ReservationReleased").await, 0);
    let booked = app
        .post(
            "/v1/reservations",
            &app.admin,
            kits(&c, "2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z", 10),
        )
        .await;
    assert_eq!(
        booked.status,
        StatusCode::CREATED,
        "the slot and every kit are free: {}",
        booked.body
    );
    let fetched = app
        .get(&format!("/v1/reservations/{id}"), &app.viewer)
        .await;
    assert_eq!(fetched.body["status"], "expired");
    assert_eq!(count(&app, "ReservationExpired").await, 1);
}
