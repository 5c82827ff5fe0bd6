//! The catalog half of the store, read. (Writes go through the write
//! engine: [`crate::engine::catalog`] over [`crate::WriteStore`].)
//!
//! A store implements three reads: a tenant, one record by its key, and
//! the records of a [`CatalogList`]. Every typed read (`branch`,
//! `resources`, `branch_offer`, …) is written once here on top of them.

use std::collections::HashMap;
use std::fmt::Debug;

use async_trait::async_trait;

use crate::{
    Branch, BranchId, CatalogKey, CatalogRecord, Product, ProductBranch, ProductId, Resource,
    ResourceBranch, ResourceId, ServiceId, ServiceItem, ServiceItemBranch, ServiceResource,
    StockKey, StoreError, Tenant, TenantId, TenantSettings,
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

/// A set of a tenant's catalog records of one kind, in key order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CatalogList {
    /// Every branch.
    Branches,
    /// Every resource.
    Resources,
    /// Every service.
    Services,
    /// Every product.
    Products,
    /// The schedules of the resources working at a branch.
    SchedulesAt(BranchId),
    /// A resource's schedules at every branch.
    SchedulesOf(ResourceId),
    /// The service prices a branch set.
    ServicePricesAt(BranchId),
    /// A service's prices at every branch.
    ServicePricesOf(ServiceId),
    /// The stock records of a branch.
    StockAt(BranchId),
    /// A product's stock records at every branch.
    StockOf(ProductId),
    /// The resources that perform a service.
    ResourcesOfService(ServiceId),
    /// The services a resource performs.
    ServicesOfResource(ResourceId),
}

/// One read of a [`CatalogStore::catalog_batch`]: a record by its key, or
/// the records of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CatalogRead {
    /// The record with this key (none or one).
    Key(CatalogKey),
    /// The records of this list, in key order.
    List(CatalogList),
}

/// Which part of an item list to read: the items whose id comes after
/// `after` (none: from the first), at most `limit`, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogPage {
    /// The last id of the previous page.
    pub after: Option<uuid::Uuid>,
    /// The most items.
    pub limit: usize,
}

/// The id an item list is ordered by: its item's (branches, resources,
/// services, products); `None` for the other lists, which are not paged.
#[must_use]
pub fn item_id(record: &CatalogRecord) -> Option<uuid::Uuid> {
    match record {
        CatalogRecord::Branch(b) => Some(b.id.as_uuid()),
        CatalogRecord::Resource(r) => Some(r.id.as_uuid()),
        CatalogRecord::Service(s) => Some(s.id.as_uuid()),
        CatalogRecord::Product(p) => Some(p.id.as_uuid()),
        _ => None,
    }
}

/// The records of one variant in a list, as an iterator of that type.
macro_rules! only {
    ($records:expr, $variant:ident) => {
        $records.into_iter().filter_map(|r| match r {
            $crate::CatalogRecord::$variant(x) => Some(x),
            _ => None,
        })
    };
}
pub(crate) use only;

/// Catalog reads, always scoped by tenant: a record of another tenant is
/// reported exactly like a missing one.
#[async_trait]
pub trait CatalogStore: Send + Sync + Debug {
    /// Reads a tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent.
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError>;

    /// The tenant's record with this key, if any.
    ///
    /// # Errors
    /// Backend failures only.
    async fn catalog_record(
        &self,
        tenant: TenantId,
        key: CatalogKey,
    ) -> Result<Option<CatalogRecord>, StoreError>;

    /// The tenant's records in `list`, by key.
    ///
    /// # Errors
    /// Backend failures only.
    async fn catalog_records(
        &self,
        tenant: TenantId,
        list: CatalogList,
    ) -> Result<Vec<CatalogRecord>, StoreError>;

    /// A page of the tenant's items in `list` (branches, resources,
    /// services or products), by id. Stores that can should read only the
    /// page; by default the whole list is read and cut.
    ///
    /// # Errors
    /// Backend failures only.
    async fn catalog_page(
        &self,
        tenant: TenantId,
        list: CatalogList,
        page: CatalogPage,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        let records = self.catalog_records(tenant, list).await?;
        Ok(records
            .into_iter()
            .filter(|r| {
                page.after
                    .is_none_or(|after| item_id(r).is_none_or(|id| id > after))
            })
            .take(page.limit)
            .collect())
    }

    /// Several reads at once: for each of `reads`, in order, what
    /// [`CatalogStore::catalog_record`] (none or one record) or
    /// [`CatalogStore::catalog_records`] answers. A booking checks half a
    /// dozen records before it writes; stores where each read is a round
    /// trip answer them all in one. By default they are read one after
    /// another.
    ///
    /// # Errors
    /// Backend failures only.
    async fn catalog_batch(
        &self,
        tenant: TenantId,
        reads: &[CatalogRead],
    ) -> Result<Vec<Vec<CatalogRecord>>, StoreError> {
        let mut found = Vec::with_capacity(reads.len());
        for read in reads {
            found.push(match *read {
                CatalogRead::Key(key) => self
                    .catalog_record(tenant, key)
                    .await?
                    .into_iter()
                    .collect(),
                CatalogRead::List(list) => self.catalog_records(tenant, list).await?,
            });
        }
        Ok(found)
    }

    /// Reads a branch of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        match self.catalog_record(tenant, CatalogKey::Branch(id)).await? {
            Some(CatalogRecord::Branch(b)) => Ok(b),
            _ => Err(StoreError::NotFound(CatalogKey::Branch(id).entity())),
        }
    }

    /// The tenant's branches, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        let records = self.catalog_records(tenant, CatalogList::Branches).await?;
        Ok(only!(records, Branch).collect())
    }

    /// Reads a resource of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        match self
            .catalog_record(tenant, CatalogKey::Resource(id))
            .await?
        {
            Some(CatalogRecord::Resource(r)) => Ok(r),
            _ => Err(StoreError::NotFound(CatalogKey::Resource(id).entity())),
        }
    }

    /// The tenant's resources, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        let records = self.catalog_records(tenant, CatalogList::Resources).await?;
        Ok(only!(records, Resource).collect())
    }

    /// A resource's schedule at a branch, if it works there.
    ///
    /// # Errors
    /// Backend failures only.
    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        let key = CatalogKey::Schedule(resource, branch);
        match self.catalog_record(tenant, key).await? {
            Some(CatalogRecord::Schedule(l)) => Ok(Some(l)),
            _ => Ok(None),
        }
    }

    /// The schedules of every resource working at a branch, by resource.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError> {
        let records = self
            .catalog_records(tenant, CatalogList::SchedulesAt(branch))
            .await?;
        Ok(only!(records, Schedule).collect())
    }

    /// Reads a service of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError> {
        match self.catalog_record(tenant, CatalogKey::Service(id)).await? {
            Some(CatalogRecord::Service(s)) => Ok(s),
            _ => Err(StoreError::NotFound(CatalogKey::Service(id).entity())),
        }
    }

    /// The tenant's services, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        let records = self.catalog_records(tenant, CatalogList::Services).await?;
        Ok(only!(records, Service).collect())
    }

    /// A service's price at a branch, if the branch set one.
    ///
    /// # Errors
    /// Backend failures only.
    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        let key = CatalogKey::ServicePrice(service, branch);
        match self.catalog_record(tenant, key).await? {
            Some(CatalogRecord::ServicePrice(p)) => Ok(Some(p)),
            _ => Ok(None),
        }
    }

    /// Reads a product of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        match self.catalog_record(tenant, CatalogKey::Product(id)).await? {
            Some(CatalogRecord::Product(p)) => Ok(p),
            _ => Err(StoreError::NotFound(CatalogKey::Product(id).entity())),
        }
    }

    /// The tenant's products, by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        let records = self.catalog_records(tenant, CatalogList::Products).await?;
        Ok(only!(records, Product).collect())
    }

    /// A product's stock record at a branch, if it is sold there.
    ///
    /// # Errors
    /// Backend failures only.
    async fn product_branch(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError> {
        let key = CatalogKey::Stock(StockKey {
            product_id: product,
            branch_id: branch,
        });
        match self.catalog_record(tenant, key).await? {
            Some(CatalogRecord::Stock(s)) => Ok(Some(s)),
            _ => Ok(None),
        }
    }

    /// The stock records of a branch, by product.
    ///
    /// # Errors
    /// Backend failures only.
    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError> {
        let records = self
            .catalog_records(tenant, CatalogList::StockAt(branch))
            .await?;
        Ok(only!(records, Stock).collect())
    }

    /// The resources that perform a service (none listed: any may).
    ///
    /// # Errors
    /// Backend failures only.
    async fn service_resources(
        &self,
        tenant: TenantId,
        service: ServiceId,
    ) -> Result<Vec<ResourceId>, StoreError> {
        let records = self
            .catalog_records(tenant, CatalogList::ResourcesOfService(service))
            .await?;
        let links: Vec<ServiceResource> = only!(records, ServiceResource).collect();
        Ok(links.into_iter().map(|l| l.resource_id).collect())
    }

    /// The tenant's booking settings.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the tenant does not exist.
    async fn settings(&self, tenant: TenantId) -> Result<TenantSettings, StoreError> {
        match self
            .catalog_record(tenant, CatalogKey::Settings(tenant))
            .await?
        {
            Some(CatalogRecord::Settings(s)) => Ok(s),
            _ => Err(StoreError::NotFound(crate::Entity::Tenant(tenant))),
        }
    }

    /// What a branch offers, in a fixed number of reads however large the
    /// catalog: the branch, its schedules, service prices and stock, and
    /// the tenant's resources, services and products, joined here.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the branch is absent or another
    /// tenant's.
    async fn branch_offer(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<BranchOfferRows, StoreError> {
        let branch = self.branch(tenant, branch).await?;
        let b = branch.id;
        let mut resources: HashMap<ResourceId, Resource> = self
            .resources(tenant)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let mut products: HashMap<ProductId, Product> = self
            .products(tenant)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut prices: HashMap<ServiceId, ServiceItemBranch> = {
            let records = self
                .catalog_records(tenant, CatalogList::ServicePricesAt(b))
                .await?;
            let list: Vec<ServiceItemBranch> = only!(records, ServicePrice).collect();
            list.into_iter().map(|p| (p.service_id, p)).collect()
        };
        let mut offered_resources = Vec::new();
        for link in self.branch_resources(tenant, b).await? {
            let resource = resources.remove(&link.resource_id).ok_or_else(|| {
                StoreError::Internal(format!("schedule of missing {}", link.resource_id))
            })?;
            offered_resources.push((resource, link));
        }
        let services = self
            .services(tenant)
            .await?
            .into_iter()
            .map(|s| {
                let price = prices.remove(&s.id);
                (s, price)
            })
            .collect();
        let mut offered_products = Vec::new();
        for stock in self.branch_products(tenant, b).await? {
            let product = products.remove(&stock.product_id).ok_or_else(|| {
                StoreError::Internal(format!("stock of missing {}", stock.product_id))
            })?;
            offered_products.push((product, stock));
        }
        Ok(BranchOfferRows {
            branch,
            resources: offered_resources,
            services,
            products: offered_products,
        })
    }
}
