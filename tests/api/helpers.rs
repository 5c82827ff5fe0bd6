//! `TestApp`: the router served on port 0 with a fresh database, a tenant
//! with admin, staff and viewer keys, and request helpers.

use booking_app::{App, Config, Database};
use booking_core::{Actor, Attribution, KeySpec, Name, Role, Services, TenantId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) services: Services,
    pub(crate) admin: String,
    pub(crate) staff: String,
    pub(crate) viewer: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A response's status and JSON body (or `Null`).
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Value,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The problem `type`, for refusals.
    pub(crate) fn problem(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub(crate) async fn spawn(backend: Backend) -> Self {
        Self::spawn_on(database(backend).await).await
    }

    /// A node on `database` (which a test may also open directly).
    pub(crate) async fn spawn_on(database: Database) -> Self {
        Self::spawn_with(Config::new(database)).await
    }

    /// A node built from `config` (a generous lock wait and request limits
    /// out of the way, for tests that race many clients on two cores).
    pub(crate) async fn spawn_with(mut config: Config) -> Self {
        config.lock_wait = std::time::Duration::from_secs(30);
        let (base, services, shutdown) = serve(config).await;
        let (tenant, admin) = new_tenant(&services, "Smile Dental").await;
        let staff = new_key(&services, tenant, Role::Staff, "reception").await;
        let viewer = new_key(&services, tenant, Role::Viewer, "auditor").await;
        Self {
            base,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            services,
            admin,
            staff,
            viewer,
            _shutdown: shutdown,
        }
    }

    /// The router over the in-memory adapters (the same engine as the SQL
    /// stores) with `clock`, served on a free port; its tenant has the same
    /// three keys. For what a real store cannot do on demand: fail a step,
    /// or let time pass.
    pub(crate) async fn in_memory(
        store: std::sync::Arc<booking_memory::InMemoryStore>,
        clock: std::sync::Arc<dyn booking_core::Clock>,
    ) -> (Self, TenantId) {
        Self::in_memory_with(store, clock, |state| state).await
    }

    /// [`TestApp::in_memory`] with its state tuned (timeouts, leases).
    pub(crate) async fn in_memory_with(
        store: std::sync::Arc<booking_memory::InMemoryStore>,
        clock: std::sync::Arc<dyn booking_core::Clock>,
        tune: impl FnOnce(booking_http::AppState) -> booking_http::AppState,
    ) -> (Self, TenantId) {
        use std::sync::Arc;
        let services = Services::new(
            booking_core::Ports {
                store,
                locks: Arc::new(booking_memory::InMemoryLocks::new()),
                broadcaster: Arc::new(booking_memory::InMemoryBroadcaster::default()),
                clock,
            },
            booking_core::BookingPolicy::default(),
        );
        let router = booking_http::router(tune(
            booking_http::AppState::new(services.clone()).with_limits(unlimited()),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(booking_http::serve(
            listener,
            router,
            async {
                let _ = stopped.await;
            },
            booking_http::ServeSettings::default(),
        ));
        let (tenant, admin) = new_tenant(&services, "Memory Dental").await;
        let staff = new_key(&services, tenant, Role::Staff, "reception").await;
        let viewer = new_key(&services, tenant, Role::Viewer, "auditor").await;
        let app = Self {
            base,
            client: reqwest::Client::new(),
            services,
            admin,
            staff,
            viewer,
            _shutdown: shutdown,
        };
        (app, tenant)
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        reply(req.send().await.expect("the server answers")).await
    }

    pub(crate) async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub(crate) async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(key), Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str, key: &str) -> Reply {
        self.call(Method::DELETE, path, Some(key), None).await
    }

    /// A clinic made through the API: a branch (Europe/Madrid), a dentist
    /// working there 09–17 on weekdays, a chair without hours, a service
    /// with a 10-minute buffer and a branch price, a product with stock 10.
    pub(crate) async fn clinic(&self) -> Clinic {
        let id = |r: &Reply| r.body["id"].as_str().expect("an id").to_owned();
        let branch = self
            .post(
                "/v1/branches",
                &self.admin,
                json!({"name": "Madrid", "time_zone": "Europe/Madrid"}),
            )
            .await;
        assert_eq!(branch.status, StatusCode::CREATED, "{}", branch.body);
        let branch = id(&branch);
        let dentist = id(&self
            .post(
                "/v1/resources",
                &self.admin,
                json!({"name": "Dr. Vega", "kind": "staff"}),
            )
            .await);
        let chair = id(&self
            .post(
                "/v1/resources",
                &self.admin,
                json!({"name": "Chair", "kind": "room"}),
            )
            .await);
        let hours = json!({"working_hours": {"monday": [["09:00", "17:00"]], "tuesday": [["09:00", "17:00"]], "wednesday": [["09:00", "17:00"]], "thursday": [["09:00", "17:00"]], "friday": [["09:00", "17:00"]]}});
        let linked = self
            .put(
                &format!("/v1/resources/{dentist}/branches/{branch}"),
                &self.admin,
                hours,
            )
            .await;
        assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
        let linked = self
            .put(
                &format!("/v1/resources/{chair}/branches/{branch}"),
                &self.admin,
                json!({}),
            )
            .await;
        assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
        let service = id(&self
            .post("/v1/services", &self.admin, json!({"name": "Cleaning", "duration_minutes": 30, "price": {"amount_minor": 6000, "currency": "EUR"}, "buffer_after_minutes": 10}))
            .await);
        let priced = self
            .put(
                &format!("/v1/services/{service}/branches/{branch}"),
                &self.admin,
                json!({"price": {"amount_minor": 5500, "currency": "EUR"}}),
            )
            .await;
        assert_eq!(priced.status, StatusCode::OK, "{}", priced.body);
        let product = id(&self
            .post(
                "/v1/products",
                &self.admin,
                json!({"name": "Kit", "price": {"amount_minor": 2500, "currency": "EUR"}}),
            )
            .await);
        let stocked = self
            .put(
                &format!("/v1/products/{product}/branches/{branch}"),
                &self.admin,
                json!({"stock": 10}),
            )
            .await;
        assert_eq!(stocked.status, StatusCode::OK, "{}", stocked.body);
        Clinic {
            branch,
            dentist,
            chair,
            service,
            product,
        }
    }
}

pub(crate) struct Clinic {
    pub(crate) branch: String,
    pub(crate) dentist: String,
    pub(crate) chair: String,
    pub(crate) service: String,
    pub(crate) product: String,
}

impl Clinic {
    /// A booking body for the dentist on Monday 2030-01-07 (Madrid is
    /// UTC+1: 10:00 UTC is 11:00 local, inside the hours).
    pub(crate) fn booking(&self, start: &str, end: &str) -> Value {
        json!({"branch_id": self.branch, "resource_id": self.dentist, "starts_at": start, "ends_at": end})
    }
}

pub(crate) async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        body,
        headers,
    }
}

/// A fresh database of the kind asked for: a SQLite file in a new
/// directory, or a scratch PostgreSQL database cloned from the migrated
/// template.
pub(crate) async fn database(backend: Backend) -> Database {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir").keep();
            Database::Sqlite(dir.join("b.db"))
        }
        Backend::Postgres => postgres().await,
    }
}

/// A scratch PostgreSQL database, as a node's configuration names it.
pub(crate) async fn postgres() -> Database {
    let name = booking_test_services::postgres::scratch_name(&booking_postgres::MIGRATOR).await;
    Database::Postgres {
        url: booking_test_services::postgres::url_of(&name),
        pool: 20,
    }
}

/// Builds a node from `config` exactly as the server does and serves it on
/// a free port until the returned sender is dropped; returns its base URL
/// and its use cases.
/// A node built from `config`, served on a free port. Request limits left
/// at their defaults are lifted: tests race bursts of clients with one key
/// (the limits have tests of their own).
pub(crate) async fn serve(
    mut config: Config,
) -> (String, Services, tokio::sync::oneshot::Sender<()>) {
    if config.request_limits == booking_app::RequestLimits::default() {
        config.request_limits = unlimited();
    }
    let app = App::build(config).await.expect("build the node");
    let services = app.services().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, None, async {
        let _ = rx.await;
    }));
    (base, services, tx)
}

/// Request limits no test's burst of clients reaches.
pub(crate) fn unlimited() -> booking_app::RequestLimits {
    booking_app::RequestLimits {
        per_key: 1_000_000,
        per_tenant: 1_000_000,
        in_flight_per_key: 100_000,
        in_flight_per_tenant: 100_000,
        auth_failures_per_address: 0,
    }
}

pub(crate) async fn new_key(
    services: &Services,
    tenant: TenantId,
    role: Role,
    actor: &str,
) -> String {
    let spec = KeySpec {
        role,
        actor: Actor::new(actor).unwrap(),
        expires_at: None,
    };
    services
        .access()
        .create_key(tenant, spec, &operator())
        .await
        .unwrap()
        .secret
}

pub(crate) async fn new_tenant(services: &Services, name: &str) -> (TenantId, String) {
    let made = services
        .access()
        .provision_tenant(
            Name::new(name).unwrap(),
            Actor::new("admin").unwrap(),
            &operator(),
        )
        .await
        .unwrap();
    (made.tenant.id, made.admin.secret)
}

/// Who the harness's own changes (tenants, first keys) are made by.
pub(crate) fn operator() -> Attribution {
    Attribution::named(Actor::new("test harness").unwrap())
}

/// Runs each listed test against SQLite and against PostgreSQL.
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_stores;

/// A WebSocket client of the event stream.
pub(crate) type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the stream at `url` (`ws://…/v1/stream?since=…`) with `key`.
pub(crate) async fn open_stream(url: &str, key: &str) -> Client {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let mut request = url.into_client_request().expect("a stream URL");
    request.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {key}")).expect("a key header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("connect the stream")
        .0
}

/// The `type`s of the event messages on `client` up to and including the
/// first of type `last`, waiting at most `wait` in all.
pub(crate) async fn event_types_until(
    client: &mut Client,
    last: &str,
    wait: std::time::Duration,
) -> Vec<String> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + wait;
    let mut types: Vec<String> = Vec::new();
    while types.last().is_none_or(|t| t != last)
        && let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, client.next()).await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            let v: Value = serde_json::from_str(&text).expect("a JSON message");
            if let Some(t) = v["type"].as_str()
                && v["seq"].is_u64()
            {
                types.push(t.to_owned());
            }
        }
    }
    types
}
