//! Three server nodes built as the server builds them (`booking-app`),
//! sharing one PostgreSQL database and one valkey-server (lock and
//! backplane), with real WebSocket clients: a change made through one node
//! reaches clients of another, racing nodes admit one booking of a slot, a
//! Valkey restart loses nothing, tenants stay apart.

use std::time::{Duration, Instant};

use booking_app::Config;
use booking_core::{Role, Seq, Services};
use booking_test_services::valkey::ValkeyServer;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{new_key, new_tenant, serve};

struct Node {
    http: String,
    ws: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

use crate::helpers::{Client, open_stream};

async fn subscribe(node: &Node, key: &str, since: u64) -> Client {
    open_stream(&format!("{}?since={since}", node.ws), key).await
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
    c: Node,
    services: Services,
    client: reqwest::Client,
}

impl Cluster {
    fn nodes(&self) -> [&Node; 3] {
        [&self.a, &self.b, &self.c]
    }
}

async fn cluster(valkey: &ValkeyServer, heartbeat: Duration) -> Cluster {
    cluster_at(valkey.url(), heartbeat).await
}

async fn cluster_at(valkey_url: String, heartbeat: Duration) -> Cluster {
    let mut config = Config::new(crate::helpers::postgres().await);
    config.valkey_url = Some(valkey_url);
    config.backplane_secret = Some("the cluster test's shared secret".into());
    config.stream_heartbeat = heartbeat;
    let mut nodes = Vec::new();
    let mut services = None;
    for _ in 0..3 {
        let (http, node_services, stop) = serve(config.clone()).await;
        services.get_or_insert(node_services);
        let ws = format!("{}/v1/stream", http.replacen("http://", "ws://", 1));
        nodes.push(Node {
            http,
            ws,
            _stop: stop,
        });
    }
    let [a, b, c] = <[Node; 3]>::try_from(nodes).unwrap_or_else(|_| unreachable!());
    Cluster {
        a,
        b,
        c,
        services: services.expect("three nodes"),
        client: reqwest::Client::new(),
    }
}

/// A tenant with a resource at a branch, made through node A; returns
/// (staff key, branch, resource).
async fn clinic(c: &Cluster) -> (String, String, String) {
    let (tenant, admin) = new_tenant(&c.services, "Cluster Dental").await;
    let staff = new_key(&c.services, tenant, Role::Staff, "reception").await;
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
    book_on(c, &c.a, staff, branch, resource, slot).await.0
}

/// Books slot `slot` (15 minutes each from 2030-01-07 00:00Z) through
/// `node`; the status and whether the node said it ran degraded.
async fn book_on(
    c: &Cluster,
    node: &Node,
    staff: &str,
    branch: &str,
    resource: &str,
    slot: i64,
) -> (u16, bool) {
    let start = chrono::DateTime::parse_from_rfc3339("2030-01-07T00:00:00Z").unwrap()
        + chrono::Duration::minutes(slot * 15);
    let end = start + chrono::Duration::minutes(15);
    let body = json!({"branch_id": branch, "resource_id": resource, "starts_at": start.to_rfc3339(), "ends_at": end.to_rfc3339()});
    let response = c
        .client
        .post(format!("{}/v1/reservations", node.http))
        .bearer_auth(staff)
        .json(&body)
        .send()
        .await
        .unwrap();
    let degraded = response.headers().contains_key("booking-degraded");
    (response.status().as_u16(), degraded)
}

async fn head(services: &Services, staff: &str) -> u64 {
    let key = services
        .access()
        .authenticate(staff)
        .await
        .unwrap()
        .unwrap();
    services
        .events()
        .all(
            key.tenant_id,
            &booking_core::EventQuery::since(Seq::ZERO, 1000),
        )
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.seq.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_every_node_see_a_booking_made_through_node_a() {
    let valkey = ValkeyServer::start();
    let c = cluster(&valkey, Duration::from_secs(30)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&c.services, &staff).await;
    let mut clients = Vec::new();
    for node in c.nodes() {
        clients.push(subscribe(node, &staff, since).await);
    }
    assert_eq!(book(&c, &staff, &branch, &resource, 1).await, 201);
    for client in &mut clients {
        assert_eq!(
            next_seq(client, Duration::from_secs(2)).await,
            Some(since + 1)
        );
    }
}

/// Valkey as production should run it (`docs/valkey.acl`: the default
/// user off, a `booking` user limited to the project's keys, channels and
/// commands): the nodes lock (not degraded) and push to each other through
/// that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_works_through_the_documented_acl_user() {
    let password = "a-test-password-for-the-acl";
    let acl = include_str!("../../docs/valkey.acl").replace("CHANGE-ME", password);
    let valkey = ValkeyServer::start_with_acl(&acl);
    let c = cluster_at(valkey.url_as("booking", password), Duration::from_secs(30)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&c.services, &staff).await;
    let mut on_b = subscribe(&c.b, &staff, since).await;
    let mut on_c = subscribe(&c.c, &staff, since).await;
    assert_eq!(
        book_on(&c, &c.a, &staff, &branch, &resource, 1).await,
        (201, false),
        "locked through Valkey, not degraded"
    );
    for client in [&mut on_b, &mut on_c] {
        assert_eq!(
            next_seq(client, Duration::from_secs(2)).await,
            Some(since + 1)
        );
    }
}

/// Racing clients on three nodes for one slot: the shared lock admits one
/// booking (not degraded), the rest hear 409, and every node's stream
/// carries exactly that one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_nodes_admit_exactly_one_booking_of_a_slot() {
    let valkey = ValkeyServer::start();
    let c = cluster(&valkey, Duration::from_secs(30)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&c.services, &staff).await;
    let mut on_c = subscribe(&c.c, &staff, since).await;
    let attempts = (0..30).map(|i| {
        let node = c.nodes()[i % 3];
        book_on(&c, node, &staff, &branch, &resource, 7)
    });
    let results = futures::future::join_all(attempts).await;
    let won: Vec<_> = results.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(!won[0].1, "the winner held the shared lock");
    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{results:?}"
    );
    assert_eq!(
        received(&mut on_c, Duration::from_secs(1)).await,
        vec![since + 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valkey_restart_loses_no_event_and_live_push_resumes() {
    let mut valkey = ValkeyServer::start();
    // Heartbeats fill gaps at the tail: every 2 s here.
    let c = cluster(&valkey, Duration::from_secs(2)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&c.services, &staff).await;
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

    valkey.restart();
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
    let (other, _) = new_tenant(&c.services, "Other").await;
    let other_key = new_key(&c.services, other, Role::Viewer, "x").await;
    let mut outsider = subscribe(&c.b, &other_key, 0).await;
    let since = head(&c.services, &staff).await;
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

/// A key revoked through node A is refused at once by every node, and its
/// open streams on nodes B and C are closed (the revocation travels as an
/// event, like any other change); the streams of other keys stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_through_one_node_is_refused_and_its_streams_closed_on_every_node() {
    let valkey = ValkeyServer::start();
    // Heartbeats far apart: the closing comes from the revocation itself.
    let c = cluster(&valkey, Duration::from_secs(60)).await;
    let (tenant, admin) = new_tenant(&c.services, "Revoking Dental").await;
    let other = new_key(&c.services, tenant, Role::Viewer, "display").await;
    let made: serde_json::Value = c
        .client
        .post(format!("{}/v1/keys", c.a.http))
        .bearer_auth(&admin)
        .json(&json!({"role": "viewer", "actor": "lost tablet"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        made["id"].as_str().unwrap().to_owned(),
        made["api_key"].as_str().unwrap().to_owned(),
    );
    let since = head(&c.services, &other).await;
    let mut on_b = subscribe(&c.b, &secret, since).await;
    let mut on_c = subscribe(&c.c, &secret, since).await;
    let mut bystander = subscribe(&c.c, &other, since).await;
    let get = |node: &Node, key: &str| {
        c.client
            .get(format!("{}/v1/branches", node.http))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(get(&c.b, &secret).await.unwrap().status(), 200);

    let revoked = c
        .client
        .delete(format!("{}/v1/keys/{id}", c.a.http))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let started = Instant::now();
    for node in c.nodes() {
        assert_eq!(
            get(node, &secret).await.unwrap().status(),
            401,
            "refused from the next request, on every node"
        );
    }
    for stream in [&mut on_b, &mut on_c] {
        assert_eq!(
            closed_with(stream, Duration::from_secs(5)).await,
            Some(1008),
            "the revoked key's stream is closed"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed within seconds: {:?}",
        started.elapsed()
    );
    assert_eq!(get(&c.c, &other).await.unwrap().status(), 200);
    assert_eq!(
        closed_with(&mut bystander, Duration::from_millis(500)).await,
        None,
        "another key's stream stays open"
    );
}

/// The close code the stream ends with within `wait` (events before it are
/// skipped); `None` if it stays open.
async fn closed_with(client: &mut Client, wait: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, client.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Some(1006),
        }
    }
}

/// Publishes `payload` on `channel` straight to Valkey (as anyone who can
/// reach it could), in the wire protocol.
async fn publish_raw(valkey: &ValkeyServer, channel: &str, payload: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = valkey.url().trim_start_matches("redis://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut command = String::from("*3\r\n$7\r\nPUBLISH\r\n");
    for part in [channel, payload] {
        command.push_str(&format!("${}\r\n{part}\r\n", part.len()));
    }
    tcp.write_all(command.as_bytes()).await.unwrap();
    let mut answer = [0u8; 64];
    let n = tcp.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b":"), "{:?}", &answer[..n]);
}

/// Messages put on the backplane by someone without the nodes' secret (no
/// MAC, another secret's), or with it but wrong (another tenant's events
/// on the channel, numbers that jump), reach no client: the first event a
/// stream sends after them is the real booking, under the number the
/// forgeries claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_backplane_messages_reach_no_client() {
    use booking_valkey_backplane::BackplaneSettings;
    let valkey = ValkeyServer::start();
    let c = cluster(&valkey, Duration::from_secs(30)).await;
    let (staff, branch, resource) = clinic(&c).await;
    let since = head(&c.services, &staff).await;
    let tenant = c
        .services
        .access()
        .authenticate(&staff)
        .await
        .unwrap()
        .unwrap()
        .tenant_id;
    let mut on_b = subscribe(&c.b, &staff, since).await;
    let forged = booking_testkit::fixture::stock_events;
    let real = BackplaneSettings::new(valkey.url(), "the cluster test's shared secret").unwrap();
    let wrong = BackplaneSettings::new(valkey.url(), "not the nodes' secret at all").unwrap();
    let channel = real.channel(tenant);
    let next = since + 1;
    let mine = forged(tenant, &[next]);
    for message in [
        serde_json::to_string(&mine).unwrap(),
        format!("00.{}", serde_json::to_string(&mine).unwrap()),
        wrong.seal(&channel, &mine).unwrap(),
        real.seal(
            &channel,
            &forged(booking_core::TenantId::generate(), &[next]),
        )
        .unwrap(),
        real.seal(&channel, &forged(tenant, &[next, next + 2]))
            .unwrap(),
    ] {
        publish_raw(&valkey, &channel, &message).await;
    }
    // Signed right and in order, but on another tenant's channel: the MAC
    // covers the channel, so it does not open there either.
    let other = real.channel(booking_core::TenantId::generate());
    publish_raw(&valkey, &other, &real.seal(&channel, &mine).unwrap()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(book(&c, &staff, &branch, &resource, 3).await, 201);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let first = loop {
        match tokio::time::timeout_at(deadline, on_b.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                if v["seq"].is_u64() {
                    break v;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no event reached the client: {other:?}"),
        }
    };
    assert_eq!(first["seq"], next);
    assert_eq!(first["type"], "ReservationCreated", "{first}");
    assert!(
        received(&mut on_b, Duration::from_millis(500))
            .await
            .is_empty(),
        "nothing else"
    );
}
