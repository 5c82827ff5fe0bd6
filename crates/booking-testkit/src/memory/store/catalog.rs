//! The catalog half of the port.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The values belonging to `tenant`, in the map's (id) order.
fn of_tenant<V: Clone + Owned>(values: impl Iterator<Item = V>, tenant: TenantId) -> Vec<V> {
    values.filter(|v| v.tenant() == tenant).collect()
}

#[async_trait]
impl CatalogStore for InMemoryStore {
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.tenants.contains_key(&tenant.id) {
            return Err(StoreError::Internal(format!("tenant {} exists", tenant.id)));
        }
        s.tenants.insert(tenant.id, tenant.clone());
        Ok(())
    }

    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        self.lock()
            .tenants
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Tenant(id)))
    }

    async fn put_branch(&self, branch: &Branch) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.require_tenant(branch.tenant_id)?;
        upsert(
            &mut s.branches,
            branch.id,
            branch,
            Entity::Branch(branch.id),
        )
    }

    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        self.lock().require_branch(tenant, id).cloned()
    }

    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        Ok(of_tenant(self.lock().branches.values().cloned(), tenant))
    }

    async fn put_resource(&self, resource: &Resource) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.require_tenant(resource.tenant_id)?;
        upsert(
            &mut s.resources,
            resource.id,
            resource,
            Entity::Resource(resource.id),
        )
    }

    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        owned(&self.lock().resources, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Resource(id)))
    }

    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        Ok(of_tenant(self.lock().resources.values().cloned(), tenant))
    }

    async fn put_resource_branch(&self, link: &ResourceBranch) -> Result<(), StoreError> {
        let mut s = self.lock();
        let t = link.tenant_id;
        if owned(&s.resources, t, &link.resource_id).is_none() {
            return Err(StoreError::NotFound(Entity::Resource(link.resource_id)));
        }
        s.require_branch(t, link.branch_id)?;
        s.resource_branches
            .insert((link.resource_id, link.branch_id), link.clone());
        Ok(())
    }

    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        Ok(owned(&self.lock().resource_branches, tenant, &(resource, branch)).cloned())
    }

    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError> {
        Ok(of_tenant(
            self.lock()
                .resource_branches
                .values()
                .filter(|l| l.branch_id == branch)
                .cloned(),
            tenant,
        ))
    }

    async fn put_service(&self, service: &ServiceItem) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.require_tenant(service.tenant_id)?;
        upsert(
            &mut s.services,
            service.id,
            service,
            Entity::Service(service.id),
        )
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError> {
        owned(&self.lock().services, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Service(id)))
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        Ok(of_tenant(self.lock().services.values().cloned(), tenant))
    }

    async fn put_service_branch(&self, price: &ServiceItemBranch) -> Result<(), StoreError> {
        let mut s = self.lock();
        let t = price.tenant_id;
        if owned(&s.services, t, &price.service_id).is_none() {
            return Err(StoreError::NotFound(Entity::Service(price.service_id)));
        }
        s.require_branch(t, price.branch_id)?;
        s.service_branches
            .insert((price.service_id, price.branch_id), price.clone());
        Ok(())
    }

    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        Ok(self
            .lock()
            .service_branches
            .get(&(service, branch))
            .filter(|p| p.tenant_id == tenant)
            .cloned())
    }

    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.require_tenant(product.tenant_id)?;
        upsert(
            &mut s.products,
            product.id,
            product,
            Entity::Product(product.id),
        )
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        owned(&self.lock().products, tenant, &id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Product(id)))
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        Ok(of_tenant(self.lock().products.values().cloned(), tenant))
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
        Ok(owned(&self.lock().product_branches, tenant, &key).cloned())
    }

    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError> {
        Ok(of_tenant(
            self.lock()
                .product_branches
                .values()
                .filter(|p| p.branch_id == branch)
                .cloned(),
            tenant,
        ))
    }

    async fn delete_item(&self, tenant: TenantId, item: CatalogItem) -> Result<(), DeleteError> {
        let mut s = self.lock();
        let exists = match item {
            CatalogItem::Branch(id) => owned(&s.branches, tenant, &id).is_some(),
            CatalogItem::Resource(id) => owned(&s.resources, tenant, &id).is_some(),
            CatalogItem::Service(id) => owned(&s.services, tenant, &id).is_some(),
            CatalogItem::Product(id) => owned(&s.products, tenant, &id).is_some(),
        };
        if !exists {
            return Err(DeleteError::NotFound(item.entity()));
        }
        let used = s.reservations.values().any(|r| {
            r.tenant_id == tenant
                && match item {
                    CatalogItem::Branch(id) => r.branch_id == id,
                    CatalogItem::Resource(id) => r.resource_id == id,
                    CatalogItem::Service(id) => r.service_id == Some(id),
                    CatalogItem::Product(id) => r.lines.iter().any(|l| l.product_id == id),
                }
        });
        if used {
            return Err(DeleteError::InUse(item.entity()));
        }
        match item {
            CatalogItem::Branch(id) => {
                s.resource_branches.retain(|(_, b), _| *b != id);
                s.service_branches.retain(|(_, b), _| *b != id);
                s.product_branches.retain(|k, _| k.branch_id != id);
                s.branches.remove(&id);
            }
            CatalogItem::Resource(id) => {
                s.resource_branches.retain(|(r, _), _| *r != id);
                s.resources.remove(&id);
            }
            CatalogItem::Service(id) => {
                s.service_branches.retain(|(sv, _), _| *sv != id);
                s.services.remove(&id);
            }
            CatalogItem::Product(id) => {
                s.product_branches.retain(|k, _| k.product_id != id);
                s.products.remove(&id);
            }
        }
        Ok(())
    }

    async fn adjust_stock(
        &self,
        change: &StockChange,
    ) -> Result<(ProductBranch, Event), StockError> {
        let mut s = self.lock();
        let t = change.tenant_id;
        if owned(&s.products, t, &change.product_id).is_none() {
            return Err(StockError::NotFound(Entity::Product(change.product_id)));
        }
        s.require_branch(t, change.branch_id)?;
        let key = StockKey {
            product_id: change.product_id,
            branch_id: change.branch_id,
        };
        let existing = s.product_branches.get(&key).cloned();
        let max = ProductBranch::MAX_STOCK;
        let (record, cause) = match change.op {
            StockOp::Set { stock, price } => {
                if stock > max {
                    return Err(StockError::TooMuch { max });
                }
                let record = ProductBranch {
                    tenant_id: t,
                    product_id: change.product_id,
                    branch_id: change.branch_id,
                    stock,
                    price,
                };
                (record, StockCause::Set)
            }
            StockOp::Restock { quantity } => {
                let mut record =
                    existing
                        .clone()
                        .ok_or(StockError::NotFound(Entity::ProductAtBranch(
                            change.product_id,
                            change.branch_id,
                        )))?;
                record.stock = record
                    .stock
                    .checked_add(quantity.get())
                    .filter(|n| *n <= max)
                    .ok_or(StockError::TooMuch { max })?;
                (record, StockCause::Restock)
            }
        };
        let event = NewEvent {
            at: booking_core::time::to_micros(change.at),
            actor: change.actor.clone(),
            payload: EventPayload::StockAdjusted {
                product_id: change.product_id,
                branch_id: change.branch_id,
                before: existing.map_or(0, |e| e.stock),
                after: record.stock,
                cause,
            },
        };
        s.product_branches.insert(key, record.clone());
        let mut committed = s.append(t, vec![event]);
        let event = committed
            .pop()
            .ok_or_else(|| StoreError::Internal("no event appended".into()))?;
        Ok((record, event))
    }
}
