//! Typed errors per use case. Each lists only what that operation can
//! answer, so a caller (the HTTP layer) maps them exhaustively.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    ApplyError, Entity, InvalidInput, InvalidTransition, OutOfStock, OutsideWorkingHours,
    ReservationId, ResourceCannotPerform, ResourceNotAtBranch, SlotTaken, StaleVersion,
    StartRefused, StoreError,
};

/// Someone else is changing the same thing right now; retrying soon may
/// succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    /// A key stayed locked past the deadline: another booking of the same
    /// resource or stock is in progress.
    #[error(
        "busy: another booking of the same resource or stock is in progress (waited {waited:?})"
    )]
    Lock {
        /// How long the request waited.
        waited: Duration,
    },
    /// Concurrent writes kept the store from completing the write even
    /// after a retry (deadlock, serialization failure).
    #[error("busy: the store is busy with concurrent writes")]
    Store,
}

/// Why a reservation was not created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// The request is well-formed but not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// A hold was asked for a duration outside what the policy allows.
    #[error("a hold must last between 1 minute and {} minutes", max.num_minutes())]
    HoldOutOfRange {
        /// The longest hold allowed.
        max: chrono::Duration,
    },
    /// A referenced record does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The resource does not work at the branch.
    #[error(transparent)]
    ResourceNotAtBranch(#[from] ResourceNotAtBranch),
    /// The time is outside the resource's working hours.
    #[error(transparent)]
    OutsideWorkingHours(#[from] OutsideWorkingHours),
    /// The start is in the past, too soon or beyond the horizon.
    #[error(transparent)]
    Start(#[from] StartRefused),
    /// The resource does not perform the service.
    #[error(transparent)]
    CannotPerform(#[from] ResourceCannotPerform),
    /// The slot is taken.
    #[error(transparent)]
    SlotTaken(#[from] SlotTaken),
    /// Not enough stock.
    #[error(transparent)]
    OutOfStock(#[from] OutOfStock),
    /// The key keeps as many unexpired holds as the tenant allows.
    #[error("this key already keeps {max} unexpired holds; confirm or release one first")]
    HoldQuota {
        /// The tenant's limit per key.
        max: u32,
    },
    /// The lock or the store stayed busy.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Why a reservation was not moved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The request is well-formed but not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The reservation or new resource does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The reservation changed since the caller read it.
    #[error(transparent)]
    StaleVersion(#[from] StaleVersion),
    /// The reservation cannot move in its state.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The new resource does not work at the reservation's branch.
    #[error(transparent)]
    ResourceNotAtBranch(#[from] ResourceNotAtBranch),
    /// The new time is outside working hours.
    #[error(transparent)]
    OutsideWorkingHours(#[from] OutsideWorkingHours),
    /// The new start is in the past, too soon or beyond the horizon.
    #[error(transparent)]
    Start(#[from] StartRefused),
    /// The new resource does not perform the reservation's service.
    #[error(transparent)]
    CannotPerform(#[from] ResourceCannotPerform),
    /// The new slot is taken.
    #[error(transparent)]
    SlotTaken(#[from] SlotTaken),
    /// The lock or the store stayed busy.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Why a reservation was not confirmed, cancelled or completed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The reservation does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The reservation changed since the caller read it.
    #[error(transparent)]
    StaleVersion(#[from] StaleVersion),
    /// The lifecycle forbids the change.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The hold ran out: it can be neither confirmed nor extended.
    #[error("hold {reservation} expired at {expired_at}")]
    HoldExpired {
        /// The hold.
        reservation: ReservationId,
        /// When it ran out.
        expired_at: DateTime<Utc>,
    },
    /// Concurrent writes kept the store busy; retrying soon helps.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// A store answer that this operation cannot produce unless a store is
/// broken: report it as an internal store failure, never as a refusal.
fn unexpected(e: &ApplyError) -> StoreError {
    StoreError::Internal(format!("unexpected store answer: {e}"))
}

macro_rules! from_store_error {
    ($ty:ident) => {
        impl From<StoreError> for $ty {
            fn from(e: StoreError) -> Self {
                match e {
                    StoreError::NotFound(entity) => Self::NotFound(entity),
                    other => Self::Store(other),
                }
            }
        }
    };
}
from_store_error!(CreateError);
from_store_error!(MoveError);
from_store_error!(TransitionError);

impl From<ApplyError> for CreateError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::SlotTaken(x) => x.into(),
            ApplyError::OutOfStock(x) => x.into(),
            ApplyError::ResourceNotAtBranch(x) => x.into(),
            ApplyError::HoldQuota { max } => Self::HoldQuota { max },
            ApplyError::NotFound(x) => Self::NotFound(x),
            ApplyError::Busy => Busy::Store.into(),
            ApplyError::Store(x) => x.into(),
            other => Self::Store(unexpected(&other)),
        }
    }
}

impl From<ApplyError> for MoveError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::SlotTaken(x) => x.into(),
            ApplyError::StaleVersion(x) => x.into(),
            ApplyError::InvalidTransition(x) => x.into(),
            ApplyError::ResourceNotAtBranch(x) => x.into(),
            ApplyError::NotFound(x) => Self::NotFound(x),
            ApplyError::Busy => Busy::Store.into(),
            ApplyError::Store(x) => x.into(),
            other => Self::Store(unexpected(&other)),
        }
    }
}

impl From<ApplyError> for TransitionError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::StaleVersion(x) => x.into(),
            ApplyError::InvalidTransition(x) => x.into(),
            ApplyError::NotFound(x) => Self::NotFound(x),
            ApplyError::Busy => Busy::Store.into(),
            ApplyError::Store(x) => x.into(),
            other => Self::Store(unexpected(&other)),
        }
    }
}
