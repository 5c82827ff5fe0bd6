//! Driver errors → domain errors, by SQLSTATE and constraint name. Nothing
//! from sqlx crosses the port.

use booking_core::StoreError;

/// What a failed statement means for the write in progress.
#[derive(Debug)]
pub(crate) enum DbFailure {
    /// 23P01: the exclusion constraint refused an overlapping reservation.
    Overlap,
    /// 40P01 / 40001, or a constraint the plan should have prevented
    /// (a concurrent change slipped in): retry the whole transaction.
    Retry(String),
    /// 23503: a foreign key, by constraint name.
    ForeignKey(String),
    /// 23505: a unique constraint, by constraint name.
    Unique(String),
    /// The backend is unreachable or overloaded.
    Unavailable(String),
    /// Anything else.
    Internal(String),
}

pub(crate) fn classify(e: &sqlx::Error) -> DbFailure {
    match e {
        sqlx::Error::Database(db) => {
            let constraint = db.constraint().unwrap_or_default().to_owned();
            match db.code().as_deref() {
                Some("23P01") => DbFailure::Overlap,
                Some("40P01" | "40001") => DbFailure::Retry(db.message().to_owned()),
                Some("23514") => DbFailure::Retry(format!("check {constraint}")),
                Some("23503") => DbFailure::ForeignKey(constraint),
                Some("23505") => DbFailure::Unique(constraint),
                // too_many_connections, cannot_connect_now, admin shutdown…
                Some(code)
                    if code.starts_with("53")
                        || code.starts_with("57")
                        || code.starts_with("08") =>
                {
                    DbFailure::Unavailable(db.message().to_owned())
                }
                _ => DbFailure::Internal(format!("{} ({:?})", db.message(), db.code())),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => DbFailure::Unavailable(e.to_string()),
        other => DbFailure::Internal(other.to_string()),
    }
}

/// A driver error outside a write: unavailable or internal.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match classify(&e) {
        DbFailure::Unavailable(m) => StoreError::Unavailable(m),
        other => StoreError::Internal(format!("{other:?}")),
    }
}

/// A stored value that does not decode into a domain type.
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt {what} in the database: {e}"))
}
