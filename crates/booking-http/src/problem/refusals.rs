//! Each refusal of the use cases as a problem, with a stable `type` and
//! the fields that explain it.

use axum::http::StatusCode;
use booking_core::{
    AvailabilityError, Busy, CatalogError, CreateError, InvalidInput, KeyError, MoveError,
    StartRefused, StoreError, TransitionError,
};

use super::Problem;

impl From<InvalidInput> for Problem {
    fn from(e: InvalidInput) -> Self {
        Self::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::not_found(entity),
            StoreError::Unavailable(_) => {
                Self::unavailable("the database is unavailable; retry shortly")
            }
            StoreError::Internal(cause) => Self::internal(&cause),
        }
    }
}

impl From<CatalogError> for Problem {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(entity) => Self::not_found(entity),
            CatalogError::TooMuch { max, out: 0 } => {
                Self::invalid("stock", format!("at most {max} units per branch"))
            }
            CatalogError::TooMuch { max, out } => Self::invalid(
                "stock",
                format!(
                    "at most {max} units per branch, counting the {out} units out in \
                     reservations (they come back when those are cancelled or expire): at most \
                     {} now",
                    u64::from(max).saturating_sub(out)
                ),
            ),
            CatalogError::InUse(entity) => Self::new(
                StatusCode::CONFLICT,
                "in-use",
                "Still used by reservations",
                format!(
                    "{entity} is used by reservations, whose history keeps it; it cannot be deleted"
                ),
            )
            .with("entity", entity),
            CatalogError::Busy(b) => busy(b),
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<KeyError> for Problem {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound(entity) => Self::not_found(entity),
            KeyError::LastAdmin(id) => Self::new(
                StatusCode::CONFLICT,
                "last-admin-key",
                "The tenant's last admin key",
                format!(
                    "key {id} is the tenant's last active admin key: revoking or demoting it \
                     would lock the tenant out; create another admin key first"
                ),
            )
            .with("key_id", id),
            KeyError::Revoked(id) => Self::new(
                StatusCode::CONFLICT,
                "key-revoked",
                "The key is revoked",
                format!("key {id} is revoked and cannot be changed; create a new key"),
            )
            .with("key_id", id),
            KeyError::Invalid(e) => e.into(),
            KeyError::Busy(b) => busy(b),
            KeyError::Store(e) => e.into(),
        }
    }
}

fn busy(b: Busy) -> Problem {
    match b {
        Busy::Lock { waited } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Busy",
            "another booking of the same resource or stock is in progress; retry shortly",
        )
        .with(
            "waited_ms",
            u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        ),
        Busy::Store => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Busy",
            "the database is busy with concurrent writes; retry shortly",
        ),
    }
    .retry_after(1)
}

fn slot_taken(s: booking_core::SlotTaken) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "slot-taken",
        "The slot is taken",
        s.to_string(),
    )
    .with("conflicting_reservation_id", s.conflicting)
    .with("conflicting_range", s.range)
}

fn out_of_stock(o: booking_core::OutOfStock) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "out-of-stock",
        "Not enough stock",
        o.to_string(),
    )
    .with("product_id", o.product_id)
    .with("branch_id", o.branch_id)
    .with("requested", o.requested)
    .with("available", o.available)
}

fn not_at_branch(e: booking_core::ResourceNotAtBranch) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "resource-not-at-branch",
        "The resource does not work at this branch",
        e.to_string(),
    )
    .with("resource_id", e.resource_id)
    .with("branch_id", e.branch_id)
}

fn outside_hours(e: booking_core::OutsideWorkingHours) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside-working-hours",
        "Outside working hours",
        e.to_string(),
    )
    .with("resource_id", e.resource_id)
    .with("branch_id", e.branch_id)
}

fn stale(e: booking_core::StaleVersion) -> Problem {
    Problem::new(
        StatusCode::PRECONDITION_FAILED,
        "stale-version",
        "The reservation has changed",
        e.to_string(),
    )
    .with("expected_version", e.expected)
    .with("current_version", e.actual)
}

fn transition(e: booking_core::InvalidTransition) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "invalid-transition",
        "Not possible in this state",
        e.to_string(),
    )
    .with("status", e.from.as_str())
    .with("action", e.action)
}

fn start(e: StartRefused) -> Problem {
    let (kind, title) = match e {
        StartRefused::InThePast { .. } => ("in-the-past", "The start has passed"),
        StartRefused::TooSoon { .. } => ("too-soon", "Too soon to book"),
        StartRefused::BeyondHorizon { .. } => ("beyond-horizon", "Too far ahead to book"),
    };
    let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, kind, title, e.to_string())
        .with("field", "starts_at");
    match e {
        StartRefused::InThePast { now, .. } => problem.with("now", now),
        StartRefused::TooSoon { earliest, .. } => problem.with("earliest_start", earliest),
        StartRefused::BeyondHorizon { latest, .. } => problem.with("latest_start", latest),
    }
}

fn cannot_perform(e: booking_core::ResourceCannotPerform) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "resource-cannot-perform",
        "The resource does not perform this service",
        format!("{e}; pick one of the resources the service lists"),
    )
    .with("service_id", e.service_id)
    .with("resource_id", e.resource_id)
}

impl From<CreateError> for Problem {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Invalid(i) => i.into(),
            CreateError::NotFound(entity) => Self::not_found(entity),
            CreateError::ResourceNotAtBranch(x) => not_at_branch(x),
            CreateError::OutsideWorkingHours(x) => outside_hours(x),
            CreateError::SlotTaken(x) => slot_taken(x),
            CreateError::OutOfStock(x) => out_of_stock(x),
            CreateError::Start(x) => start(x),
            CreateError::CannotPerform(x) => cannot_perform(x),
            CreateError::HoldQuota { max } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "hold-quota",
                "Too many holds",
                format!(
                    "this key already keeps {max} unexpired holds; confirm or release one, or \
                     let one run out"
                ),
            )
            .with("max_active_holds_per_key", max),
            CreateError::HoldOutOfRange { max } => Self::invalid(
                "hold_minutes",
                format!("use 1 to {} minutes", max.num_minutes()),
            ),
            CreateError::Busy(x) => busy(x),
            CreateError::Store(x) => x.into(),
        }
    }
}

impl From<MoveError> for Problem {
    fn from(e: MoveError) -> Self {
        match e {
            MoveError::Invalid(i) => i.into(),
            MoveError::NotFound(entity) => Self::not_found(entity),
            MoveError::StaleVersion(x) => stale(x),
            MoveError::InvalidTransition(x) => transition(x),
            MoveError::ResourceNotAtBranch(x) => not_at_branch(x),
            MoveError::OutsideWorkingHours(x) => outside_hours(x),
            MoveError::SlotTaken(x) => slot_taken(x),
            MoveError::Start(x) => start(x),
            MoveError::CannotPerform(x) => cannot_perform(x),
            MoveError::Busy(x) => busy(x),
            MoveError::Store(x) => x.into(),
        }
    }
}

impl From<TransitionError> for Problem {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotFound(entity) => Self::not_found(entity),
            TransitionError::StaleVersion(x) => stale(x),
            TransitionError::InvalidTransition(x) => transition(x),
            TransitionError::HoldExpired {
                reservation,
                expired_at,
            } => Self::new(
                StatusCode::CONFLICT,
                "hold-expired",
                "The hold has run out",
                format!(
                    "hold {reservation} ran out at {}; its slot and stock are free — hold or \
                     book again",
                    expired_at.to_rfc3339()
                ),
            )
            .with("expired_at", expired_at),
            TransitionError::Busy(x) => busy(x),
            TransitionError::Store(x) => x.into(),
        }
    }
}

impl From<AvailabilityError> for Problem {
    fn from(e: AvailabilityError) -> Self {
        match e {
            AvailabilityError::NotFound(entity) => Self::not_found(entity),
            AvailabilityError::ResourceNotAtBranch(x) => not_at_branch(x),
            AvailabilityError::Invalid(x) => x.into(),
            AvailabilityError::TooManyResources { count, max } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too-many-resources",
                "Too many resources to look at",
                format!(
                    "{count} resources at the branch could serve; name at most {max} with \
                     resource_id (repeat it)"
                ),
            )
            .with("count", count)
            .with("max", max),
            AvailabilityError::Store(x) => x.into(),
        }
    }
}
