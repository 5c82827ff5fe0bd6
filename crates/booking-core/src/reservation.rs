//! The reservation projection and its lifecycle rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Actor, ApiKeyId, BranchId, Minutes, Note, PriceSnapshot, ProductId, Quantity, ReservationId,
    ResourceId, ServiceId, TenantId, TimeRange,
};

/// Where a reservation is in its lifecycle.
///
/// ```text
/// Held ──confirm──▶ Confirmed ──complete──▶ Completed
///  │  ╲                 │
///  │   ╲─expire──▶ Expired
///  └──cancel──▶ Cancelled ◀──cancel──┘
/// ```
/// Completed, Cancelled and Expired are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Tentatively held until `hold_expires_at`; blocks the slot and stock.
    Held,
    /// Booked.
    Confirmed,
    /// The appointment took place; products are sold.
    Completed,
    /// Cancelled by staff; slot and stock are free again.
    Cancelled,
    /// A hold that ran out; slot and stock are free again.
    Expired,
}

impl Status {
    /// No change can leave this state.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Expired)
    }

    /// Whether a reservation in this state keeps its product units out of
    /// branch stock. Completed keeps them (they were sold).
    #[must_use]
    pub const fn holds_stock(self) -> bool {
        matches!(self, Self::Held | Self::Confirmed | Self::Completed)
    }

    /// The state's name as stored and shown.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    /// Parses the names of [`Status::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Held,
            Self::Confirmed,
            Self::Completed,
            Self::Cancelled,
            Self::Expired,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

/// A product taken with a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProductLine {
    /// The product.
    pub product_id: ProductId,
    /// How many units, taken from the reservation's branch.
    pub quantity: Quantity,
}

/// A resource booked for a time range at a branch: the projection of the
/// reservation's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The reservation's id.
    pub id: ReservationId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Where the appointment takes place (and whose stock the products use).
    pub branch_id: BranchId,
    /// What is booked.
    pub resource_id: ResourceId,
    /// The service, if one was booked.
    pub service_id: Option<ServiceId>,
    /// The appointment itself.
    pub range: TimeRange,
    /// Preparation time blocked before `range` (from the service).
    pub buffer_before: Minutes,
    /// Cleaning time blocked after `range` (from the service).
    pub buffer_after: Minutes,
    /// Products taken from the branch's stock, one line per product.
    pub lines: Vec<ProductLine>,
    /// Prices fixed when the reservation was made.
    pub price: PriceSnapshot,
    /// Lifecycle state.
    pub status: Status,
    /// When a hold runs out; set only while `status` is `Held`.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// Free text from staff.
    pub note: Option<Note>,
    /// Incremented by every change; guards concurrent edits (If-Match).
    pub version: u64,
    /// Who made the reservation.
    pub created_by: Actor,
    /// The key that made it, if one did (holds count against it).
    pub created_by_key: Option<ApiKeyId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    /// The time the resource is blocked: the range widened by the buffers.
    /// Overlap is checked on this.
    #[must_use]
    pub fn occupied(&self) -> TimeRange {
        self.range.widened(self.buffer_before, self.buffer_after)
    }

    /// Whether this is a hold whose time ran out (even if no one has
    /// recorded the expiry yet).
    #[must_use]
    pub fn is_stale_hold(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Held && self.hold_expires_at.is_none_or(|t| t <= now)
    }

    /// The state as it stands at `now`: a stale hold counts as expired.
    #[must_use]
    pub fn effective_status(&self, now: DateTime<Utc>) -> Status {
        if self.is_stale_hold(now) {
            Status::Expired
        } else {
            self.status
        }
    }

    /// Active reservations block their resource: unexpired holds,
    /// confirmed and completed ones.
    #[must_use]
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.effective_status(now),
            Status::Held | Status::Confirmed | Status::Completed
        )
    }

    /// Whether `self` and `other` compete for the same resource at the same
    /// time at `now` (different reservations, both active, same resource —
    /// whatever the branch — and overlapping occupied ranges).
    #[must_use]
    pub fn conflicts_with(&self, other: &Self, now: DateTime<Utc>) -> bool {
        self.id != other.id
            && self.tenant_id == other.tenant_id
            && self.resource_id == other.resource_id
            && self.is_active(now)
            && other.is_active(now)
            && self.occupied().overlaps(&other.occupied())
    }
}

/// What a user (or the system) asks to do with a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Turn a hold into a booking.
    Confirm,
    /// Change the time and/or resource.
    Move,
    /// Cancel; frees slot and stock.
    Cancel,
    /// Mark as done.
    Complete,
    /// Record that a hold ran out.
    Expire,
    /// Give a hold more time.
    Extend,
    /// Let a hold go before it runs out.
    Release,
}

/// A change the lifecycle does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action:?} a reservation that is {}", from.as_str())]
pub struct InvalidTransition {
    /// The state at the time of the request (a stale hold counts as expired).
    pub from: Status,
    /// What was asked.
    pub action: Action,
}

/// The lifecycle rule: the state `action` leads to from `reservation` at
/// `now`. Terminal states stay terminal; only Held and Confirmed can move;
/// a stale hold can only be expired.
///
/// # Errors
/// [`InvalidTransition`] when the lifecycle forbids the action.
pub fn transition(
    reservation: &Reservation,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Status, InvalidTransition> {
    let current = reservation.status;
    let effective = reservation.effective_status(now);
    let refuse = || InvalidTransition {
        from: effective,
        action,
    };
    match (action, effective) {
        (Action::Confirm, Status::Held) => Ok(Status::Confirmed),
        (Action::Move, Status::Held | Status::Confirmed) => Ok(effective),
        (Action::Cancel, Status::Held | Status::Confirmed) => Ok(Status::Cancelled),
        (Action::Complete, Status::Confirmed) => Ok(Status::Completed),
        (Action::Extend, Status::Held) => Ok(Status::Held),
        (Action::Release, Status::Held) => Ok(Status::Cancelled),
        // Expire looks at the recorded state: a stale hold is still `Held`.
        (Action::Expire, _) if current == Status::Held && effective == Status::Expired => {
            Ok(Status::Expired)
        }
        _ => Err(refuse()),
    }
}

/// Whether a store may replace `before` with a state of `after`: the check
/// every store runs on write, independent of the service. Terminal states
/// stay terminal; otherwise the lifecycle graph above.
#[must_use]
pub fn status_change_allowed(before: Status, after: Status) -> bool {
    use Status::{Cancelled, Completed, Confirmed, Expired, Held};
    matches!(
        (before, after),
        (Held, Held | Confirmed | Cancelled | Expired)
            | (Confirmed, Confirmed | Completed | Cancelled)
    )
}

/// The first field a write would change that must never change after
/// creation (tenant, branch, service, buffers, products, price, creation
/// data), if any. Stores refuse such writes: stock movements and the price
/// snapshot depend on these staying put.
#[must_use]
pub fn immutable_field_changed(before: &Reservation, after: &Reservation) -> Option<&'static str> {
    let checks: [(&'static str, bool); 10] = [
        ("tenant_id", before.tenant_id == after.tenant_id),
        ("branch_id", before.branch_id == after.branch_id),
        ("service_id", before.service_id == after.service_id),
        ("buffer_before", before.buffer_before == after.buffer_before),
        ("buffer_after", before.buffer_after == after.buffer_after),
        ("lines", before.lines == after.lines),
        ("price", before.price == after.price),
        ("created_by", before.created_by == after.created_by),
        (
            "created_by_key",
            before.created_by_key == after.created_by_key,
        ),
        ("created_at", before.created_at == after.created_at),
    ];
    checks.iter().find(|(_, same)| !same).map(|(name, _)| *name)
}

/// The action an event kind records, for refusals.
#[must_use]
pub const fn action_of(kind: crate::ReservationEventKind) -> Action {
    use crate::ReservationEventKind as K;
    match kind {
        K::Held | K::Created | K::Confirmed => Action::Confirm,
        K::Moved => Action::Move,
        K::Cancelled => Action::Cancel,
        K::Completed => Action::Complete,
        K::Expired => Action::Expire,
        K::Extended => Action::Extend,
        K::Released => Action::Release,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::reservation_at;
    use chrono::Duration;

    #[test]
    fn terminal_states_stay_terminal() {
        for terminal in [Status::Completed, Status::Cancelled, Status::Expired] {
            let mut r = reservation_at(10, 11);
            r.status = terminal;
            for action in [
                Action::Confirm,
                Action::Move,
                Action::Cancel,
                Action::Complete,
                Action::Expire,
            ] {
                assert!(transition(&r, action, r.created_at).is_err());
            }
            for after in [
                Status::Held,
                Status::Confirmed,
                Status::Completed,
                Status::Cancelled,
                Status::Expired,
            ] {
                assert!(!status_change_allowed(terminal, after));
            }
        }
    }

    #[test]
    fn only_held_and_confirmed_reservations_can_move() {
        let mut r = reservation_at(10, 11);
        let now = r.created_at;
        assert_eq!(transition(&r, Action::Move, now), Ok(Status::Confirmed));
        r.status = Status::Held;
        r.hold_expires_at = Some(now + Duration::minutes(10));
        assert_eq!(transition(&r, Action::Move, now), Ok(Status::Held));
        r.status = Status::Completed;
        assert!(transition(&r, Action::Move, now).is_err());
    }

    #[test]
    fn a_hold_past_its_expiry_counts_as_expired() {
        let mut r = reservation_at(10, 11);
        let now = r.created_at;
        r.status = Status::Held;
        r.hold_expires_at = Some(now + Duration::minutes(10));
        assert!(r.is_active(now));
        let later = now + Duration::minutes(10);
        assert!(!r.is_active(later));
        assert_eq!(
            transition(&r, Action::Confirm, later),
            Err(InvalidTransition {
                from: Status::Expired,
                action: Action::Confirm
            })
        );
        assert_eq!(transition(&r, Action::Expire, later), Ok(Status::Expired));
        assert!(transition(&r, Action::Expire, now).is_err());
    }

    #[test]
    fn completing_needs_a_confirmed_reservation() {
        let mut r = reservation_at(10, 11);
        let now = r.created_at;
        assert_eq!(transition(&r, Action::Complete, now), Ok(Status::Completed));
        r.status = Status::Held;
        r.hold_expires_at = Some(now + Duration::minutes(10));
        assert!(transition(&r, Action::Complete, now).is_err());
    }

    #[test]
    fn bookings_of_one_resource_conflict_across_branches() {
        let a = reservation_at(10, 12);
        let mut b = reservation_at(11, 13);
        b.id = ReservationId::generate();
        b.branch_id = BranchId::generate();
        assert!(a.conflicts_with(&b, a.created_at));
        b.resource_id = ResourceId::generate();
        assert!(!a.conflicts_with(&b, a.created_at));
    }

    #[test]
    fn buffers_make_otherwise_touching_bookings_conflict() {
        let mut a = reservation_at(10, 11);
        let mut b = reservation_at(11, 12);
        b.id = ReservationId::generate();
        assert!(!a.conflicts_with(&b, a.created_at));
        a.buffer_after = Minutes::new(15).unwrap();
        assert!(a.conflicts_with(&b, a.created_at));
        a.buffer_after = Minutes::ZERO;
        b.buffer_before = Minutes::new(5).unwrap();
        assert!(a.conflicts_with(&b, a.created_at));
    }

    #[test]
    fn changing_products_or_branch_after_creation_is_detected() {
        let before = reservation_at(10, 11);
        let mut after = before.clone();
        after.range = reservation_at(12, 13).range;
        assert_eq!(immutable_field_changed(&before, &after), None);
        after.branch_id = BranchId::generate();
        assert_eq!(immutable_field_changed(&before, &after), Some("branch_id"));
    }

    #[test]
    fn cancelled_reservations_do_not_conflict() {
        let a = reservation_at(10, 12);
        let mut b = reservation_at(10, 12);
        b.id = ReservationId::generate();
        b.status = Status::Cancelled;
        assert!(!a.conflicts_with(&b, a.created_at));
    }
}
