//! A TCP fault proxy on loopback: the nodes reach PostgreSQL and Valkey
//! through it, and the harness delays or cuts their connections.
//!
//! - [`Proxy::delay`]: every byte, in both directions, is held back this
//!   long before it is passed on (order kept); zero for none.
//! - [`Proxy::cut`]: every open connection is closed at once, and new ones
//!   are accepted and closed at once, until [`Proxy::heal`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug)]
struct State {
    delay_ms: AtomicU64,
    cut: AtomicBool,
    /// Bumped on every cut: connections of an older generation close.
    generation: watch::Sender<u64>,
    connections: AtomicU64,
}

/// A running proxy (stops with the runtime).
#[derive(Clone, Debug)]
pub(crate) struct Proxy {
    state: Arc<State>,
    /// Where it listens.
    pub(crate) port: u16,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub(crate) async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            delay_ms: AtomicU64::new(0),
            cut: AtomicBool::new(false),
            generation: watch::channel(0).0,
            connections: AtomicU64::new(0),
        });
        let accepting = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if accepting.cut.load(Ordering::Relaxed) {
                    drop(inbound);
                    continue;
                }
                accepting.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(inbound, target, accepting.clone()));
            }
        });
        Ok(Self { state, port })
    }

    /// Holds every byte back `delay` from now on (zero: none).
    pub(crate) fn delay(&self, delay: Duration) {
        self.state.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Closes every open connection and refuses new ones until healed.
    pub(crate) fn cut(&self) {
        self.state.cut.store(true, Ordering::Relaxed);
        self.state.generation.send_modify(|g| *g += 1);
    }

    /// Lets connections through again (with no delay).
    pub(crate) fn heal(&self) {
        self.delay(Duration::ZERO);
        self.state.cut.store(false, Ordering::Relaxed);
    }

    /// Connections accepted so far.
    pub(crate) fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }
}

async fn connection(inbound: TcpStream, target: SocketAddr, state: Arc<State>) {
    let mut cuts = state.generation.subscribe();
    cuts.mark_unchanged();
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let both = async {
        tokio::join!(
            pipe(in_read, out_write, state.clone()),
            pipe(out_read, in_write, state.clone())
        );
    };
    tokio::select! {
        () = both => {}
        _ = cuts.changed() => {}
    }
    // Dropping both halves of both sockets closes the connection.
}

/// Copies one direction, each chunk after the delay in force when it was
/// read (a reader task and a writer task, so a delay does not slow the
/// reading down, only the delivery).
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<State>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let delay = Duration::from_millis(state.delay_ms.load(Ordering::Relaxed));
                    if tx
                        .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream) -> std::io::Result<Duration> {
        let started = tokio::time::Instant::now();
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping");
        Ok(started.elapsed())
    }

    #[tokio::test]
    async fn it_forwards_delays_cuts_and_heals() {
        let proxy = Proxy::start(echo_server().await).await.expect("proxy");
        let mut s = TcpStream::connect(("127.0.0.1", proxy.port))
            .await
            .expect("connect");
        assert!(round_trip(&mut s).await.expect("through") < Duration::from_millis(100));

        proxy.delay(Duration::from_millis(150));
        let slow = round_trip(&mut s).await.expect("delayed");
        assert!(slow >= Duration::from_millis(300), "both ways: {slow:?}");

        proxy.cut();
        let mut buf = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("closed at once");
        assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
        let mut refused = TcpStream::connect(("127.0.0.1", proxy.port))
            .await
            .expect("accepted");
        assert!(round_trip(&mut refused).await.is_err(), "closed while cut");

        proxy.heal();
        let mut again = TcpStream::connect(("127.0.0.1", proxy.port))
            .await
            .expect("connect");
        assert!(round_trip(&mut again).await.expect("healed") < Duration::from_millis(100));
        assert_eq!(proxy.connections(), 2);
    }
}
