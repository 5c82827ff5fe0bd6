//! The write port: one store transaction, as the small primitives the
//! core's write engine ([`crate::engine`]) composes. A store implements
//! these with its own means (row locks, `BEGIN IMMEDIATE`, a mutex); the
//! order of the steps, every check and every event is decided by the core.
//!
//! A primitive never decides whether a write is allowed. It reads what it is
//! asked for (a superset is fine where the doc says so: the engine filters),
//! writes what it is told, and translates what the store's own guards (the
//! overlap constraint, foreign keys, CHECKs) refused into a [`TxError`].

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    ApiKey, Branch, BranchId, Entity, Event, KeyHash, NewEvent, Product, ProductBranch, ProductId,
    Reservation, ReservationId, Resource, ResourceBranch, ResourceId, ServiceId, ServiceItem,
    ServiceItemBranch, ServiceResource, StockKey, StoreError, Tenant, TenantId, TenantSettings,
};

/// A store that opens write transactions. Every change the core makes runs
/// inside one: its reads, its writes and the events that record it commit
/// together or not at all.
#[async_trait]
pub trait WriteStore: Send + Sync + Debug {
    /// Opens a transaction. Dropping it without [`WriteTx::commit`] MUST
    /// undo everything it wrote.
    ///
    /// Stores that serialize writers (SQLite, the in-memory store) take the
    /// write lock here; stores with row locks (PostgreSQL) lock rows in the
    /// primitives that say "locked".
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the backend cannot be reached,
    /// [`StoreError::Internal`] otherwise.
    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError>;
}

/// What the store's own guards refused: the constraint behind the core's
/// checks fired (a concurrent change slipped past them), and this is what
/// it means.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The overlap guard (exclusion constraint, trigger) refused an active
    /// reservation; the engine names the reservation in the way.
    #[error("an active reservation of the resource overlaps")]
    Overlap,
    /// A referenced record does not exist (any more) for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The resource stopped working at the branch.
    #[error("resource {resource_id} does not work at branch {branch_id}")]
    ResourceNotAtBranch {
        /// The resource.
        resource_id: ResourceId,
        /// The branch.
        branch_id: BranchId,
    },
    /// A reservation with this id exists already.
    #[error("reservation {0} already exists")]
    AlreadyExists(ReservationId),
    /// A record still refers to the one being deleted.
    #[error("{0} is in use")]
    InUse(Entity),
}

/// Why a primitive failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The store's guard refused the change; see [`Refusal`].
    #[error(transparent)]
    Refused(Refusal),
    /// Concurrent transactions collided (deadlock, serialization failure,
    /// a row that changed under the plan, a busy database file). The
    /// engine runs the whole write again, once.
    #[error("concurrent writes collided: {0}")]
    Retry(String),
    /// A backend failure (unreachable, corrupt data, a bug).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusal> for TxError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// Which of the records a reservation names exist for its tenant (the
/// answer of [`WriteTx::scope`]). The engine turns the first missing one,
/// in a fixed order, into the refusal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// The branch is the tenant's.
    pub branch: bool,
    /// The resource is the tenant's.
    pub resource: bool,
    /// The service is the tenant's (`true` when none is named).
    pub service: bool,
    /// The resource works at the branch.
    pub works_at_branch: bool,
    /// The products of the lines that are sold at the branch.
    pub sold: Vec<ProductId>,
}

/// What a reservation write is checked against ([`WriteTx::survey`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// Which of the records it names exist.
    pub scope: Scope,
    /// The reservations that could be in its way ([`WriteTx::blocking`]).
    pub blocking: Vec<Reservation>,
    /// The stale holds that could be in its way, locked
    /// ([`WriteTx::lock_stale_holds`]).
    pub stale: Vec<Reservation>,
}

/// A catalog record, as the write engine reads and writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogRecord {
    /// A branch.
    Branch(Branch),
    /// A resource.
    Resource(Resource),
    /// A service.
    Service(ServiceItem),
    /// A product.
    Product(Product),
    /// A resource working at a branch, with its schedule there.
    Schedule(ResourceBranch),
    /// A branch's price for a service.
    ServicePrice(ServiceItemBranch),
    /// A product's stock (and price) at a branch.
    Stock(ProductBranch),
    /// A resource that performs a service.
    ServiceResource(ServiceResource),
    /// The tenant's booking settings (one per tenant, never deleted).
    Settings(TenantSettings),
}

/// Which catalog record (always within one tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CatalogKey {
    /// A branch.
    Branch(BranchId),
    /// A resource.
    Resource(ResourceId),
    /// A service.
    Service(ServiceId),
    /// A product.
    Product(ProductId),
    /// A resource's link to a branch.
    Schedule(ResourceId, BranchId),
    /// A service's price at a branch.
    ServicePrice(ServiceId, BranchId),
    /// A product's stock at a branch.
    Stock(StockKey),
    /// A resource that performs a service.
    ServiceResource(ServiceId, ResourceId),
    /// The tenant's booking settings.
    Settings(TenantId),
}

impl CatalogRecord {
    /// The record's key.
    #[must_use]
    pub fn key(&self) -> CatalogKey {
        match self {
            Self::Branch(b) => CatalogKey::Branch(b.id),
            Self::Resource(r) => CatalogKey::Resource(r.id),
            Self::Service(s) => CatalogKey::Service(s.id),
            Self::Product(p) => CatalogKey::Product(p.id),
            Self::Schedule(l) => CatalogKey::Schedule(l.resource_id, l.branch_id),
            Self::ServicePrice(p) => CatalogKey::ServicePrice(p.service_id, p.branch_id),
            Self::Stock(s) => CatalogKey::Stock(StockKey {
                product_id: s.product_id,
                branch_id: s.branch_id,
            }),
            Self::ServiceResource(l) => CatalogKey::ServiceResource(l.service_id, l.resource_id),
            Self::Settings(s) => CatalogKey::Settings(s.tenant_id()),
        }
    }

    /// The tenant owning the record.
    #[must_use]
    pub fn tenant_id(&self) -> TenantId {
        match self {
            Self::Branch(b) => b.tenant_id,
            Self::Resource(r) => r.tenant_id,
            Self::Service(s) => s.tenant_id,
            Self::Product(p) => p.tenant_id,
            Self::Schedule(l) => l.tenant_id,
            Self::ServicePrice(p) => p.tenant_id,
            Self::Stock(s) => s.tenant_id,
            Self::ServiceResource(l) => l.tenant_id,
            Self::Settings(s) => s.tenant_id(),
        }
    }
}

impl CatalogKey {
    /// The id of the item the key names (of the resource, service or
    /// product for a link, branch price or stock record): what its events
    /// are found by.
    #[must_use]
    pub const fn id(self) -> uuid::Uuid {
        match self {
            Self::Branch(id) => id.as_uuid(),
            Self::Resource(id) | Self::Schedule(id, _) => id.as_uuid(),
            Self::Service(id) | Self::ServicePrice(id, _) | Self::ServiceResource(id, _) => {
                id.as_uuid()
            }
            Self::Product(id) => id.as_uuid(),
            Self::Stock(k) => k.product_id.as_uuid(),
            Self::Settings(t) => t.as_uuid(),
        }
    }

    /// The key as an [`Entity`], for "not found".
    #[must_use]
    pub const fn entity(self) -> Entity {
        match self {
            Self::Branch(id) => Entity::Branch(id),
            Self::Resource(id) | Self::Schedule(id, _) => Entity::Resource(id),
            Self::Service(id) | Self::ServicePrice(id, _) | Self::ServiceResource(id, _) => {
                Entity::Service(id)
            }
            Self::Product(id) => Entity::Product(id),
            Self::Stock(k) => Entity::ProductAtBranch(k.product_id, k.branch_id),
            Self::Settings(t) => Entity::Tenant(t),
        }
    }
}

/// A change of one stock level by `delta` units (negative: taken).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockDelta {
    /// Which stock.
    pub key: StockKey,
    /// How many units, taken (negative) or given back (positive).
    pub delta: i64,
}

/// What [`WriteTx::move_stock`] found at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLevel {
    /// Which stock.
    pub key: StockKey,
    /// The level before the delta (the current level where it was not
    /// applied).
    pub before: u32,
    /// Whether the delta was applied (it was not where it would have taken
    /// the level below zero).
    pub applied: bool,
}

/// One open write transaction. Primitives run in the order the engine
/// calls them, all inside the transaction; none commits.
#[async_trait]
pub trait WriteTx: Send {
    /// Which of the records `r` names (branch, resource, service, the link
    /// of resource and branch, each line's product at the branch) exist for
    /// `r`'s tenant.
    ///
    /// # Errors
    /// Backend failures only.
    async fn scope(&mut self, r: &Reservation) -> Result<Scope, TxError>;

    /// The tenant's reservation with `id`, locked until the transaction
    /// ends; `None` if absent or another tenant's (every read of a write
    /// is scoped by tenant, so one tenant's id cannot reach another's row).
    ///
    /// # Errors
    /// Backend failures, or [`StoreError::Internal`] for a row that does
    /// not decode (never "absent").
    async fn lock_reservation(
        &mut self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Option<Reservation>, TxError>;

    /// The other reservations of `r`'s tenant and resource (at any branch)
    /// whose status blocks the calendar (held, confirmed, completed) and
    /// whose occupied range overlaps `r`'s. Holds whose time ran out are
    /// included: the engine judges them by the write's instant.
    ///
    /// # Errors
    /// As [`WriteTx::lock_reservation`].
    async fn blocking(&mut self, r: &Reservation) -> Result<Vec<Reservation>, TxError>;

    /// Locked, by id: the holds of `r`'s tenant, other than `r`, whose time
    /// ran out by `at`, that are on `r`'s resource with an overlapping
    /// occupied range or hold one of `takes`. A superset is fine; the
    /// engine picks those really in the way.
    ///
    /// # Errors
    /// As [`WriteTx::lock_reservation`].
    async fn lock_stale_holds(
        &mut self,
        r: &Reservation,
        takes: &[StockKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, TxError>;

    /// What the engine checks a write of `r` against before it writes,
    /// read at once: the [`WriteTx::scope`] of `r`, the
    /// [`WriteTx::blocking`] reservations if `blocking` is set (none
    /// otherwise), and the [`WriteTx::lock_stale_holds`] of `takes` at
    /// `at` (locked, as there). Stores where each read is a round trip
    /// answer all three in one; by default they run one after another.
    ///
    /// # Errors
    /// As [`WriteTx::lock_reservation`].
    async fn survey(
        &mut self,
        r: &Reservation,
        blocking: bool,
        takes: &[StockKey],
        at: DateTime<Utc>,
    ) -> Result<Survey, TxError> {
        let scope = self.scope(r).await?;
        let blocking = if blocking {
            self.blocking(r).await?
        } else {
            Vec::new()
        };
        let stale = self.lock_stale_holds(r, takes, at).await?;
        Ok(Survey {
            scope,
            blocking,
            stale,
        })
    }

    /// How many holds of the tenant made with `key` are unexpired at `at`.
    ///
    /// # Errors
    /// Backend failures only.
    async fn count_active_holds(
        &mut self,
        tenant: TenantId,
        key: crate::ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<u64, TxError>;

    /// Units of the product at the branch that the tenant's reservations
    /// hold and may still give back (held, expired or not, and confirmed):
    /// what a level set now must leave room for. Read after the level is
    /// locked.
    ///
    /// # Errors
    /// As [`WriteTx::lock_reservation`].
    async fn units_out(&mut self, tenant: TenantId, key: crate::StockKey) -> Result<u64, TxError>;

    /// Moves each of the tenant's stock levels in `deltas` (in key order,
    /// so two writers meet their rows in the same order; a zero delta only
    /// reads and locks its level) where the level covers it — a level never
    /// goes below zero — and returns each existing level as it was before,
    /// marked applied or not. The levels are locked from here to the end
    /// of the transaction: the engine calls this as late as it can, since
    /// every booking of a product queues on its level. Where a delta was
    /// not applied the engine refuses the write and nothing is kept.
    ///
    /// # Errors
    /// As [`WriteTx::lock_reservation`].
    async fn move_stock(
        &mut self,
        tenant: TenantId,
        deltas: &[StockDelta],
    ) -> Result<Vec<StockLevel>, TxError>;

    /// Inserts a new reservation with its lines.
    ///
    /// # Errors
    /// [`Refusal::AlreadyExists`] for a known id, [`Refusal::Overlap`] if
    /// the overlap guard fires, [`Refusal::ResourceNotAtBranch`] or
    /// [`Refusal::NotFound`] if a referenced record vanished.
    async fn insert_reservation(&mut self, r: &Reservation) -> Result<(), TxError>;

    /// Replaces the mutable state of a reservation stored at `expected`
    /// version.
    ///
    /// # Errors
    /// [`TxError::Retry`] if it is not at that version; otherwise as
    /// [`WriteTx::insert_reservation`].
    async fn update_reservation(&mut self, r: &Reservation, expected: u64) -> Result<(), TxError>;

    /// The tenant's catalog record with `key`, locked until the transaction
    /// ends when `lock` is set. Another tenant's record is `None`.
    ///
    /// # Errors
    /// Backend failures only.
    async fn catalog_record(
        &mut self,
        tenant: TenantId,
        key: CatalogKey,
        lock: bool,
    ) -> Result<Option<CatalogRecord>, TxError>;

    /// Inserts or replaces a catalog record.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] if the id belongs to another tenant or a
    /// record it refers to does not exist.
    async fn put_catalog_record(&mut self, record: &CatalogRecord) -> Result<(), TxError>;

    /// The tenant's records in `list`, by key, locked against concurrent
    /// writers if `lock` (as [`WriteTx::catalog_record`]).
    ///
    /// # Errors
    /// Backend failures only.
    async fn catalog_records(
        &mut self,
        tenant: TenantId,
        list: crate::CatalogList,
        lock: bool,
    ) -> Result<Vec<CatalogRecord>, TxError>;

    /// Whether any reservation of the tenant refers to the item.
    ///
    /// # Errors
    /// Backend failures only.
    async fn referenced(&mut self, tenant: TenantId, item: CatalogKey) -> Result<bool, TxError>;

    /// Deletes the tenant's records with these keys, in order.
    ///
    /// # Errors
    /// [`Refusal::InUse`] if a reservation refers to one.
    async fn delete_catalog_records(
        &mut self,
        tenant: TenantId,
        keys: &[CatalogKey],
    ) -> Result<(), TxError>;

    /// Inserts a tenant (ids are unique across tenants).
    ///
    /// # Errors
    /// Backend failures only.
    async fn insert_tenant(&mut self, tenant: &Tenant) -> Result<(), TxError>;

    /// Stores a key's record under the hash of its secret.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] if the tenant does not exist.
    async fn insert_api_key(&mut self, key: &ApiKey, hash: &KeyHash) -> Result<(), TxError>;

    /// Every key of the tenant (revoked and expired ones included), by id,
    /// locked until the transaction ends: key changes of one tenant run one
    /// at a time, so two administrators cannot each remove the other's
    /// last admin key.
    ///
    /// # Errors
    /// Backend failures only.
    async fn lock_api_keys(&mut self, tenant: TenantId) -> Result<Vec<ApiKey>, TxError>;

    /// Replaces a key's role and revocation (its id, tenant, actor and
    /// times of creation and expiry never change).
    ///
    /// # Errors
    /// [`Refusal::NotFound`] if the tenant has no key with this id.
    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), TxError>;

    /// Numbers `events` from the tenant's counter and appends them. The
    /// engine calls it last: numbers are then gapless and in commit order
    /// (the counter stays locked until commit; a rollback returns them).
    ///
    /// # Errors
    /// Backend failures only.
    async fn append(
        &mut self,
        tenant: TenantId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Event>, TxError>;

    /// Makes everything durable.
    ///
    /// # Errors
    /// [`TxError::Retry`] for a serialization failure at commit, backend
    /// failures otherwise.
    async fn commit(self: Box<Self>) -> Result<(), TxError>;
}
