use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    Actor, Branch, BranchId, Entity, Event, InvalidTransition, Money, OutOfStock, Product,
    ProductBranch, ProductId, Quantity, Reservation, ReservationEventKind, ReservationId, Resource,
    ResourceBranch, ResourceId, ResourceNotAtBranch, Seq, ServiceId, ServiceItem,
    ServiceItemBranch, SlotTaken, StaleVersion, StoreError, Tenant, TenantId, TimeRange,
};

/// Catalog records: plain reads and upserts, always scoped by tenant.
///
/// Upserts insert or replace by id. Every referenced record must exist in
/// the same tenant, and an id that exists under another tenant is reported
/// as not found: nothing crosses tenants.
#[async_trait]
pub trait CatalogStore: Send + Sync + Debug {
    /// Inserts a tenant (ids are unique across tenants).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`] on backend failure.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;

    /// Reads a tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent.
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError>;

    /// Inserts or replaces a branch.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a missing tenant, or a branch id owned
    /// by another tenant.
    async fn put_branch(&self, branch: &Branch) -> Result<(), StoreError>;

    /// Reads a branch of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError>;

    /// All branches of the tenant, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError>;

    /// Inserts or replaces a resource.
    ///
    /// # Errors
    /// As [`CatalogStore::put_branch`].
    async fn put_resource(&self, resource: &Resource) -> Result<(), StoreError>;

    /// Reads a resource of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError>;

    /// All resources of the tenant, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError>;

    /// Links a resource to a branch (or replaces its schedule there).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the resource or branch is not the tenant's.
    async fn put_resource_branch(&self, link: &ResourceBranch) -> Result<(), StoreError>;

    /// The link of a resource to a branch, if it works there.
    ///
    /// # Errors
    /// Backend failures only (a foreign or missing id gives `None`).
    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError>;

    /// The resources working at a branch, with their schedules there.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError>;

    /// Inserts or replaces a service.
    ///
    /// # Errors
    /// As [`CatalogStore::put_branch`].
    async fn put_service(&self, service: &ServiceItem) -> Result<(), StoreError>;

    /// Reads a service of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError>;

    /// All services of the tenant, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError>;

    /// Sets a branch's price for a service.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the service or branch is not the tenant's.
    async fn put_service_branch(&self, price: &ServiceItemBranch) -> Result<(), StoreError>;

    /// A branch's price for a service, if it set one.
    ///
    /// # Errors
    /// Backend failures only.
    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError>;

    /// Inserts or replaces a product.
    ///
    /// # Errors
    /// As [`CatalogStore::put_branch`].
    async fn put_product(&self, product: &Product) -> Result<(), StoreError>;

    /// Reads a product of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError>;

    /// All products of the tenant, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError>;

    /// A product's stock record at a branch, if it is sold there.
    ///
    /// # Errors
    /// Backend failures only.
    async fn product_branch(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError>;

    /// The products sold at a branch, with stock and prices.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError>;

    /// Deletes a catalog item with its links (working hours, branch prices,
    /// stock), as long as no reservation refers to it: reservations and
    /// their history keep every reference they were made with.
    ///
    /// # Errors
    /// - [`DeleteError::NotFound`] if the item is not the tenant's;
    /// - [`DeleteError::InUse`] if a reservation refers to it.
    async fn delete_item(&self, tenant: TenantId, item: CatalogItem) -> Result<(), DeleteError>;

    /// Changes a branch's stock atomically and records a `StockAdjusted`
    /// event in the same transaction.
    ///
    /// # Errors
    /// - [`StockError::NotFound`] if the product or branch is not the
    ///   tenant's, or (for a restock) the product is not sold at the branch.
    /// - [`StockError::TooMuch`] if the level would exceed
    ///   [`ProductBranch::MAX_STOCK`].
    async fn adjust_stock(
        &self,
        change: &StockChange,
    ) -> Result<(ProductBranch, Event), StockError>;
}

/// A catalog item that can be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogItem {
    /// A branch.
    Branch(BranchId),
    /// A resource.
    Resource(ResourceId),
    /// A service.
    Service(ServiceId),
    /// A product.
    Product(ProductId),
}

impl CatalogItem {
    /// The item as an [`Entity`] (for "not found").
    #[must_use]
    pub const fn entity(self) -> Entity {
        match self {
            Self::Branch(id) => Entity::Branch(id),
            Self::Resource(id) => Entity::Resource(id),
            Self::Service(id) => Entity::Service(id),
            Self::Product(id) => Entity::Product(id),
        }
    }
}

/// Why a catalog item was not deleted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// The item does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// Reservations refer to it.
    #[error("{0} is used by reservations and cannot be deleted")]
    InUse(Entity),
    /// A backend failure.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DeleteError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::NotFound(entity),
            other => Self::Store(other),
        }
    }
}

/// A change of stock made by an administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockChange {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The product.
    pub product_id: ProductId,
    /// The branch.
    pub branch_id: BranchId,
    /// What to do.
    pub op: StockOp,
    /// Who did it.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
}

/// How stock changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockOp {
    /// Set the level (and the branch price) — creates the record if the
    /// product was not sold at the branch yet.
    Set {
        /// Units on hand.
        stock: u32,
        /// The branch's own price, or `None` for the product's.
        price: Option<Money>,
    },
    /// Add delivered units.
    Restock {
        /// Units added.
        quantity: Quantity,
    },
}

/// Why a stock change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    /// The product, branch or branch record does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The level would exceed the maximum.
    #[error("stock would exceed {max} units")]
    TooMuch {
        /// The maximum.
        max: u32,
    },
    /// A backend failure.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for StockError {
    /// Keeps "not found" a refusal; everything else is a backend failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::NotFound(entity),
            other => Self::Store(other),
        }
    }
}

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
    pub actor: Actor,
    /// When; also the instant holds are judged stale against.
    pub at: DateTime<Utc>,
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

/// Reservations: the atomic write that enforces the invariants, queries,
/// and the event log.
#[async_trait]
pub trait ReservationStore: Send + Sync + Debug {
    /// Writes one reservation change in one transaction. The store is the
    /// authority: it MUST enforce, whatever the caller checked before,
    ///
    /// 1. tenant scoping: branch, resource, service and each product at the
    ///    branch exist for the tenant ([`ApplyError::NotFound`]), and the
    ///    resource works at the branch ([`ApplyError::ResourceNotAtBranch`]);
    /// 2. the version: a create's id is new ([`ApplyError::AlreadyExists`]),
    ///    a change's expected version matches ([`ApplyError::StaleVersion`]
    ///    or [`ApplyError::NotFound`]), and tenant, branch, lines, service,
    ///    price and creation data are unchanged ([`ApplyError::ImmutableField`]);
    /// 3. the lifecycle ([`crate::status_change_allowed`]; a stale hold can
    ///    only expire) ([`ApplyError::InvalidTransition`]);
    /// 4. no overlap: if the new state is active at `write.at`, no other
    ///    active reservation of the same resource, at any branch, overlaps
    ///    its occupied range ([`ApplyError::SlotTaken`]);
    /// 5. stock: the movements of [`crate::stock::movements`], applied in key
    ///    order, never take a level below zero ([`ApplyError::OutOfStock`]).
    ///
    /// Stale holds that are in the way (same resource and overlapping, or
    /// holding stock the write takes) are expired in the same transaction,
    /// giving their stock back, and their events come first in
    /// [`Applied::events`]. A refused write changes nothing at all.
    ///
    /// # Errors
    /// As listed; [`ApplyError::Store`] only for backend failures.
    async fn apply(&self, write: ReservationWrite) -> Result<Applied, ApplyError>;

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

    /// Reservations of `resource` (at any branch) that are active at `now`
    /// and whose occupied range overlaps `occupied`, except `exclude`.
    ///
    /// # Errors
    /// Backend failures only.
    async fn conflicts(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        occupied: &TimeRange,
        now: DateTime<Utc>,
        exclude: Option<ReservationId>,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Holds whose time ran out by `now` but whose expiry is not recorded
    /// yet, across all tenants, soonest-expired first, at most `limit` (for
    /// the sweeper that records them).
    ///
    /// # Errors
    /// Backend failures only.
    async fn stale_holds(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// One reservation's events, oldest first.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the reservation is absent or another tenant's.
    async fn reservation_events(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Vec<Event>, StoreError>;

    /// The tenant's events with `seq > after`, in order, at most `limit`.
    /// Every committed event is returned exactly once across pages, and an
    /// event is never visible before all events with lower numbers are.
    ///
    /// # Errors
    /// Backend failures only.
    async fn events_since(
        &self,
        tenant: TenantId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
}

/// A complete store: catalog, reservations and access. Implemented
/// automatically for every type that implements all three.
pub trait BookingStore: CatalogStore + ReservationStore + crate::AccessStore {}

impl<T: CatalogStore + ReservationStore + crate::AccessStore + ?Sized> BookingStore for T {}
