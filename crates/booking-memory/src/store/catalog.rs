//! The catalog reads.

#[allow(clippy::wildcard_imports)]
use super::*;

#[async_trait]
impl CatalogStore for InMemoryStore {
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        self.read()
            .await
            .tenants
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Tenant(id)))
    }

    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        owned(&self.read().await.branches, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Branch(id)))
    }

    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        Ok(of_tenant(self.read().await.branches.values(), tenant))
    }

    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        owned(&self.read().await.resources, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Resource(id)))
    }

    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        Ok(of_tenant(self.read().await.resources.values(), tenant))
    }

    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        Ok(owned(
            &self.read().await.resource_branches,
            tenant,
            &(resource, branch),
        )
        .cloned())
    }

    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError> {
        Ok(of_tenant(
            self.read()
                .await
                .resource_branches
                .values()
                .filter(|l| l.branch_id == branch),
            tenant,
        ))
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError> {
        owned(&self.read().await.services, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Service(id)))
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        Ok(of_tenant(self.read().await.services.values(), tenant))
    }

    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        Ok(owned(
            &self.read().await.service_branches,
            tenant,
            &(service, branch),
        )
        .cloned())
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        owned(&self.read().await.products, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Product(id)))
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        Ok(of_tenant(self.read().await.products.values(), tenant))
    }

    async fn product_branch(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError> {
        let key = StockKey {
            product_id: product,
            branch_id: branch,
        };
        Ok(owned(&self.read().await.product_branches, tenant, &key).cloned())
    }

    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError> {
        let mut stock = of_tenant(
            self.read()
                .await
                .product_branches
                .values()
                .filter(|p| p.branch_id == branch),
            tenant,
        );
        stock.sort_by_key(|p| p.product_id);
        Ok(stock)
    }

    async fn branch_offer(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<BranchOfferRows, StoreError> {
        let s = self.read().await;
        let branch = owned(&s.branches, tenant, &branch)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Branch(branch)))?;
        let resources = of_tenant(s.resource_branches.values(), tenant)
            .into_iter()
            .filter(|l| l.branch_id == branch.id)
            .filter_map(|l| {
                owned(&s.resources, tenant, &l.resource_id)
                    .cloned()
                    .map(|r| (r, l))
            })
            .collect();
        let services = of_tenant(s.services.values(), tenant)
            .into_iter()
            .map(|sv| {
                let price = owned(&s.service_branches, tenant, &(sv.id, branch.id)).cloned();
                (sv, price)
            })
            .collect();
        let mut products: Vec<(Product, ProductBranch)> =
            of_tenant(s.product_branches.values(), tenant)
                .into_iter()
                .filter(|p| p.branch_id == branch.id)
                .filter_map(|stock| {
                    owned(&s.products, tenant, &stock.product_id)
                        .cloned()
                        .map(|p| (p, stock))
                })
                .collect();
        products.sort_by_key(|(p, _)| p.id);
        Ok(BranchOfferRows {
            branch,
            resources,
            services,
            products,
        })
    }
}
