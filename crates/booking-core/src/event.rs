//! Events: every change is an audited, numbered event, and a reservation is
//! the projection of its events.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Actor, BranchId, ProductId, Reservation, ReservationId, Status, TenantId};

/// A tenant's event sequence number: 1, 2, 3, … assigned in commit order
/// with no gaps, so a client that has seen `n` knows exactly what it lacks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// Before the first event: `events_since(Seq::ZERO)` returns them all.
    pub const ZERO: Self = Self(0);

    /// The next number.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What happened to a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReservationEventKind {
    /// Created as a hold.
    Held,
    /// Created as a confirmed booking.
    Created,
    /// A hold was confirmed.
    Confirmed,
    /// Time and/or resource changed.
    Moved,
    /// Cancelled.
    Cancelled,
    /// Completed.
    Completed,
    /// A hold ran out.
    Expired,
}

impl ReservationEventKind {
    /// The state a reservation is in right after this event.
    #[must_use]
    pub const fn resulting_status(self, moved_from: Status) -> Status {
        match self {
            Self::Held => Status::Held,
            Self::Created | Self::Confirmed => Status::Confirmed,
            Self::Moved => moved_from,
            Self::Cancelled => Status::Cancelled,
            Self::Completed => Status::Completed,
            Self::Expired => Status::Expired,
        }
    }
}

/// Why a branch's stock changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "reservation_id", rename_all = "snake_case")]
pub enum StockCause {
    /// An administrator set the level.
    Set,
    /// An administrator added units.
    Restock,
    /// A reservation took or gave back units.
    Reservation(ReservationId),
}

/// The change an event records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    /// A reservation changed; `before` is `None` when it was created.
    Reservation {
        /// What happened.
        kind: ReservationEventKind,
        /// The projection before the change.
        before: Option<Box<Reservation>>,
        /// The projection after the change.
        after: Box<Reservation>,
    },
    /// A branch's stock of a product changed.
    StockAdjusted {
        /// The product.
        product_id: ProductId,
        /// The branch.
        branch_id: BranchId,
        /// Units before.
        before: u32,
        /// Units after.
        after: u32,
        /// Why.
        cause: StockCause,
    },
}

/// An event before the store numbers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What changed.
    pub payload: EventPayload,
}

/// A committed event: who, what, when, and its place in the tenant's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the tenant's log.
    pub seq: Seq,
    /// The tenant.
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What changed.
    pub payload: EventPayload,
}

impl Event {
    /// Numbers a new event.
    #[must_use]
    pub fn commit(new: NewEvent, tenant_id: TenantId, seq: Seq) -> Self {
        Self {
            seq,
            tenant_id,
            at: new.at,
            actor: new.actor,
            payload: new.payload,
        }
    }

    /// The reservation this event is about, if any.
    #[must_use]
    pub fn reservation_id(&self) -> Option<ReservationId> {
        self.payload.reservation_id()
    }

    /// A stable name for the event's kind, as pushed to clients.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.payload.type_name()
    }
}

impl EventPayload {
    /// The reservation this change is about, if any.
    #[must_use]
    pub fn reservation_id(&self) -> Option<ReservationId> {
        match self {
            Self::Reservation { after, .. } => Some(after.id),
            Self::StockAdjusted { .. } => None,
        }
    }

    /// A stable name for the change's kind, as stored and pushed to clients.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Reservation { kind, .. } => match kind {
                ReservationEventKind::Held => "ReservationHeld",
                ReservationEventKind::Created => "ReservationCreated",
                ReservationEventKind::Confirmed => "ReservationConfirmed",
                ReservationEventKind::Moved => "ReservationMoved",
                ReservationEventKind::Cancelled => "ReservationCancelled",
                ReservationEventKind::Completed => "ReservationCompleted",
                ReservationEventKind::Expired => "ReservationExpired",
            },
            Self::StockAdjusted { .. } => "StockChanged",
        }
    }
}

/// Why a reservation's events do not form a valid history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// An event's `before` is not the state the previous event left.
    #[error("event {seq}: `before` does not match the previous state")]
    Discontinuous {
        /// The offending event.
        seq: Seq,
    },
    /// The events are not in increasing sequence order.
    #[error("event {seq} is out of order")]
    OutOfOrder {
        /// The offending event.
        seq: Seq,
    },
    /// A state change the lifecycle forbids.
    #[error("event {seq}: {from:?} cannot become {to:?}")]
    IllegalTransition {
        /// The offending event.
        seq: Seq,
        /// State before.
        from: Status,
        /// State after.
        to: Status,
    },
}

/// Folds one reservation's events into its current state: the projection.
/// Checks that each event continues from the last and obeys the lifecycle.
///
/// # Errors
/// [`ProjectionError`] if the history is inconsistent.
pub fn project<'a>(
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<Option<Reservation>, ProjectionError> {
    let mut state: Option<Reservation> = None;
    let mut last_seq = Seq::ZERO;
    for event in events {
        let EventPayload::Reservation { before, after, .. } = &event.payload else {
            continue;
        };
        if event.seq <= last_seq {
            return Err(ProjectionError::OutOfOrder { seq: event.seq });
        }
        last_seq = event.seq;
        if before.as_deref() != state.as_ref() {
            return Err(ProjectionError::Discontinuous { seq: event.seq });
        }
        if let Some(prev) = &state
            && !crate::status_change_allowed(prev.status, after.status)
        {
            return Err(ProjectionError::IllegalTransition {
                seq: event.seq,
                from: prev.status,
                to: after.status,
            });
        }
        state = Some((**after).clone());
    }
    Ok(state)
}
