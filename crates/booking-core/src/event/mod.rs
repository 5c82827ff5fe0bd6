//! Events: every change is an audited, numbered event — reservations,
//! stock, the catalog, tenants and keys — and a reservation is the
//! projection of its events.
//!
//! An event is [`Attribution`] (who: the key's actor name and id, the
//! request), an instant, and an [`EventPayload`]: one variant per
//! [`EventType`], each carrying an explicit, versioned payload struct from
//! [`payload`] (never a domain or API type). The log is append-only and
//! kept forever; [`EventPayload::decode`] reads every payload version ever
//! written.
//!
//! ## Layout
//!
//! `payload.rs` the payload structs (the log's schema); `catalog.rs` which
//! events a catalog record change records; this file the event, its types,
//! its wire envelope and the reservation projection.

mod catalog;
pub mod payload;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use catalog::catalog_events;
use payload::{
    BranchChange, KeyChange, ProductChange, ProductPriceChange, ReservationChange,
    ReservationSnapshot, ResourceChange, ScheduleChange, ServiceChange, ServicePriceChange,
    ServiceResourceChange, SettingsChange, StockLevelChange, TenantCreated,
};

use crate::{Actor, ApiKey, ApiKeyId, BranchId, RequestId, Reservation, ReservationId, Status};
use crate::{TenantId, status_change_allowed};

/// The version of the payload structs this code writes. Rows keep the
/// version they were written with; [`EventPayload::decode`] reads each.
pub const PAYLOAD_VERSION: u16 = 1;

/// A tenant's event sequence number: 1, 2, 3, … assigned in commit order
/// with no gaps, so a client that has seen `n` knows exactly what it lacks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// Before the first event: a query after `Seq::ZERO` returns them all.
    pub const ZERO: Self = Self(0);

    /// The largest number a log can reach: stores keep it as a signed
    /// 64-bit integer. A position past it names no event that can exist.
    pub const MAX: Self = Self(i64::MAX.unsigned_abs());

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

/// Who made a change, as every event records it: the acting key's actor
/// name and id, and the request it came with. Changes the system makes by
/// itself (hold expiry) have no key; the command line bootstraps without
/// one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribution {
    /// The actor name (the key's, or `system`).
    pub actor: Actor,
    /// The key that made the change.
    pub key_id: Option<ApiKeyId>,
    /// The request that made it (its `x-request-id`).
    pub request_id: Option<RequestId>,
}

impl Attribution {
    /// A change made through `key`, in the request `request_id`.
    #[must_use]
    pub fn key(key: &ApiKey, request_id: Option<RequestId>) -> Self {
        Self {
            actor: key.actor.clone(),
            key_id: Some(key.id),
            request_id,
        }
    }

    /// A change made by someone without a key (the command line, an
    /// embedding program), named `actor`.
    #[must_use]
    pub const fn named(actor: Actor) -> Self {
        Self {
            actor,
            key_id: None,
            request_id: None,
        }
    }

    /// A change the system makes by itself (hold expiry).
    #[must_use]
    pub fn system() -> Self {
        Self::named(Actor::system())
    }

    /// A change the system makes by itself while serving this request (a
    /// stale hold expired because a booking needed its slot).
    #[must_use]
    pub fn system_in(&self) -> Self {
        Self {
            request_id: self.request_id.clone(),
            ..Self::system()
        }
    }
}

/// What happened to a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// A hold was given more time.
    Extended,
    /// A hold was let go before it ran out.
    Released,
}

/// Declares every event type once: [`EventType`] (the stored and sent
/// `type`), [`EventPayload`] (its payload struct) and the code that maps
/// one to the other and decodes stored payloads.
macro_rules! events {
    ($($(#[$doc:meta])* $name:ident($payload:ty),)*) => {
        /// The kind of an event: its `type`, as stored and sent.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventType {
            $($(#[$doc])* $name,)*
        }

        impl EventType {
            /// Every type, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$name,)*];

            /// The name, as stored and sent (`ReservationCreated`, …).
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }

            /// The OpenAPI schema of this type's payload, and the schemas
            /// it refers to.
            #[cfg(feature = "openapi")]
            #[must_use]
            pub fn payload_schema(
                self,
            ) -> (
                String,
                utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
            ) {
                fn of<T: utoipa::ToSchema>() -> (
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                    Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
                ) {
                    let mut nested = Vec::new();
                    T::schemas(&mut nested);
                    (T::name().into_owned(), T::schema(), nested)
                }
                match self {
                    $(Self::$name => of::<$payload>(),)*
                }
            }
        }

        /// What an event records: one variant per [`EventType`], with its
        /// payload struct.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum EventPayload {
            $($(#[$doc])* $name($payload),)*
        }

        impl EventPayload {
            /// The event's type.
            #[must_use]
            pub const fn event_type(&self) -> EventType {
                match self {
                    $(Self::$name(_) => EventType::$name,)*
                }
            }

            /// The payload as JSON, in the current [`PAYLOAD_VERSION`].
            #[must_use]
            pub fn data(&self) -> serde_json::Value {
                let value = match self {
                    $(Self::$name(p) => serde_json::to_value(p),)*
                };
                // Plain structs of strings, numbers and maps with string
                // keys always serialize.
                value.unwrap_or_default()
            }

            /// Reads a stored payload: its type, the version it was written
            /// with, and its JSON.
            ///
            /// # Errors
            /// [`EventDecodeError`] for an unknown type or version, or JSON
            /// that does not fit the type's payload.
            pub fn decode(
                event_type: &str,
                version: u16,
                data: serde_json::Value,
            ) -> Result<Self, EventDecodeError> {
                let t: EventType = event_type.parse()?;
                if version != PAYLOAD_VERSION {
                    return Err(EventDecodeError::UnknownVersion { event_type: t, version });
                }
                let bad = |e: serde_json::Error| EventDecodeError::Invalid {
                    event_type: t,
                    reason: e.to_string(),
                };
                match t {
                    $(EventType::$name => serde_json::from_value(data).map(Self::$name).map_err(bad),)*
                }
            }
        }
    };
}

events! {
    /// A reservation was created as a hold.
    ReservationHeld(ReservationChange),
    /// A reservation was created as a booking.
    ReservationCreated(ReservationChange),
    /// A hold was confirmed.
    ReservationConfirmed(ReservationChange),
    /// A reservation's time and/or resource changed.
    ReservationMoved(ReservationChange),
    /// A reservation was cancelled.
    ReservationCancelled(ReservationChange),
    /// A reservation was completed.
    ReservationCompleted(ReservationChange),
    /// A hold ran out.
    ReservationExpired(ReservationChange),
    /// A hold was given more time.
    ReservationExtended(ReservationChange),
    /// A hold was let go before it ran out (slot and stock free at once).
    ReservationReleased(ReservationChange),
    /// A branch's stock of a product changed.
    StockChanged(StockLevelChange),
    /// A branch was created.
    BranchCreated(BranchChange),
    /// A branch was renamed or moved to another time zone.
    BranchUpdated(BranchChange),
    /// A branch was deleted.
    BranchDeleted(BranchChange),
    /// A resource was created.
    ResourceCreated(ResourceChange),
    /// A resource changed.
    ResourceUpdated(ResourceChange),
    /// A resource was deleted.
    ResourceDeleted(ResourceChange),
    /// A service was created.
    ServiceCreated(ServiceChange),
    /// A service changed (name, duration, base price, buffers).
    ServiceUpdated(ServiceChange),
    /// A service was deleted.
    ServiceDeleted(ServiceChange),
    /// A product was created.
    ProductCreated(ProductChange),
    /// A product changed (name, base price).
    ProductUpdated(ProductChange),
    /// A product was deleted.
    ProductDeleted(ProductChange),
    /// A resource started working at a branch.
    ResourceLinked(ScheduleChange),
    /// A resource's working hours or exceptions at a branch changed.
    WorkingHoursChanged(ScheduleChange),
    /// A resource stopped working at a branch.
    ResourceUnlinked(ScheduleChange),
    /// A branch's own price for a service was set.
    ServicePriceSet(ServicePriceChange),
    /// A branch's own price for a service was cleared.
    ServicePriceCleared(ServicePriceChange),
    /// A branch's own price for a product was set.
    ProductPriceSet(ProductPriceChange),
    /// A branch's own price for a product was cleared.
    ProductPriceCleared(ProductPriceChange),
    /// A resource now performs a service.
    ServiceResourceAdded(ServiceResourceChange),
    /// A resource no longer performs a service.
    ServiceResourceRemoved(ServiceResourceChange),
    /// The tenant's booking settings changed.
    SettingsChanged(SettingsChange),
    /// A tenant was created.
    TenantCreated(TenantCreated),
    /// An API key was created.
    ApiKeyCreated(KeyChange),
    /// An API key was revoked.
    ApiKeyRevoked(KeyChange),
    /// An API key's role changed.
    ApiKeyRoleChanged(KeyChange),
}

/// A stored event that this code cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventDecodeError {
    /// No such event type.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// A payload version this code does not know.
    #[error("{} payload version {version} is unknown", event_type.as_str())]
    UnknownVersion {
        /// The type.
        event_type: EventType,
        /// The version.
        version: u16,
    },
    /// The JSON does not fit the type's payload.
    #[error("{} payload: {reason}", event_type.as_str())]
    Invalid {
        /// The type.
        event_type: EventType,
        /// What is wrong.
        reason: String,
    },
}

impl std::str::FromStr for EventType {
    type Err = EventDecodeError;

    /// Parses the names of [`EventType::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| EventDecodeError::UnknownType(s.to_owned()))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EventType {
    /// Events about tenants and API keys: only administrators read them.
    #[must_use]
    pub const fn is_access(self) -> bool {
        matches!(
            self,
            Self::TenantCreated
                | Self::ApiKeyCreated
                | Self::ApiKeyRevoked
                | Self::ApiKeyRoleChanged
        )
    }
}

impl ReservationEventKind {
    /// The state a reservation is in right after this event.
    #[must_use]
    pub const fn resulting_status(self, moved_from: Status) -> Status {
        match self {
            Self::Held => Status::Held,
            Self::Created | Self::Confirmed => Status::Confirmed,
            Self::Moved => moved_from,
            Self::Cancelled | Self::Released => Status::Cancelled,
            Self::Completed => Status::Completed,
            Self::Expired => Status::Expired,
            Self::Extended => Status::Held,
        }
    }

    /// The event type that records it.
    #[must_use]
    pub const fn event_type(self) -> EventType {
        match self {
            Self::Held => EventType::ReservationHeld,
            Self::Created => EventType::ReservationCreated,
            Self::Confirmed => EventType::ReservationConfirmed,
            Self::Moved => EventType::ReservationMoved,
            Self::Cancelled => EventType::ReservationCancelled,
            Self::Completed => EventType::ReservationCompleted,
            Self::Expired => EventType::ReservationExpired,
            Self::Extended => EventType::ReservationExtended,
            Self::Released => EventType::ReservationReleased,
        }
    }
}

impl EventPayload {
    /// The payload recording a reservation change.
    #[must_use]
    pub fn reservation(
        kind: ReservationEventKind,
        before: Option<&Reservation>,
        after: &Reservation,
    ) -> Self {
        let change = ReservationChange {
            before: before.map(Into::into),
            after: after.into(),
        };
        match kind {
            ReservationEventKind::Held => Self::ReservationHeld(change),
            ReservationEventKind::Created => Self::ReservationCreated(change),
            ReservationEventKind::Confirmed => Self::ReservationConfirmed(change),
            ReservationEventKind::Moved => Self::ReservationMoved(change),
            ReservationEventKind::Cancelled => Self::ReservationCancelled(change),
            ReservationEventKind::Completed => Self::ReservationCompleted(change),
            ReservationEventKind::Expired => Self::ReservationExpired(change),
            ReservationEventKind::Extended => Self::ReservationExtended(change),
            ReservationEventKind::Released => Self::ReservationReleased(change),
        }
    }

    /// The reservation change this records, if it is about a reservation.
    #[must_use]
    pub const fn reservation_change(&self) -> Option<&ReservationChange> {
        match self {
            Self::ReservationHeld(c)
            | Self::ReservationCreated(c)
            | Self::ReservationConfirmed(c)
            | Self::ReservationMoved(c)
            | Self::ReservationCancelled(c)
            | Self::ReservationCompleted(c)
            | Self::ReservationExpired(c)
            | Self::ReservationExtended(c)
            | Self::ReservationReleased(c) => Some(c),
            _ => None,
        }
    }

    /// The reservation this change is about, if any.
    #[must_use]
    pub fn reservation_id(&self) -> Option<ReservationId> {
        self.reservation_change()
            .map(|c| ReservationId::from_uuid(c.after.id))
    }

    /// A stable name for the change's kind, as stored and pushed to clients.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        self.event_type().as_str()
    }

    /// The ids of the records this event is about (an item's history is
    /// the events with its id here): the reservation; the branch, resource,
    /// service or product; both ends of a link, branch price or stock
    /// record; the tenant; the key.
    #[must_use]
    pub fn subjects(&self) -> Vec<Uuid> {
        fn one<T>(after: Option<&T>, before: Option<&T>, id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
            after.or(before).map(id).into_iter().collect()
        }
        match self {
            Self::StockChanged(c) => vec![c.product_id, c.branch_id],
            Self::BranchCreated(c) | Self::BranchUpdated(c) | Self::BranchDeleted(c) => {
                one(c.after.as_ref(), c.before.as_ref(), |s| s.id)
            }
            Self::ResourceCreated(c) | Self::ResourceUpdated(c) | Self::ResourceDeleted(c) => {
                one(c.after.as_ref(), c.before.as_ref(), |s| s.id)
            }
            Self::ServiceCreated(c) | Self::ServiceUpdated(c) | Self::ServiceDeleted(c) => {
                one(c.after.as_ref(), c.before.as_ref(), |s| s.id)
            }
            Self::ProductCreated(c) | Self::ProductUpdated(c) | Self::ProductDeleted(c) => {
                one(c.after.as_ref(), c.before.as_ref(), |s| s.id)
            }
            Self::ResourceLinked(c) | Self::WorkingHoursChanged(c) | Self::ResourceUnlinked(c) => {
                vec![c.resource_id, c.branch_id]
            }
            Self::ServicePriceSet(c) | Self::ServicePriceCleared(c) => {
                vec![c.service_id, c.branch_id]
            }
            Self::ProductPriceSet(c) | Self::ProductPriceCleared(c) => {
                vec![c.product_id, c.branch_id]
            }
            Self::TenantCreated(c) => vec![c.tenant_id],
            Self::ServiceResourceAdded(c) | Self::ServiceResourceRemoved(c) => {
                vec![c.service_id, c.resource_id]
            }
            Self::SettingsChanged(c) => vec![c.tenant_id],
            Self::ApiKeyCreated(c) | Self::ApiKeyRevoked(c) | Self::ApiKeyRoleChanged(c) => {
                vec![c.after.id]
            }
            other => other
                .reservation_change()
                .map(|c| vec![c.after.id])
                .unwrap_or_default(),
        }
    }

    /// The branch this event concerns, if it concerns one branch (a
    /// calendar of one branch needs it); `None` for tenant-wide changes (a
    /// resource renamed, a product's base price).
    #[must_use]
    pub fn branch_id(&self) -> Option<BranchId> {
        let id = match self {
            Self::StockChanged(c) => c.branch_id,
            Self::BranchCreated(c) | Self::BranchUpdated(c) | Self::BranchDeleted(c) => {
                c.after.as_ref().or(c.before.as_ref())?.id
            }
            Self::ResourceLinked(c) | Self::WorkingHoursChanged(c) | Self::ResourceUnlinked(c) => {
                c.branch_id
            }
            Self::ServicePriceSet(c) | Self::ServicePriceCleared(c) => c.branch_id,
            Self::ProductPriceSet(c) | Self::ProductPriceCleared(c) => c.branch_id,
            other => other.reservation_change()?.after.branch_id,
        };
        Some(BranchId::from_uuid(id))
    }
}

/// An event before the store numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub by: Attribution,
    /// What changed.
    pub payload: EventPayload,
}

/// A committed event: who, what, when, and its place in the tenant's log.
///
/// Its JSON (the stream's messages, the backplane, the API's event lists)
/// is one envelope: `{"seq", "tenant_id", "type", "version", "at",
/// "actor", "actor_key_id", "request_id", "data"}`, `data` being the
/// payload struct of `type` at `version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Envelope", try_from = "Envelope")]
pub struct Event {
    /// Position in the tenant's log.
    pub seq: Seq,
    /// The tenant.
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub by: Attribution,
    /// What changed.
    pub payload: EventPayload,
}

/// The wire shape of an [`Event`].
#[derive(Serialize, Deserialize)]
struct Envelope {
    seq: Seq,
    tenant_id: TenantId,
    #[serde(rename = "type")]
    event_type: String,
    version: u16,
    at: DateTime<Utc>,
    actor: Actor,
    actor_key_id: Option<ApiKeyId>,
    request_id: Option<RequestId>,
    data: serde_json::Value,
}

impl From<Event> for Envelope {
    fn from(e: Event) -> Self {
        Self {
            seq: e.seq,
            tenant_id: e.tenant_id,
            event_type: e.payload.type_name().to_owned(),
            version: PAYLOAD_VERSION,
            at: e.at,
            actor: e.by.actor,
            actor_key_id: e.by.key_id,
            request_id: e.by.request_id,
            data: e.payload.data(),
        }
    }
}

impl TryFrom<Envelope> for Event {
    type Error = EventDecodeError;

    fn try_from(e: Envelope) -> Result<Self, Self::Error> {
        Ok(Self {
            seq: e.seq,
            tenant_id: e.tenant_id,
            at: e.at,
            by: Attribution {
                actor: e.actor,
                key_id: e.actor_key_id,
                request_id: e.request_id,
            },
            payload: EventPayload::decode(&e.event_type, e.version, e.data)?,
        })
    }
}

impl Event {
    /// Numbers a new event.
    #[must_use]
    pub fn commit(new: NewEvent, tenant_id: TenantId, seq: Seq) -> Self {
        Self {
            seq,
            tenant_id,
            at: new.at,
            by: new.by,
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
    pub const fn type_name(&self) -> &'static str {
        self.payload.type_name()
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
/// Compare the result with `ReservationSnapshot::from(&stored)`.
///
/// # Errors
/// [`ProjectionError`] if the history is inconsistent.
pub fn project<'a>(
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<Option<ReservationSnapshot>, ProjectionError> {
    let mut state: Option<ReservationSnapshot> = None;
    let mut last_seq = Seq::ZERO;
    for event in events {
        let Some(change) = event.payload.reservation_change() else {
            continue;
        };
        if event.seq <= last_seq {
            return Err(ProjectionError::OutOfOrder { seq: event.seq });
        }
        last_seq = event.seq;
        if change.before.as_ref() != state.as_ref() {
            return Err(ProjectionError::Discontinuous { seq: event.seq });
        }
        if let Some(prev) = &state
            && !status_change_allowed(prev.status, change.after.status)
        {
            return Err(ProjectionError::IllegalTransition {
                seq: event.seq,
                from: prev.status,
                to: change.after.status,
            });
        }
        state = Some(change.after.clone());
    }
    Ok(state)
}
