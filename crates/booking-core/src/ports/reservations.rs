//! The reservation half of the store: what a write is, what it answers,
//! and the reads.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::{
    ApiKeyId, Attribution, BranchId, Entity, Event, EventType, InvalidTransition, OutOfStock,
    Reservation, ReservationEventKind, ReservationId, ResourceId, ResourceNotAtBranch, Seq,
    SlotTaken, StaleVersion, StoreError, TenantId, TimeRange,
};

/// One reservation change, written atomically with its stock movements and
/// events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationWrite {
    /// The state after the change. The store sets `version` and `updated_at`
    /// itself.
    pub reservation: Reservation,
    /// `None` to create (the id must be new); `Some(v)` to change a
    /// reservation whose stored version must still be `v`.
    pub expected_version: Option<u64>,
    /// What happened, for the event.
    pub kind: ReservationEventKind,
    /// Who did it.
    pub by: Attribution,
    /// When; also the instant holds are judged stale against.
    pub at: DateTime<Utc>,
    /// For a new hold made with a key: how many unexpired holds that key
    /// (`created_by_key`) may keep, this one included.
    pub hold_quota: Option<u32>,
}

/// A committed write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The reservation as stored (new version).
    pub reservation: Reservation,
    /// Every event the transaction appended, in sequence order: expiries of
    /// stale holds that were in the way, the reservation event, then stock
    /// movements.
    pub events: Vec<Event>,
}

/// Why a store refused a reservation write. Every variant but `Store` is a
/// refusal of the request, never a backend failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Another active reservation of the resource overlaps.
    #[error(transparent)]
    SlotTaken(#[from] SlotTaken),
    /// Not enough units at the branch.
    #[error(transparent)]
    OutOfStock(#[from] OutOfStock),
    /// The stored version is not the expected one.
    #[error(transparent)]
    StaleVersion(#[from] StaleVersion),
    /// The lifecycle forbids the change.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The resource does not work at the branch.
    #[error(transparent)]
    ResourceNotAtBranch(#[from] ResourceNotAtBranch),
    /// A referenced record does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// A reservation with this id exists already (a create was replayed).
    #[error("reservation {0} already exists")]
    AlreadyExists(ReservationId),
    /// The key that makes this hold already keeps `max` unexpired holds.
    #[error("the key already keeps {max} unexpired holds")]
    HoldQuota {
        /// The limit.
        max: u32,
    },
    /// The write tried to change what never changes (tenant, branch,
    /// products, creation data).
    #[error("immutable field changed: {0}")]
    ImmutableField(&'static str),
    /// Concurrent writers kept the store from completing the write even
    /// after a retry (deadlock, serialization failure). Retrying soon helps.
    #[error("the store is busy with concurrent writes; retry")]
    Busy,
    /// A backend failure.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ApplyError {
    /// Keeps "not found" a refusal; everything else is a backend failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::NotFound(entity),
            other => Self::Store(other),
        }
    }
}

/// Where a page of reservations starts: after this (start, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReservationCursor {
    /// The last seen reservation's start.
    pub starts_at: DateTime<Utc>,
    /// The last seen reservation's id.
    pub id: ReservationId,
}

/// A page of a tenant's reservations, ordered by (start, id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationQuery {
    /// Only this branch.
    pub branch_id: Option<BranchId>,
    /// Only this resource.
    pub resource_id: Option<ResourceId>,
    /// Only reservations whose appointment overlaps this window.
    pub window: Option<TimeRange>,
    /// Continue after this position.
    pub after: Option<ReservationCursor>,
    /// At most this many (clamped to 1..=1000 by stores).
    pub limit: usize,
}

impl Default for ReservationQuery {
    fn default() -> Self {
        Self {
            branch_id: None,
            resource_id: None,
            window: None,
            after: None,
            limit: 100,
        }
    }
}

/// Reservations and the event log, read. (Writes go through the write
/// engine: [`crate::engine::apply`] over [`crate::WriteStore`].)
#[async_trait]
pub trait ReservationStore: Send + Sync + Debug {
    /// Reads a reservation.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Reservation, StoreError>;

    /// A page of reservations matching the query, ordered by (start, id).
    ///
    /// # Errors
    /// Backend failures only.
    async fn reservations(
        &self,
        tenant: TenantId,
        query: &ReservationQuery,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// The time occupied by the tenant's reservations of `resources` (at
    /// any branch) that are active at `at` — confirmed, completed, or held
    /// with a hold running past `at` — and overlap `window`: each as its
    /// resource and occupied range (buffers included), in any order.
    ///
    /// # Errors
    /// Backend failures only.
    async fn occupancy(
        &self,
        tenant: TenantId,
        resources: &[ResourceId],
        window: TimeRange,
        at: DateTime<Utc>,
    ) -> Result<Vec<(ResourceId, TimeRange)>, StoreError>;

    /// Holds whose time ran out by `now` but whose expiry is not recorded
    /// yet, across all tenants, at most `limit` (for the sweeper that
    /// records them). Tenants take turns: every tenant's soonest-expired
    /// hold comes before any tenant's second, and so on; within a turn,
    /// soonest-expired first (then by id).
    ///
    /// # Errors
    /// Backend failures only.
    async fn stale_holds(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// The tenant's events matching `query`, in sequence order: those
    /// with `seq > query.after`, of one of `query.types` (any if empty),
    /// about `query.entity` (see [`crate::EventPayload::subjects`]), made
    /// with `query.actor_key`, leaving out access events (tenants, keys)
    /// unless `query.include_access`; at most `query.limit` (clamped to
    /// 1..=1000). Every committed event is returned exactly once across
    /// pages, and an event is never visible before all events with lower
    /// numbers are.
    ///
    /// # Errors
    /// Backend failures only; [`StoreError::Internal`] for a stored event
    /// that does not decode (never skipped).
    async fn events(&self, tenant: TenantId, query: &EventQuery) -> Result<Vec<Event>, StoreError>;

    /// The number of the tenant's last committed event ([`Seq::ZERO`] for
    /// a tenant with none, or none at all): every event up to it is
    /// visible to [`Self::events`]. A client that reads the head, then
    /// the state, then follows the log from the head misses nothing.
    ///
    /// # Errors
    /// Backend failures only.
    async fn last_event_seq(&self, tenant: TenantId) -> Result<Seq, StoreError>;
}

/// Which of a tenant's events to read ([`ReservationStore::events`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events after this one.
    pub after: Seq,
    /// Only these types (all if empty).
    pub types: Vec<EventType>,
    /// Only events about this record (a reservation, branch, resource,
    /// service, product, key or the tenant).
    pub entity: Option<Uuid>,
    /// Only events made with this key.
    pub actor_key: Option<ApiKeyId>,
    /// Include events about tenants and keys (for administrators).
    pub include_access: bool,
    /// At most this many.
    pub limit: usize,
}

impl EventQuery {
    /// Every event after `after`, at most `limit`.
    #[must_use]
    pub const fn since(after: Seq, limit: usize) -> Self {
        Self {
            after,
            types: Vec::new(),
            entity: None,
            actor_key: None,
            include_access: true,
            limit,
        }
    }

    /// Whether `event` matches (what every store must return; the
    /// in-memory store filters with it).
    #[must_use]
    pub fn matches(&self, event: &Event) -> bool {
        let t = event.payload.event_type();
        event.seq > self.after
            && (self.types.is_empty() || self.types.contains(&t))
            && (self.include_access || !t.is_access())
            && self.actor_key.is_none_or(|k| event.by.key_id == Some(k))
            && self
                .entity
                .is_none_or(|id| event.payload.subjects().contains(&id))
    }
}

/// A complete store: catalog and reservation reads, access records, and
/// write transactions. Implemented automatically for every type that
/// implements all four.
pub trait BookingStore:
    crate::CatalogStore + ReservationStore + crate::AccessStore + crate::WriteStore
{
}

impl<T> BookingStore for T where
    T: crate::CatalogStore + ReservationStore + crate::AccessStore + crate::WriteStore + ?Sized
{
}
