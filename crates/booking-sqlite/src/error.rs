//! Driver errors → domain errors. SQLite names no constraint in a
//! foreign-key error, so the write engine checks references first (inside
//! the write lock) and these mappings are the backstop. Nothing from sqlx
//! crosses the port.

use booking_core::{Refusal, StoreError, TxError};

/// What a failed statement means.
#[derive(Debug)]
pub(crate) enum DbFailure {
    /// The overlap trigger fired.
    Overlap,
    /// A foreign key refused the statement (SQLITE_CONSTRAINT_FOREIGNKEY).
    ForeignKey,
    /// A primary key or unique index refused the statement.
    Unique,
    /// The database stayed locked by another process past the busy timeout.
    Busy(String),
    /// The backend is unreachable (pool exhausted or closed, I/O).
    Unavailable(String),
    /// Anything else, including a CHECK that fired (a bug in the plan).
    Internal(String),
}

/// Extended result codes (<https://sqlite.org/rescode.html>).
const CONSTRAINT_FOREIGNKEY: i32 = 787;
const CONSTRAINT_PRIMARYKEY: i32 = 1555;
const CONSTRAINT_UNIQUE: i32 = 2067;

pub(crate) fn classify(e: &sqlx::Error) -> DbFailure {
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message();
            if message.contains("reservations_no_overlap") {
                return DbFailure::Overlap;
            }
            let code = db.code().and_then(|c| c.parse::<i32>().ok());
            match code {
                Some(CONSTRAINT_FOREIGNKEY) => DbFailure::ForeignKey,
                Some(CONSTRAINT_PRIMARYKEY | CONSTRAINT_UNIQUE) => DbFailure::Unique,
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with extended codes.
                Some(c) if matches!(c & 0xff, 5 | 6) => DbFailure::Busy(message.to_owned()),
                _ => DbFailure::Internal(format!("{message} ({:?})", db.code())),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            DbFailure::Unavailable(e.to_string())
        }
        other => DbFailure::Internal(other.to_string()),
    }
}

/// A driver error outside a write: unavailable or internal.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match classify(&e) {
        DbFailure::Unavailable(m) | DbFailure::Busy(m) => StoreError::Unavailable(m),
        other => StoreError::Internal(format!("{other:?}")),
    }
}

/// A driver error inside a write. `refusal` says what a key refusal means
/// for this primitive; without one it is a bug (the engine checked the
/// references under the write lock), reported as internal.
pub(crate) fn tx_error(e: &sqlx::Error, refusal: impl Fn() -> Option<Refusal>) -> TxError {
    match classify(e) {
        // The engine checks overlap under the write lock first, so the
        // trigger firing means a bug; still, it is the store's final word.
        DbFailure::Overlap => Refusal::Overlap.into(),
        DbFailure::ForeignKey | DbFailure::Unique => match refusal() {
            Some(r) => r.into(),
            None => StoreError::Internal(format!("a key refused the write: {e}")).into(),
        },
        // Another process held the file past the busy timeout.
        DbFailure::Busy(why) => TxError::Retry(why),
        DbFailure::Unavailable(m) => StoreError::Unavailable(m).into(),
        DbFailure::Internal(m) => StoreError::Internal(m).into(),
    }
}

/// A driver error inside a write with no refusal of its own.
pub(crate) fn tx_fail(e: sqlx::Error) -> TxError {
    tx_error(&e, || None)
}
