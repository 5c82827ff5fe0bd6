//! [`CatalogService`]: what a tenant offers, where — reads, writes through
//! the engine, stock adjustments under the lock, and the branch offer with
//! its prices resolved.

use std::sync::Arc;

use tracing::Instrument;

use super::{Shared, outcome, publish, under_lock};
use crate::engine::{self, CatalogError, CatalogWrite, PutMode, StockChange};
use crate::{
    Attribution, Branch, BranchId, CatalogKey, CatalogRecord, Event, LockKey, Money, Product,
    ProductBranch, ProductId, Resource, ResourceBranch, ResourceId, Schedule, ServiceId,
    ServiceItem, ServiceItemBranch, StoreError, TenantId, TenantSettings, pricing,
};

/// The catalog use cases.
#[derive(Clone, Debug)]
pub struct CatalogService(pub(super) Arc<Shared>);

/// A resource working at a branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedResource {
    /// The resource.
    pub resource: Resource,
    /// When it works at the branch.
    pub schedule: Schedule,
}

/// A service at a branch's price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedService {
    /// The service.
    pub service: ServiceItem,
    /// Its price at the branch ([`pricing::resolve_price`]).
    pub price: Money,
}

/// A product sold at a branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedProduct {
    /// The product.
    pub product: Product,
    /// Units on hand at the branch.
    pub stock: u32,
    /// Its price at the branch ([`pricing::resolve_price`]).
    pub price: Money,
}

/// What staff see after picking a branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchOffer {
    /// The branch.
    pub branch: Branch,
    /// Who works there, with their hours.
    pub resources: Vec<OfferedResource>,
    /// Every service, at the branch's price.
    pub services: Vec<OfferedService>,
    /// The products sold there, with stock and price.
    pub products: Vec<OfferedProduct>,
}

impl CatalogService {
    /// A branch of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        self.0.ports.store.branch(tenant, id).await
    }

    /// A page of the tenant's branches, resources, services or products
    /// (`list`), by id (see [`crate::CatalogStore::catalog_page`]).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn page(
        &self,
        tenant: TenantId,
        list: crate::CatalogList,
        page: crate::CatalogPage,
    ) -> Result<Vec<crate::CatalogRecord>, StoreError> {
        self.0.ports.store.catalog_page(tenant, list, page).await
    }

    /// The tenant's branches.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        self.0.ports.store.branches(tenant).await
    }

    /// A resource of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        self.0.ports.store.resource(tenant, id).await
    }

    /// The tenant's resources.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        self.0.ports.store.resources(tenant).await
    }

    /// A resource's link to a branch, if it works there.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn schedule(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        self.0
            .ports
            .store
            .resource_branch(tenant, resource, branch)
            .await
    }

    /// A service of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn service(
        &self,
        tenant: TenantId,
        id: ServiceId,
    ) -> Result<ServiceItem, StoreError> {
        self.0.ports.store.service(tenant, id).await
    }

    /// The tenant's services.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        self.0.ports.store.services(tenant).await
    }

    /// A branch's own price for a service, if it set one.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn service_price(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        self.0
            .ports
            .store
            .service_branch(tenant, service, branch)
            .await
    }

    /// A product of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        self.0.ports.store.product(tenant, id).await
    }

    /// The tenant's products.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        self.0.ports.store.products(tenant).await
    }

    /// A product's stock record at a branch, if it is sold there.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn stock(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError> {
        self.0
            .ports
            .store
            .product_branch(tenant, product, branch)
            .await
    }

    /// The resources that perform a service (none listed: any may).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the service is absent or another
    /// tenant's.
    pub async fn service_resources(
        &self,
        tenant: TenantId,
        service: ServiceId,
    ) -> Result<Vec<ResourceId>, StoreError> {
        let store = &self.0.ports.store;
        store.service(tenant, service).await?;
        store.service_resources(tenant, service).await
    }

    /// The tenant's booking settings.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn settings(&self, tenant: TenantId) -> Result<TenantSettings, StoreError> {
        self.0.ports.store.settings(tenant).await
    }

    /// Everything a branch offers, with the branch's prices resolved (its
    /// own price if it set one, else the item's).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the branch is absent or another tenant's.
    pub async fn branch_offer(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<BranchOffer, StoreError> {
        let rows = self.0.ports.store.branch_offer(tenant, branch).await?;
        Ok(BranchOffer {
            branch: rows.branch,
            resources: rows
                .resources
                .into_iter()
                .map(|(resource, link)| OfferedResource {
                    resource,
                    schedule: link.schedule,
                })
                .collect(),
            services: rows
                .services
                .into_iter()
                .map(|(service, at_branch)| OfferedService {
                    price: pricing::resolve_price(service.price, at_branch.map(|p| p.price)),
                    service,
                })
                .collect(),
            products: rows
                .products
                .into_iter()
                .map(|(product, stock)| OfferedProduct {
                    price: pricing::resolve_price(product.price, stock.price),
                    stock: stock.stock,
                    product,
                })
                .collect(),
        })
    }

    /// Creates, replaces or updates a catalog record (branches, resources,
    /// services, products, a resource's schedule at a branch, a branch's
    /// service price), records the change as events and pushes them;
    /// returns the record it replaced.
    ///
    /// # Errors
    /// [`CatalogError::NotFound`] if an update's record or a link's end is
    /// not the tenant's.
    pub async fn put(
        &self,
        record: &CatalogRecord,
        mode: PutMode,
        by: &Attribution,
    ) -> Result<Option<CatalogRecord>, CatalogError> {
        let span = tracing::info_span!(
            "catalog.put",
            tenant_id = %record.tenant_id(),
            outcome = tracing::field::Empty,
        );
        let write = self.write(by);
        let result = engine::put(self.0.ports.store.as_ref(), record, mode, &write)
            .instrument(span.clone())
            .await;
        span.record("outcome", outcome::of_catalog(&result));
        let (before, events) = result?;
        publish(&self.0, &events).await;
        Ok(before)
    }

    /// Deletes a record no reservation refers to: an item with its links,
    /// branch prices and stock, or one link (a resource stops working at a
    /// branch), branch price or stock record (a product no longer sold at
    /// a branch). Each removal is recorded and pushed.
    ///
    /// # Errors
    /// [`CatalogError::NotFound`], or [`CatalogError::InUse`] while a
    /// reservation refers to it.
    pub async fn delete(
        &self,
        tenant: TenantId,
        key: CatalogKey,
        by: &Attribution,
    ) -> Result<(), CatalogError> {
        let span = tracing::info_span!(
            "catalog.delete",
            tenant_id = %tenant,
            outcome = tracing::field::Empty,
        );
        let write = self.write(by);
        let result = engine::delete(self.0.ports.store.as_ref(), tenant, key, &write)
            .instrument(span.clone())
            .await;
        span.record("outcome", outcome::of_catalog(&result));
        publish(&self.0, &result?).await;
        Ok(())
    }

    /// Sets or restocks a branch's stock, holding the stock's lock like a
    /// booking does (so the two never race in the database), and publishes
    /// the events that record it (`StockChanged`, and the branch price's
    /// if it changed).
    ///
    /// # Errors
    /// As [`engine::adjust_stock`], and [`CatalogError::Busy`] if the lock
    /// stayed busy.
    pub async fn adjust_stock(
        &self,
        change: &StockChange,
    ) -> Result<(ProductBranch, Vec<Event>), CatalogError> {
        let span = tracing::info_span!(
            "catalog.stock",
            tenant_id = %change.tenant_id,
            branch_id = %change.branch_id,
            product_id = %change.product_id,
            outcome = tracing::field::Empty,
        );
        let keys = vec![LockKey::stock(
            change.tenant_id,
            change.product_id,
            change.branch_id,
        )];
        let result = under_lock(&self.0, keys, || {
            engine::adjust_stock(self.0.ports.store.as_ref(), change)
        })
        .instrument(span.clone())
        .await
        .map(|(adjusted, _degraded)| adjusted);
        span.record("outcome", outcome::of_catalog(&result));
        if let Ok((_, events)) = &result {
            publish(&self.0, events).await;
        }
        result
    }

    fn write(&self, by: &Attribution) -> CatalogWrite {
        CatalogWrite {
            by: by.clone(),
            at: self.0.ports.clock.now(),
        }
    }

    /// The current instant, by the service's clock (for writes' `at`).
    #[must_use]
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.ports.clock.now()
    }
}
