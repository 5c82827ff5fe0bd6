//! The rules every store applies inside its write transaction, as pure
//! functions. A store reads what it needs (the stored reservation, rivals,
//! stock levels) under its own isolation, asks these functions, and writes
//! what they say. The rules live here once; adapters only translate.

use chrono::{DateTime, Utc};

use crate::{
    ApplyError, InvalidTransition, Reservation, ReservationEventKind, ReservationWrite, SlotTaken,
    StaleVersion, Status, StockKey, action_of, immutable_field_changed, status_change_allowed,
};

/// Checks a write against the stored state and returns the reservation to
/// store (with its new version and `updated_at`).
///
/// `before` is the stored reservation with the write's id, whatever its
/// tenant (ids are global), or `None`.
///
/// # Errors
/// [`ApplyError::AlreadyExists`], [`ApplyError::NotFound`],
/// [`ApplyError::StaleVersion`], [`ApplyError::ImmutableField`] or
/// [`ApplyError::InvalidTransition`].
pub fn check(
    before: Option<&Reservation>,
    write: &ReservationWrite,
) -> Result<Reservation, ApplyError> {
    let after = &write.reservation;
    let at = write.at;
    let refuse = |from: Status| InvalidTransition {
        from,
        action: action_of(write.kind),
    };
    let version = match (write.expected_version, before) {
        (None, Some(_)) => return Err(ApplyError::AlreadyExists(after.id)),
        (None, None) => {
            let fresh = matches!(
                (write.kind, after.status),
                (ReservationEventKind::Held, Status::Held)
                    | (ReservationEventKind::Created, Status::Confirmed)
            );
            if !fresh || after.is_stale_hold(at) {
                return Err(refuse(after.effective_status(at)).into());
            }
            1
        }
        (Some(_), None) => {
            return Err(ApplyError::NotFound(crate::Entity::Reservation(after.id)));
        }
        (Some(_), Some(b)) if b.tenant_id != after.tenant_id => {
            return Err(ApplyError::NotFound(crate::Entity::Reservation(after.id)));
        }
        (Some(expected), Some(b)) => {
            if b.version != expected {
                return Err(StaleVersion {
                    expected,
                    actual: b.version,
                }
                .into());
            }
            if let Some(field) = immutable_field_changed(b, after) {
                return Err(ApplyError::ImmutableField(field));
            }
            let stale = b.is_stale_hold(at);
            let consistent = write.kind.resulting_status(b.status) == after.status;
            if !consistent
                || !status_change_allowed(b.status, after.status)
                || (stale && after.status != Status::Expired)
                || after.is_stale_hold(at)
            {
                return Err(refuse(b.effective_status(at)).into());
            }
            b.version + 1
        }
    };
    Ok(Reservation {
        version,
        updated_at: at,
        ..after.clone()
    })
}

/// The first of `candidates` that the new state collides with at `at`, as
/// a refusal naming it. Candidates may be any reservations; inactive ones,
/// other resources and the reservation itself are ignored.
#[must_use]
pub fn first_conflict<'a>(
    after: &Reservation,
    candidates: impl IntoIterator<Item = &'a Reservation>,
    at: DateTime<Utc>,
) -> Option<SlotTaken> {
    candidates
        .into_iter()
        .find(|other| after.conflicts_with(other, at))
        .map(|other| SlotTaken {
            conflicting: other.id,
            range: other.occupied(),
        })
}

/// Whether a stale hold stands in the way of `after` and must be expired in
/// the same transaction: it overlaps on the same resource, or it keeps
/// units of a stock the write takes (`take_keys`).
#[must_use]
pub fn stale_hold_in_the_way(
    hold: &Reservation,
    after: &Reservation,
    take_keys: &[StockKey],
    at: DateTime<Utc>,
) -> bool {
    hold.id != after.id
        && hold.tenant_id == after.tenant_id
        && hold.is_stale_hold(at)
        && ((hold.resource_id == after.resource_id && hold.occupied().overlaps(&after.occupied()))
            || hold.lines.iter().any(|l| {
                take_keys.contains(&StockKey {
                    product_id: l.product_id,
                    branch_id: hold.branch_id,
                })
            }))
}

/// The stored state of a stale hold once its expiry is recorded.
#[must_use]
pub fn expired(hold: &Reservation, at: DateTime<Utc>) -> Reservation {
    Reservation {
        status: Status::Expired,
        hold_expires_at: None,
        version: hold.version + 1,
        updated_at: at,
        ..hold.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::reservation_at;
    use crate::{Actor, ReservationEventKind as K};
    use chrono::Duration;

    fn write(r: &Reservation, expected: Option<u64>, kind: K) -> ReservationWrite {
        ReservationWrite {
            reservation: r.clone(),
            expected_version: expected,
            kind,
            actor: Actor::new("t").unwrap(),
            at: r.created_at,
        }
    }

    #[test]
    fn a_create_gets_version_one_and_a_replayed_create_is_refused() {
        let r = reservation_at(10, 11);
        assert_eq!(
            check(None, &write(&r, None, K::Created)).unwrap().version,
            1
        );
        assert!(matches!(
            check(Some(&r), &write(&r, None, K::Created)),
            Err(ApplyError::AlreadyExists(_))
        ));
    }

    #[test]
    fn a_change_with_an_old_version_is_stale() {
        let r = reservation_at(10, 11);
        let mut after = r.clone();
        after.status = Status::Cancelled;
        assert!(matches!(
            check(Some(&r), &write(&after, Some(0), K::Cancelled)),
            Err(ApplyError::StaleVersion(StaleVersion {
                expected: 0,
                actual: 1
            }))
        ));
        assert_eq!(
            check(Some(&r), &write(&after, Some(1), K::Cancelled))
                .unwrap()
                .version,
            2
        );
    }

    #[test]
    fn an_event_kind_that_disagrees_with_the_state_is_refused() {
        let r = reservation_at(10, 11);
        let mut after = r.clone();
        after.status = Status::Cancelled;
        assert!(matches!(
            check(Some(&r), &write(&after, Some(1), K::Completed)),
            Err(ApplyError::InvalidTransition(_))
        ));
    }

    #[test]
    fn a_stale_hold_can_only_expire() {
        let mut hold = reservation_at(10, 11);
        hold.status = Status::Held;
        hold.hold_expires_at = Some(hold.created_at - Duration::minutes(1));
        let mut confirm = hold.clone();
        confirm.status = Status::Confirmed;
        confirm.hold_expires_at = None;
        assert!(check(Some(&hold), &write(&confirm, Some(1), K::Confirmed)).is_err());
        let exp = expired(&hold, hold.created_at);
        let mut w = write(&exp, Some(1), K::Expired);
        w.reservation.version = 1;
        assert!(check(Some(&hold), &w).is_ok());
    }
}
