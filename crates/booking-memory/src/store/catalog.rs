//! The catalog reads: a record by key, a list, both over the same state
//! the transaction writes.

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

    async fn catalog_record(
        &self,
        tenant: TenantId,
        key: CatalogKey,
    ) -> Result<Option<CatalogRecord>, StoreError> {
        Ok(record(&*self.read().await, tenant, key))
    }

    async fn catalog_records(
        &self,
        tenant: TenantId,
        list: CatalogList,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        Ok(records(&*self.read().await, tenant, list))
    }
}

/// The record with `key` if it exists for `tenant`.
pub(super) fn record(s: &State, tenant: TenantId, key: CatalogKey) -> Option<CatalogRecord> {
    match key {
        CatalogKey::Branch(id) => owned(&s.branches, tenant, &id)
            .cloned()
            .map(CatalogRecord::Branch),
        CatalogKey::Resource(id) => owned(&s.resources, tenant, &id)
            .cloned()
            .map(CatalogRecord::Resource),
        CatalogKey::Service(id) => owned(&s.services, tenant, &id)
            .cloned()
            .map(CatalogRecord::Service),
        CatalogKey::Product(id) => owned(&s.products, tenant, &id)
            .cloned()
            .map(CatalogRecord::Product),
        CatalogKey::Schedule(r, b) => owned(&s.resource_branches, tenant, &(r, b))
            .cloned()
            .map(CatalogRecord::Schedule),
        CatalogKey::ServicePrice(sv, b) => owned(&s.service_branches, tenant, &(sv, b))
            .cloned()
            .map(CatalogRecord::ServicePrice),
        CatalogKey::Stock(k) => owned(&s.product_branches, tenant, &k)
            .cloned()
            .map(CatalogRecord::Stock),
        CatalogKey::ServiceResource(sv, r) => owned(&s.service_resources, tenant, &(sv, r))
            .copied()
            .map(CatalogRecord::ServiceResource),
        CatalogKey::Settings(t) => owned(&s.settings, tenant, &t)
            .copied()
            .map(CatalogRecord::Settings),
    }
}

/// The tenant's records in `list`, in key order.
pub(super) fn records(s: &State, tenant: TenantId, list: CatalogList) -> Vec<CatalogRecord> {
    fn pick<'a, V: Clone + Owned + 'a>(
        values: impl Iterator<Item = &'a V>,
        tenant: TenantId,
        keep: impl Fn(&V) -> bool,
        wrap: fn(V) -> CatalogRecord,
    ) -> Vec<CatalogRecord> {
        of_tenant(values, tenant)
            .into_iter()
            .filter(|v| keep(v))
            .map(wrap)
            .collect()
    }
    let mut out = match list {
        CatalogList::Branches => pick(s.branches.values(), tenant, |_| true, CatalogRecord::Branch),
        CatalogList::Resources => pick(
            s.resources.values(),
            tenant,
            |_| true,
            CatalogRecord::Resource,
        ),
        CatalogList::Services => pick(
            s.services.values(),
            tenant,
            |_| true,
            CatalogRecord::Service,
        ),
        CatalogList::Products => pick(
            s.products.values(),
            tenant,
            |_| true,
            CatalogRecord::Product,
        ),
        CatalogList::SchedulesAt(b) => pick(
            s.resource_branches.values(),
            tenant,
            |l| l.branch_id == b,
            CatalogRecord::Schedule,
        ),
        CatalogList::SchedulesOf(r) => pick(
            s.resource_branches.values(),
            tenant,
            |l| l.resource_id == r,
            CatalogRecord::Schedule,
        ),
        CatalogList::ServicePricesAt(b) => pick(
            s.service_branches.values(),
            tenant,
            |p| p.branch_id == b,
            CatalogRecord::ServicePrice,
        ),
        CatalogList::ServicePricesOf(sv) => pick(
            s.service_branches.values(),
            tenant,
            |p| p.service_id == sv,
            CatalogRecord::ServicePrice,
        ),
        CatalogList::StockAt(b) => pick(
            s.product_branches.values(),
            tenant,
            |p| p.branch_id == b,
            CatalogRecord::Stock,
        ),
        CatalogList::StockOf(p) => pick(
            s.product_branches.values(),
            tenant,
            |x| x.product_id == p,
            CatalogRecord::Stock,
        ),
        CatalogList::ResourcesOfService(sv) => pick(
            s.service_resources.values(),
            tenant,
            |l| l.service_id == sv,
            CatalogRecord::ServiceResource,
        ),
        CatalogList::ServicesOfResource(r) => pick(
            s.service_resources.values(),
            tenant,
            |l| l.resource_id == r,
            CatalogRecord::ServiceResource,
        ),
    };
    // By key, as the SQL stores give them (the filtered column is fixed).
    out.sort_by_key(CatalogRecord::key);
    out
}
