//! Driver errors → domain errors. SQLite names no constraint in foreign-key
//! errors, so the store checks references itself first (inside the write
//! lock) and these mappings are the backstop.

use booking_core::StoreError;

#[derive(Debug)]
pub(crate) enum DbFailure {
    /// The overlap trigger fired.
    Overlap,
    /// The database stayed locked by another process past the busy timeout.
    Busy(String),
    /// The backend is unreachable (pool exhausted or closed, I/O).
    Unavailable(String),
    /// Anything else, including constraint failures the checks should have
    /// prevented.
    Internal(String),
}

pub(crate) fn classify(e: &sqlx::Error) -> DbFailure {
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message();
            if message.contains("reservations_no_overlap") {
                return DbFailure::Overlap;
            }
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with extended codes.
            let primary = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(5 | 6) => DbFailure::Busy(message.to_owned()),
                _ => DbFailure::Internal(format!("{message} ({:?})", db.code())),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            DbFailure::Unavailable(e.to_string())
        }
        other => DbFailure::Internal(other.to_string()),
    }
}

pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match classify(&e) {
        DbFailure::Unavailable(m) | DbFailure::Busy(m) => StoreError::Unavailable(m),
        DbFailure::Internal(m) => StoreError::Internal(m),
        DbFailure::Overlap => {
            StoreError::Internal("the overlap trigger fired outside a write".into())
        }
    }
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt {what} in the database: {e}"))
}
