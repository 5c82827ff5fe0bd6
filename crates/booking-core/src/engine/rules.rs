//! The rules of a reservation write, as pure functions: is the change
//! allowed against the stored state, which stale holds are in its way,
//! how stock moves, and which events record it. The engine
//! ([`super::apply`]) feeds them what the transaction read and writes what
//! they say.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::event::payload::StockLevelChange;
use crate::time::to_micros;
use crate::{
    ApplyError, Attribution, Entity, EventPayload, InvalidTransition, NewEvent, OutOfStock,
    Reservation, ReservationEventKind, ReservationWrite, SlotTaken, StaleVersion, Status,
    StockCause, StockDelta, StockKey, action_of, immutable_field_changed, status_change_allowed,
    stock,
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
    // Instants to the microsecond, as every store keeps them, so the row
    // and the events that describe it stay equal.
    Ok(Reservation {
        version,
        updated_at: to_micros(at),
        created_at: to_micros(after.created_at),
        hold_expires_at: after.hold_expires_at.map(to_micros),
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

/// The stock keys a write takes from (to find stale holds keeping them).
#[must_use]
pub fn take_keys(before: Option<&Reservation>, stored: &Reservation) -> Vec<StockKey> {
    stock::movements(before, stored)
        .into_iter()
        .filter(|m| m.take)
        .map(|m| m.key)
        .collect()
}

/// The net change of every stock level a write touches: the stale holds
/// it expires give their units back, and the write takes (or gives back)
/// its own; in key order, a level whose changes cancel out with a zero
/// delta (its level is still read for the events). The store applies
/// these ([`crate::WriteTx::move_stock`]) and [`plan`] then runs on the
/// levels it found.
#[must_use]
pub fn stock_deltas(
    before: Option<&Reservation>,
    stored: &Reservation,
    stale: &[Reservation],
    at: DateTime<Utc>,
) -> Vec<StockDelta> {
    let mut net: BTreeMap<StockKey, i64> = BTreeMap::new();
    let expiries = stale.iter().map(|hold| (Some(hold), expired(hold, at)));
    for (from, to) in expiries.chain(std::iter::once((before, stored.clone()))) {
        for m in stock::movements(from, &to) {
            let units = i64::from(m.quantity.get());
            *net.entry(m.key).or_default() += if m.take { -units } else { units };
        }
    }
    net.into_iter()
        .map(|(key, delta)| StockDelta { key, delta })
        .collect()
}

/// What one accepted [`ReservationWrite`] stores and records (the expired
/// holds' rows and the stock levels are written from [`expired`] and
/// [`stock_deltas`], before the levels this is planned from are known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The reservation as it is to be stored.
    pub stored: Reservation,
    /// The events to append, in order: expiries (each followed by its
    /// stock returns), the reservation event, then its stock movements.
    pub events: Vec<NewEvent>,
}

/// Plans a write: checks it ([`check`]), expires the stale holds among
/// `candidates` that are in its way, and moves stock from `levels` (which
/// must hold every key it moves: those of [`stock_deltas`]). Overlap is
/// checked separately ([`first_conflict`]), before the stale holds are read.
///
/// # Errors
/// Those of [`check`], [`ApplyError::OutOfStock`] when a take exceeds the
/// level, [`ApplyError::NotFound`] for a missing stock level.
pub fn plan(
    write: &ReservationWrite,
    before: Option<&Reservation>,
    candidates: &[Reservation],
    levels: &BTreeMap<StockKey, u32>,
) -> Result<Plan, ApplyError> {
    let at = to_micros(write.at);
    let stored = check(before, write)?;
    let takes = take_keys(before, &stored);
    let mut stale: Vec<&Reservation> = candidates
        .iter()
        .filter(|r| stale_hold_in_the_way(r, &stored, &takes, at))
        .collect();
    stale.sort_by_key(|r| r.id);
    stale.dedup_by_key(|r| r.id);

    let mut levels = levels.clone();
    let mut events = Vec::new();
    let system = write.by.system_in();
    for hold in stale {
        let exp = self::expired(hold, at);
        events.push(reservation_event(
            ReservationEventKind::Expired,
            Some(hold),
            &exp,
            &system,
            at,
        ));
        move_stock(&mut levels, &mut events, Some(hold), &exp, &system, at)?;
    }
    events.push(reservation_event(
        write.kind, before, &stored, &write.by, at,
    ));
    move_stock(&mut levels, &mut events, before, &stored, &write.by, at)?;
    Ok(Plan { stored, events })
}

fn reservation_event(
    kind: ReservationEventKind,
    before: Option<&Reservation>,
    after: &Reservation,
    by: &Attribution,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        at,
        by: by.clone(),
        payload: EventPayload::reservation(kind, before, after),
    }
}

/// Applies the movements of `before → after` to `levels` and records a
/// stock event for each.
fn move_stock(
    levels: &mut BTreeMap<StockKey, u32>,
    events: &mut Vec<NewEvent>,
    before: Option<&Reservation>,
    after: &Reservation,
    by: &Attribution,
    at: DateTime<Utc>,
) -> Result<(), ApplyError> {
    for m in stock::movements(before, after) {
        let current = *levels
            .get(&m.key)
            .ok_or(ApplyError::NotFound(Entity::ProductAtBranch(
                m.key.product_id,
                m.key.branch_id,
            )))?;
        let next = stock::apply_movement(current, &m).map_err(|available| OutOfStock {
            product_id: m.key.product_id,
            branch_id: m.key.branch_id,
            requested: m.quantity.get(),
            available,
        })?;
        levels.insert(m.key, next);
        events.push(NewEvent {
            at,
            by: by.clone(),
            payload: EventPayload::StockChanged(StockLevelChange {
                product_id: m.key.product_id.as_uuid(),
                branch_id: m.key.branch_id.as_uuid(),
                before: current,
                after: next,
                cause: StockCause::Reservation(after.id.as_uuid()),
            }),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::reservation_at;
    use crate::{Actor, Attribution, ReservationEventKind as K};
    use chrono::Duration;

    fn write(r: &Reservation, expected: Option<u64>, kind: K) -> ReservationWrite {
        ReservationWrite {
            reservation: r.clone(),
            expected_version: expected,
            kind,
            by: Attribution::named(Actor::new("t").unwrap()),
            at: r.created_at,
            hold_quota: None,
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
    fn stock_deltas_net_the_expired_holds_against_the_write_per_level() {
        use crate::{ProductId, ProductLine, Quantity};
        let (p, q) = (ProductId::generate(), ProductId::generate());
        let line = |product, n| ProductLine {
            product_id: product,
            quantity: Quantity::new(n).unwrap(),
        };
        let mut write = reservation_at(10, 11);
        write.lines = vec![line(p, 2), line(q, 1)];
        let mut hold = reservation_at(10, 11);
        hold.status = Status::Held;
        hold.hold_expires_at = Some(hold.created_at - Duration::minutes(1));
        hold.lines = vec![line(p, 3)];
        let at = write.created_at;
        let key = |product| StockKey {
            product_id: product,
            branch_id: write.branch_id,
        };
        let mut want = vec![
            StockDelta {
                key: key(p),
                delta: 1,
            },
            StockDelta {
                key: key(q),
                delta: -1,
            },
        ];
        want.sort_by_key(|d| d.key);
        assert_eq!(stock_deltas(None, &write, &[hold], at), want);
        // Cancelling gives every unit back; a change that keeps it active
        // moves nothing.
        let mut cancelled = write.clone();
        cancelled.status = Status::Cancelled;
        let mut back = vec![
            StockDelta {
                key: key(p),
                delta: 2,
            },
            StockDelta {
                key: key(q),
                delta: 1,
            },
        ];
        back.sort_by_key(|d| d.key);
        assert_eq!(stock_deltas(Some(&write), &cancelled, &[], at), back);
        assert_eq!(stock_deltas(Some(&write), &write, &[], at), vec![]);
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
