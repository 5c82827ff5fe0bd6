//! # booking-postgres
//!
//! The store port ([`booking_core::BookingStore`]) on PostgreSQL — the
//! production store, shared by every server node: reads, and the write
//! transaction's primitives ([`booking_core::WriteTx`]) that the core's
//! write engine composes. The database is the authority for "no double
//! booking, no oversell": even if every lock failed, it refuses the second
//! booking.
//!
//! ## How the guarantees are kept
//!
//! - **No overlap**: an `EXCLUDE USING gist (resource_id WITH =, occupied
//!   WITH &&)` constraint over active statuses (`reservations_no_overlap`).
//!   Each write locks and expires, in the same transaction, the stale holds
//!   in its way (the engine decides which), so an expired hold never blocks.
//! - **No oversell**: stock rows are locked in key order and moved in the
//!   same statement, for every key, each only while `stock + delta >= 0`,
//!   with `CHECK (stock >= 0)` behind it; the engine does this after the
//!   reservation row and just before the events, so the row every booking
//!   of a product queues on is held for as few round trips as it can.
//! - **Tenant isolation**: composite `(tenant_id, id)` foreign keys, so no
//!   row can reference another tenant's records. A reservation line refers
//!   to its product, not to the stock record every booking of the product
//!   updates (a key check there made a multixact on the hottest row, and
//!   halved a busy product's bookings): the write that adds a line moves
//!   that stock level in its transaction, and a catalog deletion locks the
//!   level before it looks for lines (migration 0008).
//! - **Gapless, commit-ordered events**: the tenant row's `last_event_seq`
//!   is incremented, in the same statement that inserts the events, as the
//!   write's last step; its row lock orders concurrent writers of one
//!   tenant, and a rollback returns the numbers.
//! - **Append-only log**: triggers refuse `UPDATE`, `DELETE` and `TRUNCATE`
//!   on `events` and `event_subjects` (what each event is about, appended
//!   in the statement that numbers the events).
//!
//! SQLSTATEs become [`booking_core::TxError`]s: 23P01 (exclusion) the
//! overlap refusal the engine names, 40P01 / 40001 (deadlock,
//! serialization) a retry of the whole write, 23503 / 23505 (foreign key,
//! unique) the refusal their constraint stands for. Row decoding
//! re-validates every value; a value that does not fit is an error, never
//! a silent default.
//!
//! ## Layout
//!
//! `settings.rs` connection settings; `error.rs` driver errors → domain
//! errors; `rows.rs` rows and arguments for `booking-sql` (which decodes
//! rows and writes the catalog's SQL for both SQL stores); `catalog.rs`
//! catalog records (reads, and the transaction's catalog primitives); `reservations.rs`
//! reservation reads and the event log; `access.rs` keys and idempotency;
//! `write.rs` the transaction; `events.rs` numbering and appending events.

#![forbid(unsafe_code)]

mod access;
mod catalog;
mod error;
mod events;
mod reservations;
mod rows;
mod settings;
mod write;

pub use reservations::OCCUPANCY_SQL;
pub use settings::PgSettings;
pub use write::SURVEY_SQL;

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
