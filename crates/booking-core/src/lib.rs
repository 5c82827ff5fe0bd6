//! # booking-core
//!
//! The pure domain of a multi-tenant booking engine for service businesses
//! (dental clinic chains first): types, rules, ports and use cases. It
//! depends on no runtime, database driver or web framework; adapters
//! implement its ports in their own crates.
//!
//! ## The model
//!
//! A [`Tenant`] (a business) has [`Branch`]es, each in an IANA time zone.
//! A [`Resource`] (a dentist, a chair) works at one or more branches
//! ([`ResourceBranch`]) with a weekly [`Schedule`] in branch-local time and
//! dated exceptions. A [`ServiceItem`] has a duration, a base price and
//! buffers; a [`ServiceItemBranch`] overrides its price at a branch, and
//! [`ServiceResource`]s name the resources that perform it (none: any). A
//! [`Product`] has a price; a [`ProductBranch`] holds its stock (and an
//! optional price) at a branch. [`TenantSettings`] bound how soon and how far
//! ahead the tenant can be booked and how its holds behave.
//!
//! A [`Reservation`] books a resource at a branch for a half-open
//! [`TimeRange`] `[start, end)` in UTC, optionally with a service and
//! product lines, and keeps a [`PriceSnapshot`]. Its [`Status`] runs
//! Held → Confirmed → Completed, or ends Cancelled / Expired.
//!
//! Every change — reservations, stock, the catalog, tenants, API keys — is
//! an [`Event`]: who made it ([`Attribution`]: the key's actor name and id,
//! the request id), when, and an [`EventPayload`] of an explicit, versioned
//! payload struct ([`event::payload`]) with before and after, written in
//! the same transaction as the change. The reservation row is the
//! projection of its events ([`project`]), and each tenant's events are
//! numbered without gaps ([`Seq`]) so live clients can catch up exactly.
//!
//! ## Invariants
//!
//! 1. No two active reservations (unexpired holds, confirmed, completed) of
//!    one resource overlap in time — across all branches of the resource,
//!    buffers included. Touching ranges do not overlap.
//! 2. Per (product, branch): stock ≥ 0, and stock plus the units held by
//!    stock-holding reservations only changes through audited stock events
//!    (cancel and expiry give units back) — see [`stock::movements`].
//! 3. A booking names a branch where the resource works and, unless the
//!    caller may override, falls inside its working hours
//!    ([`Schedule::permits`]), on a resource that performs its service, and
//!    starts neither in the past nor outside the tenant's notice and
//!    horizon ([`TenantSettings::check_start`]).
//! 4. The price is resolved once (branch override, else base) and
//!    snapshotted ([`pricing`]).
//! 5. Terminal states stay terminal; a move re-checks 1–3 atomically
//!    ([`transition`], [`status_change_allowed`]).
//! 6. Nothing crosses tenants: another tenant's id is "not found".
//!
//! Invariants 1, 2, 5 and 6 are enforced inside one store transaction by
//! the write engine ([`engine::apply`]), with the store's own constraints
//! behind it; the [`BookingService`] checks 3 and 4 and takes a lock first
//! for clean answers and low contention. The store is the authority: a lock
//! that expired under a paused holder cannot cause a double booking.
//!
//! ## Where each rule lives
//!
//! | rule | place |
//! |---|---|
//! | overlap, lifecycle, versions, stale holds in the way | [`engine::rules`] |
//! | stock movements of a reservation, admin stock changes | [`stock`], [`engine::plan_adjustment`] |
//! | working hours in branch-local time | [`Schedule::permits`] |
//! | free slots across zones and DST (pure) | [`availability::free_slots`] |
//! | start in the past, notice, horizon; the admin override | [`TenantSettings::check_start`], [`OverrideStart`] |
//! | a key's hold quota | [`engine::apply`] (counted in the write's transaction) |
//! | price resolution and snapshots | [`pricing`] |
//! | what a deletion takes with it, "in use" | [`engine::catalog`] |
//! | which events record a catalog change | [`catalog_events`] |
//! | a tenant keeps an active admin key | [`engine::plan_key_change`] |
//! | who may read events about keys | [`Role::may_read`] |
//! | the order of every write (lock → plan → write → number → commit) | [`engine`] |
//! | lock, then write, then broadcast; degraded mode | [`service`] |
//!
//! ## Ports and how to implement one
//!
//! The [`ports`] are object-safe async traits (`#[async_trait]`), used as
//! `Arc<dyn …>`. We chose `dyn` over generics on purpose: the server picks
//! its adapters at run time from configuration (SQLite or PostgreSQL, an
//! in-process or a Valkey lock), and non-generic services keep that wiring
//! simple; the cost is one boxed future per port call, which is noise next
//! to a database round trip.
//!
//! A store implements reads ([`CatalogStore`]: a tenant, a record by key and
//! a [`CatalogList`], with every typed read written once on top of them;
//! [`ReservationStore`]; [`AccessStore`]) and a transaction made of small
//! primitives ([`WriteStore`], [`WriteTx`]): lock these rows, insert this
//! row, append these events. It never decides whether a write is allowed;
//! the engine does, once, for every store. (The two SQL stores share their
//! catalog SQL and row decoding through `booking-sql`.)
//!
//! To implement a port, read each method's `# Errors` section: it says what
//! the implementation MUST return, and driver errors must be translated
//! (never leaked). Then run the contract suite from `booking-testkit`
//! (`store_contract_tests!`, `store_race_tests!`, `lock_contract_tests!`)
//! against your adapter:
//! the in-memory adapters pass the same suites.
//!
//! ## Layout
//!
//! - [`ids`], [`time`], [`money`], [`quantity`], [`text`]: validated value
//!   types (parse, don't validate).
//! - [`catalog`], [`schedule`]: what is offered, where and when.
//! - [`access`]: roles, API keys (hashed) and idempotency records.
//! - [`reservation`], [`pricing`], [`stock`]: the rules, as pure functions.
//! - [`event`]: the audit log's events, their payload structs (the log's
//!   schema, kept readable forever) and the reservation projection.
//! - [`engine`]: every write, once, over a store transaction.
//! - [`error`]: refusals shared by ports and use cases.
//! - [`ports`]: store reads, store transactions, lock, broadcaster, clock.
//! - [`service`]: the use cases ([`Services`]) and their typed errors.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod availability;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod event;
pub mod ids;
pub mod money;
pub mod ports;
pub mod pricing;
pub mod quantity;
pub mod reservation;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod stock;
pub mod tally;
pub mod text;
pub mod time;

#[cfg(test)]
mod testing;

pub use access::{
    ApiKey, Claim, IdempotencyKey, IdempotencyScope, KeyHash, OverrideHours, OverrideStart, Role,
    new_secret,
};
pub use catalog::{
    Branch, Product, ProductBranch, Resource, ResourceBranch, ResourceKind, ServiceItem,
    ServiceItemBranch, ServiceResource, Tenant,
};
pub use engine::{CatalogError, CatalogWrite, KeyError, KeyUpdate, PutMode, StockChange, StockOp};
pub use error::{
    Entity, InvalidInput, OutOfStock, OutsideWorkingHours, ResourceCannotPerform,
    ResourceNotAtBranch, SlotTaken, StaleVersion, StoreError,
};
pub use event::payload::StockCause;
pub use event::{
    Attribution, Event, EventDecodeError, EventPayload, EventType, NewEvent, PAYLOAD_VERSION,
    ProjectionError, ReservationEventKind, Seq, catalog_events, project,
};
pub use ids::{ApiKeyId, BranchId, ProductId, ReservationId, ResourceId, ServiceId, TenantId};
pub use money::{Currency, Money, MoneyError};
pub use ports::*;
pub use pricing::{PriceLine, PriceSnapshot, PricedItem};
pub use quantity::{Quantity, QuantityError};
pub use reservation::{
    Action, InvalidTransition, ProductLine, Reservation, Status, action_of,
    immutable_field_changed, status_change_allowed, transition,
};
pub use schedule::{DayInterval, Schedule, ScheduleError, WeeklyHours};
pub use service::{
    AccessService, Availability, AvailabilityError, AvailabilityRequest, Booked, BookingPolicy,
    BookingService, BranchOffer, Busy, CatalogService, CreateError, EventLog, HoldSweeper, KeySpec,
    MoveError, MoveReservation, NewKey, NewReservation, OfferedProduct, OfferedResource,
    OfferedService, Ports, Provisioned, Services, SlotKind, Spawn, Swept, TransitionError,
    WriteBatching,
};
pub use settings::{StartRefused, TenantSettings};
pub use stock::{StockKey, StockMovement};
pub use text::{Actor, Name, Note, RequestId, TextError};
pub use time::{Minutes, MinutesError, RangeError, RangeLimits, TimeRange};
