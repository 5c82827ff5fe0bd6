//! The server over TLS to both of its services, as production runs it:
//! PostgreSQL with `sslmode=verify-full` and the server's certificate as
//! `sslrootcert`, Valkey at `rediss://` with its certificate trusted through
//! `SSL_CERT_FILE` (the CA bundle rustls reads). Both made by the test,
//! self-signed. A Valkey whose certificate is not trusted is not used: the
//! node runs degraded and says so on `/readyz`; a PostgreSQL whose
//! certificate is not trusted stops the start with the reason.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use booking_test_services::cluster::PgCluster;
use booking_test_services::valkey::ValkeyServer;

use crate::common::{read_banner, server};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A node; its URL, and the demo clinic's staff key if it made the clinic
/// (the first node on an empty database).
fn start(
    database_url: &str,
    valkey_url: &str,
    trusted: &std::path::Path,
) -> (Running, String, Option<String>) {
    let mut child = server()
        .args(["--listen", "127.0.0.1:0", "--demo"])
        .env("DATABASE_URL", database_url)
        .env("VALKEY_URL", valkey_url)
        .env("SSL_CERT_FILE", trusted)
        .env("BOOKING_BACKPLANE_SECRET", "the TLS test's shared secret")
        .env("BOOKING_LOG_FORMAT", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, staff) = read_banner(child.stdout.take().unwrap());
    (Running(child), url, staff)
}

/// `/readyz`'s status once it settles (Valkey connects in the background).
async fn ready(url: &str, want: u16) -> u16 {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let status = client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == want || started.elapsed() > Duration::from_secs(5) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_talks_tls_to_postgresql_and_valkey_and_trusts_only_their_certificates() {
    let pg = PgCluster::start_tls().unwrap_or_else(|e| panic!("{e}"));
    let valkey = ValkeyServer::start_tls();
    let database_url = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        pg.url(),
        pg.certificate().display()
    );

    // Both trusted: ready, and it serves.
    let (_node, url, staff) = start(&database_url, &valkey.tls_url(), &valkey.certificate());
    let staff = staff.expect("the first node makes the demo clinic");
    assert_eq!(ready(&url, 200).await, 200, "Valkey over TLS is ready");
    let branches = reqwest::Client::new()
        .get(format!("{url}/v1/branches"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(branches.status(), 200);

    // Valkey shows a certificate no one trusts: not used.
    let dir = tempfile::tempdir().unwrap();
    let (other, key) = (dir.path().join("other.crt"), dir.path().join("other.key"));
    booking_test_services::tls::self_signed(&other, &key).unwrap();
    let (_node, url, _) = start(&database_url, &valkey.tls_url(), &other);
    assert_eq!(
        ready(&url, 503).await,
        503,
        "an untrusted Valkey is not ready"
    );

    // PostgreSQL shows a certificate no one trusts: the start fails.
    let wrong = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        pg.url(),
        other.display()
    );
    let out = server()
        .args(["--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &wrong)
        .env_remove("VALKEY_URL")
        .env("BOOKING_LOG_FORMAT", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.to_lowercase().contains("certificate"), "{said}");
}
