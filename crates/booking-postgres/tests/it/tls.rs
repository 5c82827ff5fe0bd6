//! TLS to PostgreSQL: a cluster of the test's own serving a self-signed
//! certificate. With `sslmode=verify-full` and that certificate as
//! `sslrootcert` the store connects (over TLS, as the server confirms);
//! with another certificate it is refused; `sslmode=require` encrypts
//! without checking who answers.

use booking_postgres::{PgSettings, PgStore};
use booking_test_services::cluster::PgCluster;

async fn ssl_in_use(store: &PgStore) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_ssl answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_speaks_tls_when_asked_and_checks_whom_it_talks_to() {
    let cluster = PgCluster::start_tls().unwrap_or_else(|e| panic!("{e}"));
    let trusted = cluster.certificate().display().to_string();
    let verified = format!(
        "{}?sslmode=verify-full&sslrootcert={trusted}",
        cluster.url()
    );
    let store = PgStore::connect(&PgSettings::new(&verified))
        .await
        .expect("verify-full with the server's certificate connects");
    assert!(ssl_in_use(&store).await, "the connection is encrypted");

    let required = format!("{}?sslmode=require", cluster.url());
    let store = PgStore::connect(&PgSettings::new(&required))
        .await
        .expect("require connects without a CA");
    assert!(ssl_in_use(&store).await);

    // Another certificate than the one the server shows: refused.
    let dir = tempfile::tempdir().unwrap();
    let (other, key) = (dir.path().join("other.crt"), dir.path().join("other.key"));
    booking_test_services::tls::self_signed(&other, &key).unwrap();
    let wrong = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        cluster.url(),
        other.display()
    );
    let refused = PgStore::connect(&PgSettings::new(&wrong))
        .await
        .expect_err("a server the CA did not sign is refused")
        .to_string();
    assert!(
        refused.to_lowercase().contains("certificate"),
        "refused for its certificate: {refused}"
    );
}
