//! Two server nodes sharing PostgreSQL and Valkey, with real WebSocket
//! clients: a change made through one node reaches clients of the other
//! within a second, a Valkey restart loses nothing, tenants stay apart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use booking_core::{BookingPolicy, BookingService, BookingStore, Role, Seq, SystemClock};
use booking_testkit::memory::InMemoryLocks;
use booking_valkey_backplane::{BackplaneSettings, ValkeyBackplane};
use booking_valkey_lock::testing::ValkeyServer;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{new_key, new_tenant};

struct Node {
    http: String,
    ws: String,
}

async fn node(db: &str, valkey: &str, heartbeat: Duration) -> Node {
    let store: Arc<dyn BookingStore> = Arc::new(booking_postgres::PgStore::from_pool(
        booking_postgres::testing::pool_on(db, 10).await,
    ));
    let hub = booking_ws::Hub::new(1024);
    let backplane = ValkeyBackplane::start(BackplaneSettings::new(valkey), hub.clone()).unwrap();
    assert!(
        backplane.wait_connected(Duration::from_secs(5)).await,
        "the backplane connects"
    );
    let service = BookingService::new(
        store.clone(),
        Arc::new(InMemoryLocks::new()),
        backplane,
        Arc::new(SystemClock),
        BookingPolicy::default(),
    );
    let app = booking_http::router_with(
        booking_http::AppState::new(service),
        booking_ws::router(booking_ws::StreamState {
            store,
            hub,
            heartbeat,
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(booking_http::serve(listener, app, std::future::pending()));
    Node {
        http: format!("http://{address}"),
        ws: format!("ws://{address}/v1/stream"),
    }
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(node: &Node, key: &str, since: u64) -> Client {
    let mut request = format!("{}?since={since}", node.ws)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("connect the stream")
        .0
}

/// The seqs of event messages arriving within `wait` of the call.
async fn received(client: &mut Client, wait: Duration) -> Vec<u64> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seqs = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, client.next()).await {
        if let Message::Text(text) = message {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(seq) = v["seq"].as_u64() {
                seqs.push(seq);
            }
        }
    }
    seqs
}

/// The next event message's seq, waiting at most `wait`.
async fn next_seq(client: &mut Client, wait: Duration) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, client.next()).await {
        if let Message::Text(text) = message {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(seq) = v["seq"].as_u64() {
                return Some(seq);
            }
        }
    }
    None
}

struct Cluster {
    a: Node,
    b: Node,
    store: Arc<dyn BookingStore>,
    client: reqwest::Client,
}

async fn cluster(valkey: &ValkeyServer, heartbeat: Duration) -> Cluster {
    let (pool, db) = booking_postgres::testing::scratch_database(4).await;
    let store: Arc<dyn BookingStore> = Arc::new(booking_postgres::PgStore::from_pool(pool));
    let a = node(&db, &valkey.url(), heartbeat).await;
    let b = node(&db, &valkey.url(), heartbeat).await;
    Cluster {
        a,
        b,
        store,
        client: reqwest::Client::new(),
    }
}

/// A tenant with a resource at a branch, made through node A; returns
/// (staff key, branch, resource).
async fn clinic(c: &Cluster) -> (String, String, String) {
    let (tenant, admin) = new_tenant(&*c.store, "Cluster Dental").await;
    let staff = new_key(&*c.store, tenant, Role::Staff, "reception").await;
    let post = |path: &str, body: serde_json::Value| {
        let req = c
            .client
            .post(format!("{}{path}", c.a.http))
            .bearer_auth(&admin)
            .json(&body);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let branch = post(
        "/v1/branches",
        json!({"name": "Madrid", "time_zone": "Europe/Madrid"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resource = post("/v1/resources", json!({"name": "Dr. Vega"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.client
        .put(format!(
            "{}/v1/resources/{resource}/branches/{branch}",
            c.a.http
        ))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    (staff, branch, resource)
}

async fn book(c: &Cluster, staff: &str, branch: &str, resource: &str, slot: i64) -> u16 {
    let start = chrono::DateTime::parse_from_rfc3339("2030-01-07T00:00:00Z").unwrap()
        + chrono::Duration::minutes(slot * 15);
    let end = start + chrono::Duration::minutes(15);
    let body = json!({"branch_id": branch, "resource_id": resource, "starts_at": start.to_rfc3339(), "ends_at": end.to_rfc3339()});
    c.client
        .post(format!("{}/v1/reservations", c.a.http))
        .bearer_auth(staff)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn head(store: &dyn BookingStore, staff: &str) -> u64 {
    let key = store
        .api_key(&booking_core::KeyHash::of_secret(staff))
        .await
        .unwrap()
        .unwrap();
    store
        .events_since(key.tenant_id, Seq::ZERO, 100_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.seq.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_node_b_sees_a_booking_made_through_node_a_within_a_second() {
    let valkey = ValkeyServer::start();
    let c = cluster(&valkey, Duration::from_secs(30)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&*c.store, &staff).await;
    let mut on_b = subscribe(&c.b, &staff, since).await;
    let started = Instant::now();
    assert_eq!(book(&c, &staff, &branch, &resource, 1).await, 201);
    assert_eq!(
        next_seq(&mut on_b, Duration::from_secs(1)).await,
        Some(since + 1)
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valkey_restart_loses_no_event_and_live_push_resumes() {
    let mut valkey = ValkeyServer::start();
    let port = valkey.port;
    // Heartbeats fill gaps at the tail: every 2 s here.
    let c = cluster(&valkey, Duration::from_secs(2)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&*c.store, &staff).await;
    let mut on_b = subscribe(&c.b, &staff, since).await;

    valkey.kill();
    for slot in 0..10 {
        assert_eq!(
            book(&c, &staff, &branch, &resource, slot).await,
            201,
            "bookings go on without Valkey"
        );
    }
    let caught_up = received(&mut on_b, Duration::from_secs(5)).await;
    assert_eq!(
        caught_up,
        (since + 1..=since + 10).collect::<Vec<_>>(),
        "filled from the log"
    );

    let _valkey = ValkeyServer::start_on(port);
    // Every booking still arrives exactly once, in order (a heartbeat
    // fills it within 2 s if pub/sub is not back yet). Live push is back
    // when three in a row arrive in under half a heartbeat.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut expected = since + 11;
    let mut fast_in_a_row = 0;
    let mut slot = 100;
    while fast_in_a_row < 3 {
        assert!(
            Instant::now() < deadline,
            "live push did not resume within 20 s"
        );
        let started = Instant::now();
        assert_eq!(book(&c, &staff, &branch, &resource, slot).await, 201);
        assert_eq!(
            next_seq(&mut on_b, Duration::from_secs(3)).await,
            Some(expected),
            "each event once, in order"
        );
        fast_in_a_row = if started.elapsed() < Duration::from_millis(400) {
            fast_in_a_row + 1
        } else {
            0
        };
        expected += 1;
        slot += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_tenant_on_node_b_hears_nothing() {
    let valkey = ValkeyServer::start();
    let c = cluster(&valkey, Duration::from_secs(30)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let (other, _) = new_tenant(&*c.store, "Other").await;
    let other_key = new_key(&*c.store, other, Role::Viewer, "x").await;
    let mut outsider = subscribe(&c.b, &other_key, 0).await;
    let since = head(&*c.store, &staff).await;
    let mut insider = subscribe(&c.b, &staff, since).await;
    assert_eq!(book(&c, &staff, &branch, &resource, 1).await, 201);
    assert_eq!(
        next_seq(&mut insider, Duration::from_secs(1)).await,
        Some(since + 1)
    );
    assert!(
        received(&mut outsider, Duration::from_millis(500))
            .await
            .is_empty()
    );
}
