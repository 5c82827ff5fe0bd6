//! # booking-sqlite
//!
//! The store ports ([`booking_core::BookingStore`]) on SQLite: the embedded
//! default, for one server node with no external services. Same guarantees
//! as PostgreSQL, by SQLite's means:
//!
//! - **One writer at a time.** Writes go through a single-connection writer
//!   pool and start with `BEGIN IMMEDIATE`, which takes the database's write
//!   lock up front, so a write's reads and checks cannot be invalidated
//!   before it commits — also against other processes (the `tenant create`
//!   command while the server runs). Reads use a separate pool; WAL lets
//!   them run beside the writer.
//! - **Backstops in the schema.** Triggers refuse an overlapping active
//!   reservation and any change to the event log; CHECKs refuse negative
//!   stock; composite foreign keys keep tenants apart.
//! - **Events** are numbered from the tenant row inside the write, gapless.
//!
//! The write sequence itself (what to check, lock, write and record) is the
//! core's ([`booking_core::engine`]); this crate implements its primitives
//! ([`booking_core::WriteTx`]) and the reads.
//!
//! ## Layout
//!
//! `settings.rs` the file and pools; `error.rs` driver errors → domain
//! errors; `rows.rs` rows → domain types; `write.rs` the write
//! transaction; `events.rs` numbering and appending events; `catalog.rs`,
//! `reservations.rs`, `access.rs` the reads (and catalog write primitives),
//! as in `booking-postgres`.

#![forbid(unsafe_code)]

mod access;
mod catalog;
mod error;
mod events;
mod reservations;
mod rows;
mod settings;
mod write;

pub use reservations::occupancy_sql;
pub use settings::SqliteSettings;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The embedded migrations (`migrations/sqlite`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The store on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// One connection: every write is serialized here.
    writer: SqlitePool,
    /// Reads, beside the writer (WAL).
    reader: SqlitePool,
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The file could not be opened or created.
    #[error("cannot open the SQLite database: {0}")]
    Open(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the SQLite schema: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending
    /// migrations.
    ///
    /// # Errors
    /// [`ConnectError`] if the file cannot be opened or migrated.
    pub async fn open(settings: &SqliteSettings) -> Result<Self, ConnectError> {
        let options = SqliteConnectOptions::new()
            .filename(&settings.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(settings.busy_timeout);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(ConnectError::Open)?;
        MIGRATOR.run(&writer).await.map_err(ConnectError::Migrate)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(settings.readers)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.read_only(true))
            .await
            .map_err(ConnectError::Open)?;
        Ok(Self { writer, reader })
    }

    /// The writer pool, for health checks and tests.
    #[must_use]
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}
