//! Driver errors → domain errors, by SQLSTATE and constraint name. Nothing
//! from sqlx crosses the port.

use booking_core::{Refusal, StoreError, TxError};

/// What a failed statement means.
#[derive(Debug)]
pub(crate) enum DbFailure {
    /// 23P01: the exclusion constraint refused an overlapping reservation.
    Overlap,
    /// 40P01 / 40001: concurrent transactions collided; run it again.
    Collision(String),
    /// 23503: a foreign key, by constraint name.
    ForeignKey(String),
    /// 23505: a unique constraint, by constraint name.
    Unique(String),
    /// The backend is unreachable or overloaded.
    Unavailable(String),
    /// Anything else (a CHECK that fired is a bug in the plan).
    Internal(String),
}

pub(crate) fn classify(e: &sqlx::Error) -> DbFailure {
    match e {
        sqlx::Error::Database(db) => {
            let constraint = db.constraint().unwrap_or_default().to_owned();
            match db.code().as_deref() {
                Some("23P01") => DbFailure::Overlap,
                Some("40P01" | "40001") => DbFailure::Collision(db.message().to_owned()),
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
        // A connection that stopped speaking the protocol (a server going
        // down mid-handshake answers the TLS request with garbage) is a
        // broken connection like a reset one: a fresh one may work.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => DbFailure::Unavailable(e.to_string()),
        other => DbFailure::Internal(other.to_string()),
    }
}

/// A driver error outside a transaction: unavailable or internal.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match classify(&e) {
        DbFailure::Unavailable(m) => StoreError::Unavailable(m),
        other => StoreError::Internal(format!("{other:?}")),
    }
}

/// A driver error inside a transaction. `refusal` names what a foreign or
/// unique key refusal means for this primitive (`None`: a concurrent change
/// slipped in; run the write again). The SQLSTATE goes on the current span
/// (`store.apply` for bookings).
pub(crate) fn tx_error(e: &sqlx::Error, refusal: impl Fn(&str) -> Option<Refusal>) -> TxError {
    if let sqlx::Error::Database(db) = e
        && let Some(code) = db.code()
    {
        tracing::Span::current().record("sqlstate", code.as_ref());
    }
    match classify(e) {
        DbFailure::Overlap => Refusal::Overlap.into(),
        DbFailure::Collision(why) => TxError::Retry(why),
        DbFailure::ForeignKey(c) | DbFailure::Unique(c) => match refusal(&c) {
            Some(r) => r.into(),
            None => TxError::Retry(format!("constraint {c}")),
        },
        DbFailure::Unavailable(m) => StoreError::Unavailable(m).into(),
        DbFailure::Internal(m) => StoreError::Internal(m).into(),
    }
}

/// A driver error inside a transaction with no refusal of its own.
pub(crate) fn tx_fail(e: sqlx::Error) -> TxError {
    tx_error(&e, |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seen in `booking-load check --faults pg-restart`: a connection made
    /// while the server went down got garbage for its TLS request. Reported
    /// as internal, it stopped the background settling of idempotency
    /// claims for good (retries then waited "in progress").
    #[test]
    fn a_broken_handshake_is_unavailable_not_internal() {
        let e = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert!(matches!(store_error(e), StoreError::Unavailable(_)));
        let e = sqlx::Error::ColumnNotFound("x".into());
        assert!(matches!(store_error(e), StoreError::Internal(_)));
    }
}
