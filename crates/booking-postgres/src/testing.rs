//! Scratch databases for tests of this store and of crates built on it.
//! Each call creates an empty, migrated database on a real server; names
//! carry their creation time, and ones older than an hour (from earlier
//! runs) are dropped on the way.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};

/// The server tests use unless `BOOKING_TEST_PG_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_options() -> PgConnectOptions {
    let url = std::env::var("BOOKING_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("BOOKING_TEST_PG_URL is not a PostgreSQL URL: {e}"))
        .disable_statement_logging()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Creates an empty, migrated database and returns a pool on it and its
/// name.
///
/// # Panics
/// If the server cannot be reached, with instructions: a missing server
/// fails tests, it never skips them.
pub async fn scratch_database(max_connections: u32) -> (PgPool, String) {
    let mut admin = PgConnection::connect_with(&admin_options())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL for the store tests ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect 15 main start` (or run ./scripts/test, \
             which does), or point BOOKING_TEST_PG_URL at a server where you may create databases."
            )
        });
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'bt\\_%'
         AND split_part(datname, '_', 2)::bigint < $1",
    )
    .bind(unix_now() - 3600)
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
    crate::MIGRATOR
        .run(&pool)
        .await
        .expect("migrate the test database");
    (pool, name)
}

/// Another pool on a database made by [`scratch_database`].
///
/// # Panics
/// If the database cannot be reached.
pub async fn pool_on(name: &str, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(admin_options().database(name))
        .await
        .expect("connect to the test database")
}
