//! The `outcome` attribute of booking spans: one short, stable word per
//! result, for dashboards and searches.

use crate::{Applied, ApplyError};

use super::{Booked, Busy, CreateError, MoveError, TransitionError};

fn ok(b: &Booked) -> &'static str {
    if b.degraded { "degraded" } else { "created" }
}

const fn busy(b: Busy) -> &'static str {
    match b {
        Busy::Lock { .. } => "lock_busy",
        Busy::Store => "store_busy",
    }
}

pub(crate) fn of_create(r: &Result<Booked, CreateError>) -> &'static str {
    match r {
        Ok(b) => ok(b),
        Err(CreateError::SlotTaken(_)) => "slot_taken",
        Err(CreateError::OutOfStock(_)) => "out_of_stock",
        Err(CreateError::Busy(b)) => busy(*b),
        Err(CreateError::HoldQuota { .. }) => "hold_quota",
        Err(
            CreateError::Invalid(_)
            | CreateError::HoldOutOfRange { .. }
            | CreateError::OutsideWorkingHours(_)
            | CreateError::ResourceNotAtBranch(_)
            | CreateError::Start(_)
            | CreateError::CannotPerform(_),
        ) => "invalid",
        Err(CreateError::NotFound(_)) => "not_found",
        Err(CreateError::Store(_)) => "error",
    }
}

pub(crate) fn of_move(r: &Result<Booked, MoveError>) -> &'static str {
    match r {
        Ok(b) if b.degraded => "degraded",
        Ok(_) => "moved",
        Err(MoveError::SlotTaken(_)) => "slot_taken",
        Err(MoveError::Busy(b)) => busy(*b),
        Err(MoveError::StaleVersion(_)) => "stale_version",
        Err(
            MoveError::Invalid(_)
            | MoveError::InvalidTransition(_)
            | MoveError::OutsideWorkingHours(_)
            | MoveError::ResourceNotAtBranch(_)
            | MoveError::Start(_)
            | MoveError::CannotPerform(_),
        ) => "invalid",
        Err(MoveError::NotFound(_)) => "not_found",
        Err(MoveError::Store(_)) => "error",
    }
}

pub(crate) fn of_transition(r: &Result<Booked, TransitionError>) -> &'static str {
    match r {
        Ok(_) => "changed",
        Err(TransitionError::StaleVersion(_)) => "stale_version",
        Err(TransitionError::InvalidTransition(_)) => "invalid",
        Err(TransitionError::HoldExpired { .. }) => "hold_expired",
        Err(TransitionError::NotFound(_)) => "not_found",
        Err(TransitionError::Busy(b)) => busy(*b),
        Err(TransitionError::Store(_)) => "error",
    }
}

pub(crate) fn of_apply(r: &Result<Applied, ApplyError>) -> &'static str {
    match r {
        Ok(_) => "written",
        Err(ApplyError::SlotTaken(_)) => "slot_taken",
        Err(ApplyError::OutOfStock(_)) => "out_of_stock",
        Err(ApplyError::StaleVersion(_)) => "stale_version",
        Err(ApplyError::Busy) => "store_busy",
        Err(ApplyError::Store(_)) => "error",
        Err(_) => "refused",
    }
}

pub(crate) fn of_catalog<T>(r: &Result<T, crate::engine::CatalogError>) -> &'static str {
    use crate::engine::CatalogError as E;
    match r {
        Ok(_) => "written",
        Err(E::NotFound(_)) => "not_found",
        Err(E::InUse(_)) => "in_use",
        Err(E::TooMuch { .. }) => "invalid",
        Err(E::Busy(b)) => busy(*b),
        Err(E::Store(_)) => "error",
    }
}

/// Records `outcome` on an operation span, and `conflict` (the same word)
/// when another booking or writer was in the way, so counting conflicts
/// needs no knowledge of which outcomes are conflicts.
pub(crate) fn record(span: &tracing::Span, outcome: &'static str) {
    span.record("outcome", outcome);
    if matches!(
        outcome,
        "slot_taken" | "out_of_stock" | "stale_version" | "lock_busy" | "store_busy"
    ) {
        span.record("conflict", outcome);
    }
}
