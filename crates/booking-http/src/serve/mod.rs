//! Serving a router on a listener, bounded: no connection can hold a node
//! hostage, whatever it sends or does not send.
//!
//! - A connection must send a request's whole header within
//!   [`ServeSettings::header_read_timeout`] of opening, and of its last
//!   answer (so the same timeout closes idle keep-alive connections);
//!   hyper enforces it with tokio's timer.
//! - Open connections are capped per node and, optionally, per peer
//!   address; at a cap the longest-idle connection gives way
//!   (`registry.rs`), so `/healthz` answers while a client holds hundreds
//!   of half-sent requests open.
//! - A connection upgraded to a WebSocket gets a small kernel send buffer
//!   ([`ServeSettings::upgraded_send_buffer`]): a stream whose reader
//!   stopped holds that much, not the megabytes the kernel would grow it
//!   to, and its send timeout fires.
//! - Handlers see the peer's address as `ConnectInfo<SocketAddr>`.

mod registry;
mod socket;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use registry::{Caps, Handle, Registry};
use socket::{SendBuffer, Socket};

/// How a node serves connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeSettings {
    /// A request's whole header must arrive within this, counted from the
    /// connection's start or its last answer (so it is also how long an
    /// idle keep-alive connection stays open).
    pub header_read_timeout: Duration,
    /// Open connections on the node, WebSocket streams included. Keep it
    /// below the process's file descriptor limit ([`fit_to_descriptors`]).
    pub max_connections: usize,
    /// Open connections from one peer address (`0`: no cap). Behind a
    /// proxy or load balancer every client has its address: leave it 0
    /// there and cap at the proxy.
    pub max_connections_per_address: usize,
    /// `SO_SNDBUF` of a connection once it is upgraded to a WebSocket
    /// (`None`: the kernel's own, which grows to megabytes).
    pub upgraded_send_buffer: Option<usize>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 25_000,
            max_connections_per_address: 0,
            upgraded_send_buffer: Some(64 * 1024),
        }
    }
}

/// Descriptors kept for everything but client connections: the database
/// pool, Valkey, the listeners, files, the runtime.
pub const RESERVED_DESCRIPTORS: u64 = 256;

/// `max_connections` lowered to fit a process allowed `descriptors` open
/// files, keeping [`RESERVED_DESCRIPTORS`] for the rest (at least 16
/// connections).
#[must_use]
pub fn fit_to_descriptors(max_connections: usize, descriptors: u64) -> usize {
    let room = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    max_connections.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish (idle connections close at once).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    settings: ServeSettings,
) -> std::io::Result<()> {
    let registry = Registry::new(Caps {
        total: settings.max_connections,
        per_address: settings.max_connections_per_address,
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let (stop, stopping) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        // Reap finished connections as we go.
        while connections.try_join_next().is_some() {}
        let admitted = match registry.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(full) => {
                tracing::debug!(?full, "connection refused: every connection is busy");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let send_buffer = Arc::new(SendBuffer::default());
        let socket = Socket::new(stream, admitted.handle.clone(), send_buffer.clone());
        let service = PerConnection {
            router: router.clone(),
            peer,
            place: admitted.handle,
            send_buffer,
            upgraded_send_buffer: settings.upgraded_send_buffer,
        };
        let connection = http
            .serve_connection(TokioIo::new(socket), service)
            .with_upgrades();
        connections.spawn(run(connection, admitted.evicted, stopping.clone()));
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One connection as hyper serves it.
type Connection = hyper::server::conn::http1::UpgradeableConnection<TokioIo<Socket>, PerConnection>;

/// Runs one connection until it ends, gives way to a newcomer, or the node
/// stops (then it finishes its request and closes).
async fn run(
    connection: Connection,
    evicted: Arc<tokio::sync::Notify>,
    mut stopping: watch::Receiver<bool>,
) {
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = evicted.notified() => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection => {}
        () = evicted.notified() => {}
    }
}

/// An accept that failed: a reset before it was taken is nothing; anything
/// else (out of descriptors) waits a little before trying again, as hyper
/// and axum do.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The router as one connection sees it: its peer's address in every
/// request, busy and idle marks for the registry, and the small send
/// buffer once the connection is upgraded.
#[derive(Clone)]
struct PerConnection {
    router: Router,
    peer: SocketAddr,
    place: Arc<Handle>,
    send_buffer: Arc<SendBuffer>,
    upgraded_send_buffer: Option<usize>,
}

impl hyper::service::Service<Request<Incoming>> for PerConnection {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        self.place.busy();
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let answer = self.router.clone().oneshot(req.map(Body::new));
        let (place, send_buffer, upgraded) = (
            self.place.clone(),
            self.send_buffer.clone(),
            self.upgraded_send_buffer,
        );
        Box::pin(async move {
            let Ok(response) = answer.await;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                // A stream now: busy for as long as it is open.
                if let Some(bytes) = upgraded {
                    send_buffer.ask(bytes);
                }
                return Ok(response);
            }
            Ok(response.map(|body| Body::new(IdleWhenSent { body, place })))
        })
    }
}

/// A response body that marks its connection idle once it has been sent
/// (or dropped): only then may the connection give way to a newcomer.
struct IdleWhenSent {
    body: Body,
    place: Arc<Handle>,
}

impl Drop for IdleWhenSent {
    fn drop(&mut self) {
        self.place.idle();
    }
}

impl http_body::Body for IdleWhenSent {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_the_rest_of_the_process() {
        assert_eq!(fit_to_descriptors(25_000, 1_024), 768);
        assert_eq!(fit_to_descriptors(25_000, 1_048_576), 25_000);
        assert_eq!(fit_to_descriptors(25_000, 100), 16);
    }

    /// A node serving `/healthz` with `settings`; its address, and the
    /// switch that stops it.
    async fn node(settings: ServeSettings) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = Router::new().route("/healthz", get(|| async { "ok" }));
        tokio::spawn(serve(
            listener,
            router,
            async {
                let _ = stopped.await;
            },
            settings,
        ));
        (at, stop)
    }

    const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

    /// Reads until the peer closes (`true`) or `within` passes (`false`).
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }

    async fn healthz(at: SocketAddr) -> String {
        let mut s = TcpStream::connect(at).await.unwrap();
        s.write_all(HEALTHZ).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("answered within 2 s")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn settings(timeout_ms: u64, max: usize) -> ServeSettings {
        ServeSettings {
            header_read_timeout: Duration::from_millis(timeout_ms),
            max_connections: max,
            ..ServeSettings::default()
        }
    }

    #[tokio::test]
    async fn a_half_sent_header_and_an_idle_keep_alive_are_closed_on_the_timeout() {
        let (at, _stop) = node(settings(300, 100)).await;
        let mut half = TcpStream::connect(at).await.unwrap();
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut kept = TcpStream::connect(at).await.unwrap();
        kept.write_all(HEALTHZ).await.unwrap();
        let mut buf = [0u8; 512];
        let n = kept.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let started = Instant::now();
        assert!(closed_within(&mut half, Duration::from_secs(3)).await);
        assert!(closed_within(&mut kept, Duration::from_secs(3)).await);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn at_the_cap_a_newcomer_is_answered_and_the_oldest_silent_connection_goes() {
        let (at, _stop) = node(settings(60_000, 4)).await;
        let mut silent = Vec::new();
        for _ in 0..4 {
            let mut s = TcpStream::connect(at).await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            silent.push(s);
        }
        // Let the node take them all before the newcomer.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for round in 0..3 {
            let answer = healthz(at).await;
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "round {round}: {answer}"
            );
        }
        assert!(
            closed_within(&mut silent[0], Duration::from_secs(1)).await,
            "the longest silent connection gave way"
        );
    }

    #[tokio::test]
    async fn a_stopping_node_lets_an_open_connection_finish_and_close() {
        let (at, stop) = node(settings(60_000, 100)).await;
        let mut idle = TcpStream::connect(at).await.unwrap();
        idle.write_all(HEALTHZ).await.unwrap();
        let mut buf = [0u8; 512];
        assert!(idle.read(&mut buf).await.unwrap() > 0);
        stop.send(()).unwrap();
        assert!(closed_within(&mut idle, Duration::from_secs(2)).await);
    }
}
