//! Scratch databases on a real PostgreSQL server. The first call per
//! schema version migrates a template database (`bt_tpl_<hash of the
//! migrations>`, built under an advisory lock so parallel test binaries
//! build it once); every call then clones it with `CREATE DATABASE …
//! TEMPLATE`, which costs a file copy instead of a migration. Scratch names
//! carry their creation time, and ones older than an hour (left by earlier
//! runs) are dropped on the way.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};

/// The server tests use unless `BOOKING_TEST_PG_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where the test server is: `BOOKING_TEST_PG_URL`, else [`DEFAULT_URL`].
///
/// # Panics
/// If the variable is not a PostgreSQL URL.
#[must_use]
pub fn admin_options() -> PgConnectOptions {
    let url = std::env::var("BOOKING_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("BOOKING_TEST_PG_URL is not a PostgreSQL URL: {e}"))
        .disable_statement_logging()
}

/// A URL to database `name` on the test server.
#[must_use]
pub fn url_of(name: &str) -> String {
    let url = std::env::var("BOOKING_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{url}/{name}"),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn admin() -> PgConnection {
    PgConnection::connect_with(&admin_options())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL for the tests ({e}). Start it with \
                 `pg_ctlcluster --skip-systemctl-redirect 15 main start` (or run ./scripts/test, \
                 which does), or point BOOKING_TEST_PG_URL at a server where you may create \
                 databases."
            )
        })
}

/// The template's name: it changes whenever a migration does.
fn template_name(migrator: &Migrator) -> String {
    let mut hash = Sha256::new();
    for m in migrator.iter() {
        hash.update(m.version.to_le_bytes());
        hash.update(&*m.checksum);
    }
    format!("bt_tpl_{}", &hex::encode(hash.finalize())[..16])
}

/// Makes sure the migrated template exists (once per schema version and
/// server, whatever runs in parallel).
async fn ensure_template(admin: &mut PgConnection, migrator: &Migrator) -> String {
    let name = template_name(migrator);
    // One builder at a time across processes; the others wait and reuse.
    admin
        .execute("SELECT pg_advisory_lock(727274001)")
        .await
        .expect("take the template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut *admin)
            .await
            .expect("look for the template");
    if !exists {
        // Built under another name and renamed when complete, so a crash
        // midway never leaves a half-migrated template behind.
        let building = format!("{name}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            admin
                .execute(sql.as_str())
                .await
                .expect("create the template");
        }
        let pool = pool_on(&building, 2).await;
        migrator
            .run(&pool)
            .await
            .expect("migrate the template database");
        pool.close().await;
        publish_template(admin, &building, &name).await;
    }
    admin
        .execute("SELECT pg_advisory_unlock(727274001)")
        .await
        .expect("release the template lock");
    name
}

/// Renames the finished template into place. A closed pool's server
/// processes exit a moment after the client lets go, and PostgreSQL
/// refuses to rename a database anyone is still connected to (55006), so
/// stragglers are ended and the rename is tried again, briefly.
async fn publish_template(admin: &mut PgConnection, building: &str, name: &str) {
    let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"");
    for attempt in 1.. {
        match (&mut *admin).execute(rename.as_str()).await {
            Ok(_) => return,
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("55006") && attempt < 100 =>
            {
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                )
                .bind(building)
                .execute(&mut *admin)
                .await
                .expect("end the template's last sessions");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("publish the template: {e}"),
        }
    }
}

/// Creates a fresh database with `migrator`'s schema and returns a pool on
/// it and its name.
///
/// # Panics
/// If the server cannot be reached, with instructions: a missing server
/// fails tests, it never skips them.
pub async fn scratch_database(migrator: &Migrator, max_connections: u32) -> (PgPool, String) {
    let name = scratch_name(migrator).await;
    (pool_on(&name, max_connections).await, name)
}

/// Like [`scratch_database`], without a pool: for tests that start a server
/// on the database themselves.
///
/// # Panics
/// As [`scratch_database`].
pub async fn scratch_name(migrator: &Migrator) -> String {
    let mut admin = admin().await;
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname ~ '^bt_[0-9]+_'
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
    let template = ensure_template(&mut admin, migrator).await;
    let name = format!("bt_{}_{}", unix_now(), uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"").as_str())
        .await
        .expect("clone the template database");
    name
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
