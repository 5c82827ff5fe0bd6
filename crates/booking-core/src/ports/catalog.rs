//! The catalog half of the store, read. (Writes go through the write
//! engine: [`crate::engine::catalog`] over [`crate::WriteStore`].)

use std::fmt::Debug;

use async_trait::async_trait;

use crate::{
    Branch, BranchId, Product, ProductBranch, ProductId, Resource, ResourceBranch, ResourceId,
    ServiceId, ServiceItem, ServiceItemBranch, StoreError, Tenant, TenantId,
};

/// What a branch offers, as stored: who works there (with the schedule),
/// every service of the tenant (with the branch's price, if it set one),
/// and the products sold there (with stock and branch price). Prices are
/// resolved by the core ([`crate::CatalogService::branch_offer`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchOfferRows {
    /// The branch.
    pub branch: Branch,
    /// Each resource working at the branch with its link, by resource id.
    pub resources: Vec<(Resource, ResourceBranch)>,
    /// Each service of the tenant with the branch's price record, by id.
    pub services: Vec<(ServiceItem, Option<ServiceItemBranch>)>,
    /// Each product sold at the branch with its stock record, by id.
    pub products: Vec<(Product, ProductBranch)>,
}

/// Catalog reads, always scoped by tenant: a record of another tenant is
/// reported exactly like a missing one.
#[async_trait]
pub trait CatalogStore: Send + Sync + Debug {
    /// Reads a tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent.
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError>;

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

    /// The resources working at a branch, with their schedules there, by
    /// resource id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError>;

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

    /// The products sold at a branch, with stock and prices, by product id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError>;

    /// Everything a branch offers, in a fixed number of queries (never one
    /// per item).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the branch is absent or another tenant's.
    async fn branch_offer(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<BranchOfferRows, StoreError>;
}
