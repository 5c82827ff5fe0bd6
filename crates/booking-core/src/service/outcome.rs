//! The `outcome` attribute of booking spans: one short, stable word per
//! result, for dashboards and searches.

use super::{Booked, CreateError, MoveError, TransitionError};

fn ok(b: &Booked) -> &'static str {
    if b.degraded { "degraded" } else { "created" }
}

pub(crate) fn of_create(r: &Result<Booked, CreateError>) -> &'static str {
    match r {
        Ok(b) => ok(b),
        Err(CreateError::SlotTaken(_)) => "slot_taken",
        Err(CreateError::OutOfStock(_)) => "out_of_stock",
        Err(CreateError::LockBusy(_)) => "lock_busy",
        Err(
            CreateError::Invalid(_)
            | CreateError::OutsideWorkingHours(_)
            | CreateError::ResourceNotAtBranch(_),
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
        Err(MoveError::LockBusy(_)) => "lock_busy",
        Err(MoveError::StaleVersion(_)) => "stale_version",
        Err(
            MoveError::Invalid(_)
            | MoveError::InvalidTransition(_)
            | MoveError::OutsideWorkingHours(_)
            | MoveError::ResourceNotAtBranch(_),
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
        Err(TransitionError::NotFound(_)) => "not_found",
        Err(TransitionError::Busy(_)) => "lock_busy",
        Err(TransitionError::Store(_)) => "error",
    }
}
