//! A change and its events commit together or not at all, for every
//! catalog and key endpoint: the in-memory store (the same engine and
//! primitives as the SQL stores) is made to fail the event append, after
//! the change was written in the same transaction; the request fails and
//! neither the change nor an event is left. The same request then succeeds
//! and records something, so the failure really was in the way.

use std::sync::Arc;

use booking_core::{EventQuery, Seq, SystemClock, TenantId};
use booking_memory::InMemoryStore;
use booking_testkit::catalog_log::CatalogState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_key};

struct MemoryApp {
    app: TestApp,
    store: Arc<InMemoryStore>,
    tenant: TenantId,
}

impl MemoryApp {
    async fn spawn() -> Self {
        let store = Arc::new(InMemoryStore::new());
        let (app, tenant) = TestApp::in_memory(store.clone(), Arc::new(SystemClock)).await;
        Self { app, store, tenant }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> crate::helpers::Reply {
        self.app
            .call(method, path, Some(&self.app.admin), body)
            .await
    }

    async fn id_of(&self, path: &str, body: Value) -> String {
        let r = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Everything a write could change: the catalog, the keys, the log.
    async fn state(
        &self,
    ) -> (
        CatalogState,
        Vec<booking_core::ApiKey>,
        Vec<booking_core::Event>,
    ) {
        let catalog = CatalogState::of_store(&*self.store, self.tenant)
            .await
            .unwrap();
        let keys = self.app.services.access().keys(self.tenant).await.unwrap();
        let events = self
            .app
            .services
            .events()
            .all(self.tenant, &EventQuery::since(Seq::ZERO, 1000))
            .await
            .unwrap();
        (catalog, keys, events)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalog_and_key_write_commits_with_its_events_or_not_at_all() {
    let app = MemoryApp::spawn().await;
    let eur = |minor: i64| json!({"amount_minor": minor, "currency": "EUR"});
    let branch = app
        .id_of(
            "/v1/branches",
            json!({"name": "Madrid", "time_zone": "Europe/Madrid"}),
        )
        .await;
    let spare_branch = app
        .id_of(
            "/v1/branches",
            json!({"name": "Porto", "time_zone": "Europe/Lisbon"}),
        )
        .await;
    let dentist = app
        .id_of("/v1/resources", json!({"name": "Dr. Vega"}))
        .await;
    let chair = app
        .id_of("/v1/resources", json!({"name": "Chair", "kind": "room"}))
        .await;
    let service = app
        .id_of(
            "/v1/services",
            json!({"name": "Cleaning", "duration_minutes": 30, "price": eur(6000)}),
        )
        .await;
    let spare_service = app
        .id_of(
            "/v1/services",
            json!({"name": "Polish", "duration_minutes": 15, "price": eur(1000)}),
        )
        .await;
    let kit = app
        .id_of("/v1/products", json!({"name": "Kit", "price": eur(2500)}))
        .await;
    let floss = app
        .id_of("/v1/products", json!({"name": "Floss", "price": eur(300)}))
        .await;
    let staff = new_key(
        &app.app.services,
        app.tenant,
        booking_core::Role::Staff,
        "reception",
    )
    .await;
    let staff_id = app
        .app
        .services
        .access()
        .authenticate(&staff)
        .await
        .unwrap()
        .unwrap()
        .id;

    let link = format!("/v1/resources/{dentist}/branches/{branch}");
    let price = format!("/v1/services/{service}/branches/{branch}");
    let stock = format!("/v1/products/{kit}/branches/{branch}");
    let floss_stock = format!("/v1/products/{floss}/branches/{branch}");
    let performer = format!("/v1/services/{service}/resources/{dentist}");
    // Every catalog and key endpoint that writes, in an order in which
    // each succeeds once the failure is out of the way.
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/branches".into(),
            Some(json!({"name": "Lisboa", "time_zone": "Europe/Lisbon"})),
        ),
        (
            Method::PUT,
            format!("/v1/branches/{branch}"),
            Some(json!({"name": "Madrid Centro", "time_zone": "Europe/Madrid"})),
        ),
        (
            Method::POST,
            "/v1/resources".into(),
            Some(json!({"name": "Dr. Costa"})),
        ),
        (
            Method::PUT,
            format!("/v1/resources/{dentist}"),
            Some(json!({"name": "Dr. Ana Vega", "kind": "staff"})),
        ),
        (
            Method::PUT,
            link.clone(),
            Some(json!({"working_hours": {"monday": [["09:00", "17:00"]]}})),
        ),
        (
            Method::PUT,
            link.clone(),
            Some(json!({"working_hours": {"monday": [["08:00", "17:00"]]}})),
        ),
        (
            Method::POST,
            "/v1/services".into(),
            Some(json!({"name": "Whitening", "duration_minutes": 60, "price": eur(20000)})),
        ),
        (
            Method::PUT,
            format!("/v1/services/{service}"),
            Some(json!({"name": "Cleaning", "duration_minutes": 45, "price": eur(6500)})),
        ),
        (
            Method::PUT,
            price.clone(),
            Some(json!({"price": eur(5500)})),
        ),
        (
            Method::POST,
            "/v1/products".into(),
            Some(json!({"name": "Brush", "price": eur(500)})),
        ),
        (
            Method::PUT,
            format!("/v1/products/{kit}"),
            Some(json!({"name": "Kit", "price": eur(2700)})),
        ),
        (
            Method::PUT,
            stock.clone(),
            Some(json!({"stock": 10, "price": eur(2400)})),
        ),
        (
            Method::POST,
            format!("{stock}/restock"),
            Some(json!({"quantity": 5})),
        ),
        (Method::PUT, floss_stock.clone(), Some(json!({"stock": 3}))),
        (
            Method::PUT,
            "/v1/settings".into(),
            Some(
                json!({"min_notice_minutes": 60, "horizon_days": 90, "hold_minutes": 10, "max_active_holds_per_key": 5}),
            ),
        ),
        (Method::PUT, performer.clone(), None),
        (Method::DELETE, performer, None),
        (Method::DELETE, floss_stock, None),
        (Method::DELETE, price, None),
        (Method::DELETE, link, None),
        (Method::DELETE, format!("/v1/resources/{chair}"), None),
        (
            Method::DELETE,
            format!("/v1/services/{spare_service}"),
            None,
        ),
        (Method::DELETE, format!("/v1/products/{floss}"), None),
        (Method::DELETE, format!("/v1/branches/{spare_branch}"), None),
        (
            Method::POST,
            "/v1/keys".into(),
            Some(json!({"role": "viewer", "actor": "auditor"})),
        ),
        (
            Method::PATCH,
            format!("/v1/keys/{staff_id}"),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("/v1/keys/{staff_id}"), None),
    ];
    for (method, path, body) in writes {
        let before = app.state().await;
        app.store.fail_next("append").await;
        let failed = app.call(method.clone(), &path, body.clone()).await;
        assert!(
            failed.status.is_server_error(),
            "{method} {path} with the append failing: {} {}",
            failed.status,
            failed.body
        );
        assert!(
            app.state().await == before,
            "{method} {path}: the change stayed although its events were not written"
        );
        let done = app.call(method.clone(), &path, body).await;
        assert!(
            done.status.is_success(),
            "{method} {path}: {} {}",
            done.status,
            done.body
        );
        let after = app.state().await;
        assert!(
            after.2.len() > before.2.len(),
            "{method} {path} records its change"
        );
        assert_eq!(
            CatalogState::of_events(&after.2).unwrap(),
            after.0,
            "{method} {path}: the catalog is what its events say"
        );
    }
}

/// A POST with an `Idempotency-Key` whose outcome the store could not take
/// right then (the database restarting): the outcome is recorded in the
/// background as soon as it can be, so the retry gets the replay, not "in
/// progress" until the record is purged. Found by `booking-load check
/// --faults pg-restart`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_outcome_the_store_could_not_take_at_once_is_settled_later() {
    let app = MemoryApp::spawn().await;
    let post = |key: &'static str, body: Value| {
        app.app
            .client
            .post(format!("{}/v1/branches", app.app.base))
            .bearer_auth(&app.app.admin)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let body = json!({"name": "Lyon", "time_zone": "Europe/Paris"});

    // Done, but its outcome not recorded at once.
    app.store.fail_next("finish_idempotency").await;
    let first = post("branch-1", body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let started = std::time::Instant::now();
    let again = post("branch-1", body.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the retry waited {:?}",
        started.elapsed()
    );

    // Failed (5xx), and its claim not let go at once.
    app.store.fail_next("append").await;
    app.store.fail_next("abandon_idempotency").await;
    let failed = post("branch-2", body.clone()).await.unwrap();
    let status = failed.status();
    assert!(status.is_server_error(), "{status}");
    let started = std::time::Instant::now();
    let retried = post("branch-2", body).await.unwrap();
    let status = retried.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the retry runs again: {}",
        retried.text().await.unwrap()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

/// A claim whose answer is lost on the way (the connection cut after the
/// claim was committed): the node cannot know it claimed the key, so it
/// forgets the claim made at that instant once the store answers, and the
/// retry runs instead of waiting "in progress" until the record is purged.
/// Seen once in `booking-load check --faults net-cut`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_answer_was_lost_is_forgotten_and_the_retry_runs() {
    let app = MemoryApp::spawn().await;
    let post = || {
        app.app
            .client
            .post(format!("{}/v1/branches", app.app.base))
            .bearer_auth(&app.app.admin)
            .header("Idempotency-Key", "lost-answer")
            .json(&json!({"name": "Nice", "time_zone": "Europe/Paris"}))
            .send()
    };
    app.store.fail_next("claim_idempotency_answer").await;
    let lost = post().await.unwrap();
    assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
    let started = std::time::Instant::now();
    let retried = post().await.unwrap();
    let status = retried.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the retry runs: {}",
        retried.text().await.unwrap()
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the retry waited {:?}",
        started.elapsed()
    );
    let branches = app.call(Method::GET, "/v1/branches", None).await;
    let named = branches.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["name"] == "Nice")
        .count();
    assert_eq!(named, 1, "made once: {}", branches.body);
}
