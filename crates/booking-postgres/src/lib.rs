//! # booking-postgres
//!
//! The store port ([`booking_core::BookingStore`]) on PostgreSQL — the
//! production store, shared by every server node. The database is the
//! authority for "no double booking, no oversell": even if every lock
//! failed, it refuses the second booking.
//!
//! ## How the guarantees are kept
//!
//! - **No overlap**: an `EXCLUDE USING gist (resource_id WITH =, occupied
//!   WITH &&)` constraint over active statuses (`reservations_no_overlap`).
//!   Each write first expires, in its own transaction, the stale holds in
//!   its way, so an expired hold never blocks.
//! - **No oversell**: stock rows are locked in key order, then changed with
//!   `UPDATE … SET stock = stock - q WHERE stock >= q`, with `CHECK (stock
//!   >= 0)` behind it.
//! - **Tenant isolation**: composite `(tenant_id, id)` foreign keys, so no
//!   row can reference another tenant's records.
//! - **Gapless, commit-ordered events**: the tenant row's `last_event_seq`
//!   is incremented as the write's last step; its row lock orders
//!   concurrent writers of one tenant, and a rollback returns the numbers.
//! - **Append-only log**: triggers refuse `UPDATE`, `DELETE` and `TRUNCATE`
//!   on `reservation_events`.
//!
//! SQLSTATEs 23P01 (exclusion), 40P01 (deadlock), 40001 (serialization),
//! 23514 (check), 23503 (foreign key) and 23505 (unique) become typed
//! refusals; deadlocks and serialization failures are retried once. None
//! surfaces as an internal error.
//!
//! ## Layout
//!
//! `settings.rs` connection settings; `error.rs` driver errors → domain
//! errors; `rows.rs` rows → domain types; `catalog.rs` the catalog half of
//! the port; `apply.rs` the write transaction; `reads.rs` queries and the
//! event log; `events.rs` event numbering and appending; `testing.rs`
//! scratch databases for tests.

#![forbid(unsafe_code)]

mod access;
mod apply;
mod catalog;
mod error;
mod events;
mod reads;
mod rows;
mod settings;
pub mod testing;

pub use settings::PgSettings;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The embedded migrations (`migrations/postgres`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The store on a PostgreSQL pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The database could not be reached.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the PostgreSQL schema: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl PgStore {
    /// Connects and applies pending migrations.
    ///
    /// # Errors
    /// [`ConnectError`] if the database is unreachable or a migration fails.
    pub async fn connect(settings: &PgSettings) -> Result<Self, ConnectError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            // No ping before each checkout: it costs a round trip per
            // transaction, and a dead connection fails on first use anyway
            // (reported as unavailable, and the pool replaces it).
            .test_before_acquire(false)
            .acquire_timeout(settings.acquire_timeout)
            .connect(settings.url())
            .await
            .map_err(ConnectError::Connect)?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing pool (migrations are not run).
    #[must_use]
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// [`ConnectError::Migrate`] if one fails.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(ConnectError::Migrate)
    }

    /// The pool, for health checks and tests.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
