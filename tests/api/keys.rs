//! API keys over HTTP: admins make, list, re-role and revoke them; a
//! secret is shown once and never again; a revoked or expired key is
//! refused from its next request; a tenant keeps one active admin key;
//! every change is an event naming who made it (never the secret).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_stores};

on_both_stores!(
    keys_are_made_listed_given_another_role_and_revoked_by_admins_only,
    a_revoked_or_expired_key_is_refused_from_its_next_request,
    the_last_active_admin_key_can_be_neither_revoked_nor_demoted,
);

/// The ids of the test app's keys, by actor name.
pub(crate) async fn key_id(app: &TestApp, actor: &str) -> String {
    let keys = app.get("/v1/keys", &app.admin).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.body);
    keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["actor"] == actor)
        .and_then(|k| k["id"].as_str())
        .unwrap_or_else(|| panic!("a key of {actor}"))
        .to_owned()
}

fn events_of(reply: &Value, types: &[&str]) -> Vec<Value> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| types.contains(&e["type"].as_str().unwrap_or_default()))
        .cloned()
        .collect()
}

async fn keys_are_made_listed_given_another_role_and_revoked_by_admins_only(app: TestApp) {
    let made = app
        .post(
            "/v1/keys",
            &app.admin,
            json!({"role": "staff", "actor": "front desk Madrid"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let secret = made.body["api_key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("bk_"));
    assert_eq!(
        made.headers["location"].to_str().unwrap(),
        format!("/v1/keys/{id}")
    );
    assert_eq!(
        (
            &made.body["role"],
            &made.body["actor"],
            &made.body["status"]
        ),
        (
            &json!("staff"),
            &json!("front desk Madrid"),
            &json!("active")
        )
    );
    assert_eq!(
        app.get("/v1/branches", &secret).await.status,
        StatusCode::OK
    );

    let listed = app.get("/v1/keys", &app.admin).await;
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id.as_str()),
        "{}",
        listed.body
    );
    assert!(
        !listed.body.to_string().contains("bk_") && listed.body.get("api_key").is_none(),
        "a list never shows a secret"
    );
    // Its answer holds a secret, so it is never stored for a replay.
    let replayable = app
        .client
        .post(format!("{}/v1/keys", app.base))
        .bearer_auth(&app.admin)
        .header("idempotency-key", "key-1")
        .json(&json!({"role": "viewer", "actor": "kiosk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replayable.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let one = app.get(&format!("/v1/keys/{id}"), &app.admin).await;
    assert_eq!((one.status, &one.body["id"]), (StatusCode::OK, &json!(id)));

    let demoted = app
        .call(
            Method::PATCH,
            &format!("/v1/keys/{id}"),
            Some(&app.admin),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        (demoted.status, &demoted.body["role"]),
        (StatusCode::OK, &json!("viewer"))
    );
    let c = app.clinic().await;
    let refused = app
        .post(
            "/v1/reservations",
            &secret,
            c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z"),
        )
        .await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::FORBIDDEN, "/problems/forbidden"),
        "the new role holds from the next request"
    );

    for key in [&app.staff, &app.viewer] {
        for (method, path, body) in [
            (Method::GET, "/v1/keys".to_owned(), None),
            (
                Method::POST,
                "/v1/keys".to_owned(),
                Some(json!({"role": "admin", "actor": "me"})),
            ),
            (Method::GET, format!("/v1/keys/{id}"), None),
            (
                Method::PATCH,
                format!("/v1/keys/{id}"),
                Some(json!({"role": "admin"})),
            ),
            (Method::DELETE, format!("/v1/keys/{id}"), None),
        ] {
            let r = app.call(method.clone(), &path, Some(key), body).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        }
    }
    for (body, field) in [
        (json!({"role": "root", "actor": "x"}), "role"),
        (json!({"role": "staff", "actor": "  "}), "actor"),
        (
            json!({"role": "staff", "actor": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"role": "staff", "actor": "x", "secret": "mine"}),
            "secret",
        ),
    ] {
        let r = app.post("/v1/keys", &app.admin, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(r.body.to_string().contains(field), "{body}: {}", r.body);
    }
    for path in [
        format!("/v1/keys/{}", uuid::Uuid::now_v7()),
        "/v1/keys/not-a-key".to_owned(),
    ] {
        assert_eq!(
            app.get(&path, &app.admin).await.status,
            StatusCode::NOT_FOUND
        );
    }

    let revoked = app
        .call(
            Method::DELETE,
            &format!("/v1/keys/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);

    // Each change is recorded with the admin key that made it; the log
    // never holds a secret.
    let admin_id = key_id(&app, "admin").await;
    let log = app.get("/v1/events?since=0", &app.admin).await;
    let changes = events_of(
        &log.body,
        &["ApiKeyCreated", "ApiKeyRoleChanged", "ApiKeyRevoked"],
    );
    let about_key: Vec<_> = changes
        .iter()
        .filter(|e| e["data"]["after"]["id"] == id.as_str())
        .collect();
    assert_eq!(
        about_key
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ApiKeyCreated", "ApiKeyRoleChanged", "ApiKeyRevoked"]
    );
    assert!(
        about_key
            .iter()
            .all(|e| e["actor_key_id"] == admin_id.as_str() && e["actor"] == "admin")
    );
    assert_eq!(about_key[1]["data"]["before"]["role"], "staff");
    assert_eq!(about_key[1]["data"]["after"]["role"], "viewer");
    assert!(!log.body.to_string().contains(&secret[3..]));
    // Viewers read the log, but not who holds which key.
    let seen = app.get("/v1/events?since=0", &app.viewer).await;
    assert!(
        events_of(
            &seen.body,
            &["ApiKeyCreated", "ApiKeyRevoked", "TenantCreated"]
        )
        .is_empty()
    );
    assert!(!events_of(&seen.body, &["BranchCreated"]).is_empty());
}

async fn a_revoked_or_expired_key_is_refused_from_its_next_request(app: TestApp) {
    let staff_id = key_id(&app, "reception").await;
    assert_eq!(
        app.get("/v1/branches", &app.staff).await.status,
        StatusCode::OK
    );
    let path = format!("/v1/keys/{staff_id}");
    let revoked = app
        .call(Method::DELETE, &path, Some(&app.admin), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let refused = app.get("/v1/branches", &app.staff).await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::UNAUTHORIZED, "/problems/unauthorized")
    );
    let again = app
        .call(Method::DELETE, &path, Some(&app.admin), None)
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "revoking twice is fine"
    );
    let listed = app.get(&path, &app.admin).await;
    assert_eq!(listed.body["status"], "revoked");
    assert!(listed.body["revoked_at"].is_string());
    let log = app.get("/v1/events?type=ApiKeyRevoked", &app.admin).await;
    assert_eq!(
        log.body["items"].as_array().map(Vec::len),
        Some(1),
        "one revocation, one event"
    );
    let patched = app
        .call(
            Method::PATCH,
            &path,
            Some(&app.admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(
        (patched.status, patched.problem()),
        (StatusCode::CONFLICT, "/problems/key-revoked")
    );

    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let made = app
        .post(
            "/v1/keys",
            &app.admin,
            json!({"role": "viewer", "actor": "temp", "expires_at": soon}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let temp = made.body["api_key"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/branches", &temp).await.status, StatusCode::OK);
    tokio::time::sleep_until(
        tokio::time::Instant::now() + (soon - chrono::Utc::now()).to_std().unwrap_or_default(),
    )
    .await;
    assert_eq!(
        app.get("/v1/branches", &temp).await.status,
        StatusCode::UNAUTHORIZED,
        "an expired key is refused"
    );
    let id = made.body["id"].as_str().unwrap();
    let listed = app.get(&format!("/v1/keys/{id}"), &app.admin).await;
    assert_eq!(listed.body["status"], "expired");
}

async fn the_last_active_admin_key_can_be_neither_revoked_nor_demoted(app: TestApp) {
    let admin_id = key_id(&app, "admin").await;
    let path = format!("/v1/keys/{admin_id}");
    for (method, body) in [
        (Method::DELETE, None),
        (Method::PATCH, Some(json!({"role": "staff"}))),
    ] {
        let r = app
            .call(method.clone(), &path, Some(&app.admin), body)
            .await;
        assert_eq!(
            (r.status, r.problem()),
            (StatusCode::CONFLICT, "/problems/last-admin-key"),
            "{method}"
        );
    }
    let second = app
        .post(
            "/v1/keys",
            &app.admin,
            json!({"role": "admin", "actor": "owner"}),
        )
        .await;
    let second_secret = second.body["api_key"].as_str().unwrap().to_owned();
    let revoked = app
        .call(Method::DELETE, &path, Some(&app.admin), None)
        .await;
    assert_eq!(
        revoked.status,
        StatusCode::NO_CONTENT,
        "with another admin key, an admin may revoke its own"
    );
    assert_eq!(
        app.get("/v1/keys", &app.admin).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/v1/keys", &second_secret).await.status,
        StatusCode::OK
    );
}
