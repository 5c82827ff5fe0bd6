//! The use cases: create, move, confirm, cancel, complete.
//!
//! Flow of a change that takes something scarce (a slot, stock):
//! validate → load the catalog → check branch membership and working hours
//! → resolve prices → lock every key it touches → check overlap → apply in
//! the store (which re-checks everything atomically) → release → broadcast.
//! If the lock service is unavailable the change proceeds on the store
//! alone and is reported as degraded: the store is the authority.

mod change;
mod create;
mod errors;
mod outcome;

use std::future::Future;

use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

pub use change::MoveReservation;
pub use create::NewReservation;
pub use errors::{CreateError, LockBusy, MoveError, TransitionError};

use crate::{
    Applied, ApplyError, BookingStore, Branch, BranchId, Broadcaster, Clock, Event, LockError,
    LockKey, LockRequest, LockService, Reservation, ReservationId, ReservationWrite,
    ResourceBranch, ResourceId, SlotTaken, TimeRange,
};

/// Tunables of the use cases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingPolicy {
    /// Lock time-to-live: how long a crashed holder blocks others.
    pub lock_ttl: Duration,
    /// How long a booking waits for a busy lock before answering busy.
    pub lock_wait: Duration,
    /// Most product lines per reservation.
    pub max_products: usize,
    /// Longest hold.
    pub max_hold: chrono::Duration,
}

impl Default for BookingPolicy {
    fn default() -> Self {
        Self {
            lock_ttl: Duration::from_secs(30),
            lock_wait: Duration::from_secs(5),
            max_products: 20,
            max_hold: chrono::Duration::hours(24),
        }
    }
}

/// The result of a successful change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booked {
    /// The reservation as stored.
    pub reservation: Reservation,
    /// The events committed with it, in sequence order.
    pub events: Vec<Event>,
    /// The lock service was unavailable; the store alone guarded the change.
    pub degraded: bool,
}

/// The booking use cases over injected ports.
#[derive(Clone, Debug)]
pub struct BookingService {
    store: Arc<dyn BookingStore>,
    locks: Arc<dyn LockService>,
    broadcaster: Arc<dyn Broadcaster>,
    clock: Arc<dyn Clock>,
    policy: BookingPolicy,
}

impl BookingService {
    /// Wires the service.
    #[must_use]
    pub fn new(
        store: Arc<dyn BookingStore>,
        locks: Arc<dyn LockService>,
        broadcaster: Arc<dyn Broadcaster>,
        clock: Arc<dyn Clock>,
        policy: BookingPolicy,
    ) -> Self {
        Self {
            store,
            locks,
            broadcaster,
            clock,
            policy,
        }
    }

    /// The store, for reads (catalog, reservations, events).
    #[must_use]
    pub fn store(&self) -> &Arc<dyn BookingStore> {
        &self.store
    }

    /// The clock the service judges holds by.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &BookingPolicy {
        &self.policy
    }

    /// Runs `work` holding every key, or without the lock (degraded) when
    /// the lock service is unavailable. Returns the work's result and
    /// whether it ran degraded.
    async fn under_lock<T, E, Fut>(
        &self,
        keys: Vec<LockKey>,
        work: impl FnOnce() -> Fut,
    ) -> Result<(T, bool), E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: From<LockBusy>,
    {
        let request = LockRequest::new(keys, self.policy.lock_ttl, self.policy.lock_wait);
        let span = tracing::info_span!(
            "lock.acquire",
            keys = request.keys().len(),
            state = tracing::field::Empty,
            waited_ms = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let acquired = self.locks.acquire(&request).instrument(span.clone()).await;
        span.record(
            "waited_ms",
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        let guard = match acquired {
            Ok(guard) => {
                span.record("state", "acquired");
                Some(guard)
            }
            Err(LockError::Busy { waited }) => {
                span.record("state", "busy");
                return Err(LockBusy { waited }.into());
            }
            Err(LockError::Unavailable(reason)) => {
                span.record("state", "unavailable");
                tracing::warn!(%reason, "lock service unavailable; continuing on the store alone (degraded)");
                None
            }
        };
        let result = work().await;
        if let Some(guard) = &guard {
            match self.locks.release(guard).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lock expired before release; the store guarded the write")
                }
                Err(e) => tracing::warn!(error = %e, "lock release failed; it will expire by TTL"),
            }
        }
        result.map(|value| (value, guard.is_none()))
    }

    /// Checks under the lock that the slot is free, then writes. Under the
    /// lock nobody else can take this slot, so a "taken" answer here is
    /// final and costs no failed transaction; the store re-checks anyway.
    /// Stock is checked by `apply` alone: it first expires stale holds that
    /// still keep units, which a read here cannot account for.
    async fn apply_if_free(
        &self,
        write: ReservationWrite,
        exclude: Option<ReservationId>,
    ) -> Result<Applied, ApplyError> {
        let r = &write.reservation;
        let taken = self
            .store
            .conflicts(r.tenant_id, r.resource_id, &r.occupied(), write.at, exclude)
            .instrument(tracing::info_span!(
                "booking.check",
                check = "overlap",
                resource_id = %r.resource_id
            ))
            .await?;
        if let Some(other) = taken.first() {
            return Err(SlotTaken {
                conflicting: other.id,
                range: other.occupied(),
            }
            .into());
        }
        self.traced_apply(write).await
    }

    /// The store write, in a `store.apply` span whose `outcome` names the
    /// refusal. `retries` and `sqlstate` are recorded by the store adapter
    /// (through `Span::current()`) when it retried or the database refused.
    pub(crate) async fn traced_apply(
        &self,
        write: ReservationWrite,
    ) -> Result<Applied, ApplyError> {
        let span = tracing::info_span!(
            "store.apply",
            outcome = tracing::field::Empty,
            retries = tracing::field::Empty,
            sqlstate = tracing::field::Empty,
        );
        let result = self.store.apply(write).instrument(span.clone()).await;
        span.record("outcome", outcome::of_apply(&result));
        result
    }

    /// Hands committed events to the broadcaster (also for changes made
    /// outside the use cases, such as stock adjustments). A failure is
    /// logged, not returned: the change is committed and clients catch up
    /// from the log.
    pub async fn publish(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let span = tracing::info_span!("broadcast", events = events.len());
        if let Err(e) = self.broadcaster.publish(events).instrument(span).await {
            tracing::warn!(error = %e, "broadcast failed; clients will catch up from the event log");
        }
    }
}

/// Whether `range` is inside the resource's hours at the branch, in a
/// `booking.check` span.
fn within_hours(link: &ResourceBranch, branch: &Branch, range: &TimeRange) -> bool {
    tracing::info_span!("booking.check", check = "hours")
        .in_scope(|| link.schedule.permits(branch.time_zone, range))
}

/// Names the branch and resource on the current operation span once the
/// reservation is loaded (moves and status changes know only its id).
fn record_place(branch: BranchId, resource: ResourceId) {
    let span = tracing::Span::current();
    span.record("branch_id", tracing::field::display(branch));
    span.record("resource_id", tracing::field::display(resource));
}
