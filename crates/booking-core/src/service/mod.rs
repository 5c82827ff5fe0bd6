//! The use cases, over injected ports: [`BookingService`] (create, move,
//! confirm, cancel, complete, the hold sweeper and the reservation reads),
//! [`CatalogService`] (catalog reads and writes, stock, the branch offer),
//! [`AccessService`] (tenants, keys, idempotency records) and [`EventLog`]
//! (the audit log). Build them all at once with [`Services::new`]. Every
//! write is recorded by events in its own transaction, and the events are
//! pushed to live clients once committed.
//!
//! Flow of a change that takes something scarce (a slot, stock):
//! validate → load the catalog → check branch membership and working hours
//! → resolve prices → lock every key it touches → write through the engine
//! ([`crate::engine`], which re-checks everything atomically) → release →
//! broadcast. If the lock service is unavailable the change proceeds on
//! the store alone and is reported as degraded: the store is the
//! authority.

mod access;
mod availability;
mod batcher;
mod catalog;
mod change;
mod create;
mod errors;
mod events;
mod outcome;
mod reads;
mod sweeper;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

pub use access::{AccessService, KeySpec, NewKey, Provisioned};
pub use availability::{
    Availability, AvailabilityError, AvailabilityRequest, MAX_RESOURCES, MAX_SLOTS, MAX_WINDOW,
    MIN_STEP_MINUTES, SlotKind,
};
pub use batcher::{Spawn, WriteBatching};
pub use catalog::{BranchOffer, CatalogService, OfferedProduct, OfferedResource, OfferedService};
pub use change::MoveReservation;
pub use create::NewReservation;
pub use errors::{Busy, CreateError, MoveError, TransitionError};
pub use events::EventLog;
pub use sweeper::{HoldSweeper, Swept};

use crate::{
    Applied, ApplyError, BookingStore, Branch, BranchId, Broadcaster, Clock, Event, LockError,
    LockGuard, LockKey, LockRequest, LockService, Reservation, ReservationWrite, ResourceBranch,
    ResourceId, TimeRange,
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

/// The ports every use case runs on.
#[derive(Clone, Debug)]
pub struct Ports {
    /// Reads, access records and write transactions.
    pub store: Arc<dyn BookingStore>,
    /// The lock (in-process, or shared by all nodes).
    pub locks: Arc<dyn LockService>,
    /// Live push of committed events.
    pub broadcaster: Arc<dyn Broadcaster>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// What the services share.
#[derive(Debug)]
struct Shared {
    ports: Ports,
    policy: BookingPolicy,
    /// Reservation writes arriving together go in one transaction.
    batcher: Option<Arc<batcher::Batcher>>,
}

/// Every use case, wired once.
#[derive(Clone, Debug)]
pub struct Services {
    bookings: BookingService,
    catalog: CatalogService,
    access: AccessService,
    events: EventLog,
}

impl Services {
    /// Wires the use cases over `ports`.
    #[must_use]
    pub fn new(ports: Ports, policy: BookingPolicy) -> Self {
        Self::wire(Shared {
            ports,
            policy,
            batcher: None,
        })
    }

    /// Wires the use cases over `ports`, writing the reservation changes
    /// that arrive while `batching.in_flight` batches are being written
    /// together, in one transaction each ([`WriteBatching`]).
    #[must_use]
    pub fn with_write_batching(
        ports: Ports,
        policy: BookingPolicy,
        batching: &WriteBatching,
    ) -> Self {
        let batcher = batcher::Batcher::new(Arc::clone(&ports.store), batching);
        Self::wire(Shared {
            ports,
            policy,
            batcher: Some(batcher),
        })
    }

    fn wire(shared: Shared) -> Self {
        let shared = Arc::new(shared);
        Self {
            bookings: BookingService(shared.clone()),
            catalog: CatalogService(shared.clone()),
            access: AccessService(shared.clone()),
            events: EventLog(shared),
        }
    }

    /// Reservations.
    #[must_use]
    pub fn bookings(&self) -> &BookingService {
        &self.bookings
    }

    /// The catalog.
    #[must_use]
    pub fn catalog(&self) -> &CatalogService {
        &self.catalog
    }

    /// Tenants, keys and idempotency.
    #[must_use]
    pub fn access(&self) -> &AccessService {
        &self.access
    }

    /// The audit log: every change, who made it, when.
    #[must_use]
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The current instant, by the services' clock.
    #[must_use]
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.bookings.now()
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

/// The reservation use cases.
#[derive(Clone, Debug)]
pub struct BookingService(Arc<Shared>);

/// Keys held while a future runs. If the future is dropped before the work
/// is done (the client went away and the server dropped the request), the
/// keys are released in the background instead of blocking everyone for
/// the lock's whole TTL.
struct Held<'a> {
    locks: &'a dyn LockService,
    guard: Option<LockGuard>,
}

impl Held<'_> {
    /// Releases the keys and waits for the answer.
    async fn release(mut self) {
        let Some(guard) = self.guard.as_ref() else {
            return;
        };
        match self.locks.release(guard).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("lock expired before release; the store guarded the write"),
            Err(e) => tracing::warn!(error = %e, "lock release failed; it will expire by TTL"),
        }
        // Released (or expired): nothing left for `drop` to do.
        self.guard = None;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            tracing::debug!("releasing the locks of a request that went away");
            self.locks.release_detached(guard);
        }
    }
}

/// Runs `work` holding every key of `keys`, or without the lock (degraded)
/// when the lock service is unavailable. Returns the work's result and
/// whether it ran degraded.
async fn under_lock<T, E, Fut>(
    shared: &Shared,
    keys: Vec<LockKey>,
    work: impl FnOnce() -> Fut,
) -> Result<(T, bool), E>
where
    Fut: Future<Output = Result<T, E>>,
    E: From<Busy>,
{
    let request = LockRequest::new(keys, shared.policy.lock_ttl, shared.policy.lock_wait);
    let span = tracing::info_span!(
        "lock.acquire",
        keys = request.keys().len(),
        state = tracing::field::Empty,
        waited_ms = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let locks = shared.ports.locks.as_ref();
    let acquired = locks.acquire(&request).instrument(span.clone()).await;
    span.record(
        "waited_ms",
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    let held = match acquired {
        Ok(guard) => {
            span.record("state", "acquired");
            Some(Held {
                locks,
                guard: Some(guard),
            })
        }
        Err(LockError::Busy { waited }) => {
            span.record("state", "busy");
            return Err(Busy::Lock { waited }.into());
        }
        Err(LockError::Unavailable(reason)) => {
            span.record("state", "unavailable");
            tracing::warn!(%reason, "lock service unavailable; continuing on the store alone (degraded)");
            None
        }
    };
    let result = work().await;
    let degraded = held.is_none();
    if let Some(held) = held {
        held.release().await;
    }
    result.map(|value| (value, degraded))
}

/// The engine's reservation write, in a `store.apply` span whose
/// `outcome` names the refusal. `retries` is recorded by the engine and
/// `sqlstate` by a SQL store when the database refused.
async fn traced_apply(shared: &Shared, write: ReservationWrite) -> Result<Applied, ApplyError> {
    let span = tracing::info_span!(
        "store.apply",
        outcome = tracing::field::Empty,
        retries = tracing::field::Empty,
        sqlstate = tracing::field::Empty,
    );
    let result = match &shared.batcher {
        Some(batcher) => {
            batcher::Batcher::apply(batcher, write)
                .instrument(span.clone())
                .await
        }
        None => {
            crate::engine::apply(shared.ports.store.as_ref(), write)
                .instrument(span.clone())
                .await
        }
    };
    span.record("outcome", outcome::of_apply(&result));
    result
}

/// Hands committed events to the broadcaster. A failure is logged, not
/// returned: the change is committed and clients catch up from the log.
async fn publish(shared: &Shared, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    let span = tracing::info_span!("broadcast", events = events.len());
    if let Err(e) = shared
        .ports
        .broadcaster
        .publish(events)
        .instrument(span)
        .await
    {
        tracing::warn!(error = %e, "broadcast failed; clients will catch up from the event log");
    }
}

/// Whether `range` is inside the resource's hours at the branch, in a
/// `booking.check` span.
fn within_hours(link: &ResourceBranch, branch: &Branch, range: &TimeRange) -> bool {
    tracing::info_span!("booking.check", check = "hours")
        .in_scope(|| link.schedule.permits(branch.time_zone, range))
}

/// Refuses unless `resource` performs `service`: a service that lists the
/// resources performing it is offered by those only (one listing none, by
/// any).
async fn performs<E: From<crate::StoreError> + From<crate::ResourceCannotPerform>>(
    store: &dyn BookingStore,
    tenant: crate::TenantId,
    service: crate::ServiceId,
    resource: ResourceId,
) -> Result<(), E> {
    let listed = store.service_resources(tenant, service).await?;
    performed_by(&listed, service, resource).map_err(E::from)
}

/// Refuses unless `resource` is among those `listed` as performing
/// `service`, or none is listed (any may).
fn performed_by(
    listed: &[ResourceId],
    service: crate::ServiceId,
    resource: ResourceId,
) -> Result<(), crate::ResourceCannotPerform> {
    if listed.is_empty() || listed.contains(&resource) {
        Ok(())
    } else {
        Err(crate::ResourceCannotPerform {
            service_id: service,
            resource_id: resource,
        })
    }
}

/// Names the branch and resource on the current operation span once the
/// reservation is loaded (moves and status changes know only its id).
fn record_place(branch: BranchId, resource: ResourceId) {
    let span = tracing::Span::current();
    span.record("branch_id", tracing::field::display(branch));
    span.record("resource_id", tracing::field::display(resource));
}
