//! Fresh databases for these tests (see `booking_postgres::testing`).

use std::sync::Arc;

use booking_postgres::PgStore;
pub(crate) use booking_postgres::testing::{pool_on, scratch_database as fresh_pool};

/// A store on a fresh database.
pub(crate) async fn fresh_store() -> Arc<PgStore> {
    let (pool, _) = fresh_pool(8).await;
    Arc::new(PgStore::from_pool(pool))
}
