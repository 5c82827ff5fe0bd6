//! A fresh database per test, on the server at `BOOKING_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). No server means
//! a failing test with instructions, never a skipped one.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use booking_postgres::PgStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_options() -> PgConnectOptions {
    let url = std::env::var("BOOKING_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("BOOKING_TEST_PG_URL is not a PostgreSQL URL: {e}"))
        .disable_statement_logging()
}

async fn admin() -> PgConnection {
    PgConnection::connect_with(&admin_options())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL for the store tests ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect 15 main start` (or run ./scripts/test, \
             which does), or point BOOKING_TEST_PG_URL at a server where you may create databases."
            )
        })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Creates an empty, migrated database and returns a pool on it.
pub(crate) async fn fresh_pool(max_connections: u32) -> (PgPool, String) {
    let mut admin = admin().await;
    // Databases of earlier runs (named with their creation time) older than
    // an hour are dropped; running suites are never that old.
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'bt\\_%'
         AND split_part(datname, '_', 2)::bigint < $1",
    )
    .bind(i64::try_from(unix_now()).unwrap_or(i64::MAX) - 3600)
    .fetch_all(&mut admin)
    .await
    .unwrap_or_default();
    for name in old {
        let _ = admin
            .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await;
    }
    let name = format!("bt_{}_{}", unix_now(), uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create a test database");
    let pool = pool_on(&name, max_connections).await;
    booking_postgres::MIGRATOR
        .run(&pool)
        .await
        .expect("migrate the test database");
    (pool, name)
}

/// Another pool on an existing test database.
pub(crate) async fn pool_on(name: &str, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(admin_options().database(name))
        .await
        .expect("connect to the test database")
}

/// A store on a fresh database.
pub(crate) async fn fresh_store() -> Arc<PgStore> {
    let (pool, _) = fresh_pool(8).await;
    Arc::new(PgStore::from_pool(pool))
}
