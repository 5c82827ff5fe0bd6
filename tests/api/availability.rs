//! `GET /v1/availability` on both stores: the exact free slots around
//! bookings, holds and buffers; the order and shape of the answer; DST
//! days counted in local time; every question out of bounds refused with
//! a 422 naming its parameter.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_stores};

on_both_stores!(
    free_slots_leave_out_bookings_and_holds_with_their_buffers,
    the_grid_follows_local_time_across_dst,
    questions_out_of_bounds_are_refused_naming_the_parameter,
    a_large_window_is_answered_a_page_at_a_time,
    a_branch_with_more_resources_than_counted_asks_to_name_them,
    the_edges_of_the_accepted_years_have_an_answer,
);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// Every slot as (resource, start, end).
fn slots(body: &Value) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
    body["slots"]
        .as_array()
        .unwrap_or_else(|| panic!("slots: {body}"))
        .iter()
        .map(|s| {
            (
                s["resource_id"].as_str().expect("resource_id").to_owned(),
                at(s["starts_at"].as_str().expect("starts_at")),
                at(s["ends_at"].as_str().expect("ends_at")),
            )
        })
        .collect()
}

async fn ask(app: &TestApp, query: &str) -> Value {
    let r = app
        .get(&format!("/v1/availability?{query}"), &app.viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body
}

async fn free_slots_leave_out_bookings_and_holds_with_their_buffers(app: TestApp) {
    let c = app.clinic().await;
    // Monday: the dentist works 09:00–17:00 Madrid = 08:00–16:00 UTC.
    let mut cleaning = c.booking("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z");
    cleaning["service_id"] = json!(c.service);
    let booked = app.post("/v1/reservations", &app.staff, cleaning).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let held = app
        .post(
            "/v1/holds",
            &app.staff,
            c.booking("2030-01-07T12:00:00Z", "2030-01-07T12:30:00Z"),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    // Elsewhere, the same dentist blocks the time too.
    let lisbon = app
        .post(
            "/v1/branches",
            &app.admin,
            json!({"name": "Lisboa", "time_zone": "Europe/Lisbon"}),
        )
        .await;
    let lisbon = lisbon.body["id"].as_str().unwrap().to_owned();
    app.put(
        &format!("/v1/resources/{}/branches/{lisbon}", c.dentist),
        &app.admin,
        json!({}),
    )
    .await;
    let mut away = c.booking("2030-01-07T14:00:00Z", "2030-01-07T14:30:00Z");
    away["branch_id"] = json!(lisbon);
    let away = app.post("/v1/reservations", &app.staff, away).await;
    assert_eq!(away.status, StatusCode::CREATED, "{}", away.body);

    let query = format!(
        "branch_id={}&service_id={}&resource_id={}&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z",
        c.branch, c.service, c.dentist
    );
    let body = ask(&app, &query).await;
    assert_eq!(body["branch_id"], c.branch.as_str());
    assert_eq!(body["time_zone"], "Europe/Madrid");
    // A cleaning is 30 minutes with 10 after; it must end with its buffer
    // by 16:00 UTC and keep its 40 minutes clear of [10:00, 10:40) (the
    // booking and its buffer), [12:00, 12:30) (the hold) and
    // [14:00, 14:30) (Lisbon).
    let busy = [("10:00", "10:40"), ("12:00", "12:30"), ("14:00", "14:30")].map(|(a, b)| {
        (
            at(&format!("2030-01-07T{a}:00Z")),
            at(&format!("2030-01-07T{b}:00Z")),
        )
    });
    let mut expected = Vec::new();
    let mut start = at("2030-01-07T08:00:00Z");
    while start + Duration::minutes(40) <= at("2030-01-07T16:00:00Z") {
        let end = start + Duration::minutes(40);
        if busy.iter().all(|(a, b)| end <= *a || *b <= start) {
            expected.push((c.dentist.clone(), start, start + Duration::minutes(30)));
        }
        start += Duration::minutes(15);
    }
    assert_eq!(slots(&body), expected);
    assert!(
        body.to_string()
            .contains("\"starts_at\":\"2030-01-07T08:00:00Z\""),
        "times in UTC, RFC 3339: {body}"
    );

    // Everyone, by start then resource: the chair has no hours.
    let all = ask(
        &app,
        &format!(
            "branch_id={}&duration_minutes=60&step_minutes=30&from=2030-01-07T09:00:00Z&to=2030-01-07T12:00:00Z",
            c.branch
        ),
    )
    .await;
    let all = slots(&all);
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    assert_eq!(all, sorted, "by start, then resource");
    let chair: Vec<_> = all.iter().filter(|s| s.0 == c.chair).map(|s| s.1).collect();
    assert_eq!(chair.len(), 6, "09:00 to 11:30 every 30 minutes: {chair:?}");
    let dentist: Vec<_> = all
        .iter()
        .filter(|s| s.0 == c.dentist)
        .map(|s| s.1)
        .collect();
    assert_eq!(
        dentist,
        ["09:00", "11:00"].map(|h| at(&format!("2030-01-07T{h}:00Z"))),
        "an hour may end as the cleaning starts, not start inside its buffer (to 10:40)"
    );

    // Let the hold go: its slots come back.
    let id = held.body["id"].as_str().unwrap();
    app.delete(&format!("/v1/holds/{id}"), &app.staff).await;
    let after = slots(&ask(&app, &query).await);
    assert!(
        after.len() > expected.len() && after.iter().any(|s| s.1 == at("2030-01-07T12:00:00Z")),
        "the released hold's time is free"
    );
}

async fn the_grid_follows_local_time_across_dst(app: TestApp) {
    let branch = app
        .post(
            "/v1/branches",
            &app.admin,
            json!({"name": "Manhattan", "time_zone": "America/New_York"}),
        )
        .await;
    let branch = branch.body["id"].as_str().unwrap().to_owned();
    let chair = app
        .post(
            "/v1/resources",
            &app.admin,
            json!({"name": "Chair", "kind": "room"}),
        )
        .await;
    let chair = chair.body["id"].as_str().unwrap().to_owned();
    let linked = app
        .put(
            &format!("/v1/resources/{chair}/branches/{branch}"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    // Local midnight to local midnight, asked with offsets.
    for (from, to, hours, missing, twice) in [
        (
            "2030-03-10T00:00:00-05:00",
            "2030-03-11T00:00:00-04:00",
            23,
            Some("02:00"),
            None,
        ),
        (
            "2030-11-03T00:00:00-04:00",
            "2030-11-04T00:00:00-05:00",
            25,
            None,
            Some("01:00"),
        ),
    ] {
        let query = format!(
            "branch_id={branch}&duration_minutes=60&step_minutes=60&from={}&to={}",
            from.replace('+', "%2B"),
            to
        );
        let found = slots(&ask(&app, &query).await);
        assert_eq!(found.len(), hours, "{from}: one per local hour");
        let local: Vec<String> = found
            .iter()
            .map(|s| {
                s.1.with_timezone(&chrono_tz::America::New_York)
                    .format("%H:%M")
                    .to_string()
            })
            .collect();
        if let Some(m) = missing {
            assert!(
                !local.iter().any(|l| l == m),
                "{m} does not exist: {local:?}"
            );
        }
        if let Some(t) = twice {
            assert_eq!(local.iter().filter(|l| *l == t).count(), 2, "{local:?}");
        }
        assert!(
            found.iter().all(|s| s.2 - s.1 == Duration::minutes(60)),
            "durations are elapsed time"
        );
    }
}

async fn questions_out_of_bounds_are_refused_naming_the_parameter(app: TestApp) {
    let c = app.clinic().await;
    let b = &c.branch;
    let s = &c.service;
    let day = "from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z";
    let many: String = (0..101)
        .map(|i| format!("&resource_id=0190a8a0-0000-7000-8000-{i:012}"))
        .collect();
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "branch_id={b}&service_id={s}&from=2030-01-01T00:00:00Z&to=2030-02-02T00:00:00Z"
            ),
            "to",
        ),
        (
            format!("branch_id={b}&service_id={s}&{day}{many}"),
            "resource_id",
        ),
        (
            format!("branch_id={b}&service_id={s}&duration_minutes=30&{day}"),
            "duration_minutes",
        ),
        (format!("branch_id={b}&{day}"), "service_id"),
        (
            format!("branch_id={b}&service_id={s}&step_minutes=0&{day}"),
            "step_minutes",
        ),
        (
            format!("branch_id={b}&service_id={s}&step_minutes=1441&{day}"),
            "step_minutes",
        ),
        // A finer grid only multiplies the answer.
        (
            format!("branch_id={b}&service_id={s}&step_minutes=1&{day}"),
            "step_minutes",
        ),
        (
            format!("branch_id={b}&service_id={s}&step_minutes=4&{day}"),
            "step_minutes",
        ),
        (
            format!("branch_id={b}&service_id={s}&limit=0&{day}"),
            "limit",
        ),
        (
            format!("branch_id={b}&service_id={s}&limit=10001&{day}"),
            "limit",
        ),
        (
            format!("branch_id={b}&duration_minutes=abc&{day}"),
            "duration_minutes",
        ),
        (
            format!("branch_id={b}&duration_minutes=-5&{day}"),
            "duration_minutes",
        ),
        (
            format!("branch_id={b}&service_id={s}&{day}&color=blue"),
            "color",
        ),
        (format!("branch_id=nope&service_id={s}&{day}"), "branch_id"),
        (format!("service_id={s}&{day}"), "branch_id"),
        (format!("branch_id={b}&service_id=nope&{day}"), "service_id"),
        (
            format!("branch_id={b}&service_id={s}&resource_id=x&{day}"),
            "resource_id",
        ),
        (
            format!("branch_id={b}&service_id={s}&to=2030-01-08T00:00:00Z"),
            "from",
        ),
        (
            format!("branch_id={b}&service_id={s}&from=yesterday&to=2030-01-08T00:00:00Z"),
            "from",
        ),
        (
            format!(
                "branch_id={b}&service_id={s}&from=2030-01-08T00:00:00Z&to=2030-01-07T00:00:00Z"
            ),
            "to",
        ),
    ];
    for (query, field) in cases {
        let r = app
            .get(&format!("/v1/availability?{query}"), &app.staff)
            .await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{query}: {}",
            r.body
        );
        assert_eq!(r.content_type, "application/problem+json");
    }
    let elsewhere = app
        .post("/v1/resources", &app.admin, json!({"name": "Dr. Costa"}))
        .await;
    let elsewhere = elsewhere.body["id"].as_str().unwrap().to_owned();
    let r = app
        .get(
            &format!("/v1/availability?branch_id={b}&service_id={s}&resource_id={elsewhere}&{day}"),
            &app.staff,
        )
        .await;
    assert_eq!(
        (r.status, r.body["type"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/problems/resource-not-at-branch")
        ),
        "{}",
        r.body
    );
    let unknown = "0190a8a0-0000-7000-8000-000000000000";
    for query in [
        format!("branch_id={unknown}&service_id={s}&{day}"),
        format!("branch_id={b}&service_id={unknown}&{day}"),
        format!("branch_id={b}&service_id={s}&resource_id={unknown}&{day}"),
    ] {
        let r = app
            .get(&format!("/v1/availability?{query}"), &app.staff)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{query}: {}", r.body);
    }
    let thirty_one = ask(
        &app,
        &format!("branch_id={b}&service_id={s}&from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z"),
    )
    .await;
    assert!(!slots(&thirty_one).is_empty(), "31 days exactly is allowed");
    let r = app
        .get(
            &format!("/v1/availability?branch_id={b}&service_id={s}&{day}"),
            "not-a-key",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The largest window on the finest grid has more slots than an answer
/// holds: it comes a page at a time, by time, and the pages add up to the
/// whole.
async fn a_large_window_is_answered_a_page_at_a_time(app: TestApp) {
    let c = app.clinic().await;
    let b = &c.branch;
    let whole_window = "from=2030-01-07T00:00:00Z&to=2030-01-09T00:00:00Z";
    let question = format!("branch_id={b}&duration_minutes=30&step_minutes=5");
    let whole = ask(&app, &format!("{question}&{whole_window}")).await;
    assert!(whole["next_from"].is_null(), "{}", whole["next_from"]);
    let whole = slots(&whole);
    assert!(whole.len() > 100, "{}", whole.len());
    let mut walked = Vec::new();
    let mut from = "2030-01-07T00:00:00Z".to_owned();
    for page in 0.. {
        assert!(page < 100, "the pages never end");
        let answer = ask(
            &app,
            &format!("{question}&limit=37&from={from}&to=2030-01-09T00:00:00Z"),
        )
        .await;
        let got = slots(&answer);
        assert!(got.len() <= 37, "{}", got.len());
        walked.extend(got);
        match answer["next_from"].as_str() {
            Some(next) => from = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, whole);
    // The server's own cap: 31 days of the chair (around the clock) and
    // the dentist (weekdays) on a 5-minute grid is over 11,000 slots.
    let r = app
        .get(
            &format!(
                "/v1/availability?branch_id={b}&duration_minutes=5&step_minutes=5\
                 &from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z"
            ),
            &app.viewer,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(slots(&r.body).len(), 10_000);
    assert!(r.body["next_from"].is_string(), "{}", r.body["next_from"]);
}

/// With no resource named every resource at the branch that can serve
/// counts, up to the same 100 a question may name.
async fn a_branch_with_more_resources_than_counted_asks_to_name_them(app: TestApp) {
    let c = app.clinic().await;
    let b = &c.branch;
    let mut named = Vec::new();
    for i in 0..99 {
        let r = app
            .post(
                "/v1/resources",
                &app.admin,
                json!({"name": format!("Chair {i}")}),
            )
            .await;
        let id = r.body["id"].as_str().expect("an id").to_owned();
        let linked = app
            .put(
                &format!("/v1/resources/{id}/branches/{b}"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
        named.push(id);
    }
    let day = "from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z";
    let r = app
        .get(
            &format!("/v1/availability?branch_id={b}&duration_minutes=30&{day}"),
            &app.viewer,
        )
        .await;
    assert_eq!(
        (r.status, r.body["type"].as_str(), r.body["count"].as_u64()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/problems/too-many-resources"),
            Some(101)
        ),
        "{}",
        r.body
    );
    let some: String = named[..3]
        .iter()
        .map(|id| format!("&resource_id={id}"))
        .collect();
    let answer = ask(
        &app,
        &format!("branch_id={b}&duration_minutes=30&{day}{some}"),
    )
    .await;
    assert!(!slots(&answer).is_empty());
}

/// A window at the first and last instants the store accepts, with
/// buffers reaching past them, is answered (it was a 500).
async fn the_edges_of_the_accepted_years_have_an_answer(app: TestApp) {
    let c = app.clinic().await;
    let service = app
        .post(
            "/v1/services",
            &app.admin,
            json!({"name": "Crown", "duration_minutes": 60, "buffer_before_minutes": 5,
                   "buffer_after_minutes": 10, "price": {"amount_minor": 9000, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(service.status, StatusCode::CREATED, "{}", service.body);
    let s = service.body["id"].as_str().unwrap();
    let b = &c.branch;
    for window in [
        "from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z",
        "from=2199-12-31T00:00:00Z&to=2200-01-01T00:00:00Z",
    ] {
        let r = app
            .get(
                &format!("/v1/availability?branch_id={b}&service_id={s}&{window}"),
                &app.admin,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{window}: {}", r.body);
    }
}
