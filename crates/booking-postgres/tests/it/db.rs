//! Fresh databases for these tests, cloned from a migrated template on the
//! real server (see `booking_test_services::postgres`).

use std::sync::Arc;

use booking_core::BookingStore;
use booking_postgres::{MIGRATOR, PgStore};
pub(crate) use booking_test_services::postgres::pool_on;
use sqlx::PgPool;

/// A pool on a fresh database, and its name.
pub(crate) async fn fresh_pool(max_connections: u32) -> (PgPool, String) {
    booking_test_services::postgres::scratch_database(&MIGRATOR, max_connections).await
}

/// A store on a fresh database.
pub(crate) async fn fresh_store() -> Arc<PgStore> {
    let (pool, _) = fresh_pool(8).await;
    Arc::new(PgStore::from_pool(pool))
}

/// One fresh database and `pools` independent pools on it, as several
/// server nodes have.
pub(crate) async fn stores_on_one_database(pools: usize) -> Vec<Arc<dyn BookingStore>> {
    let (first, name) = fresh_pool(10).await;
    let mut out: Vec<Arc<dyn BookingStore>> = vec![Arc::new(PgStore::from_pool(first))];
    for _ in 1..pools {
        out.push(Arc::new(PgStore::from_pool(pool_on(&name, 10).await)));
    }
    out
}
