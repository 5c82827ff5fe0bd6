//! Catalog writes: upserts of branches, resources, services, products and
//! their links ([`put`]), and deletions ([`delete`]).
//!
//! The rules: an update needs the record to exist for the tenant; a link
//! or branch price needs both ends to exist; an item a reservation refers
//! to is not deleted (reservations and their history keep every reference
//! they were made with), and an item's dependent records (links, branch
//! prices, stock) go with it.

use super::{Attempt, retrying};
use crate::BranchId;
use crate::{
    Busy, CatalogKey, CatalogList, CatalogRecord, Entity, ProductId, Refusal, ResourceId,
    ServiceId, StoreError, TenantId, TxError, WriteStore, WriteTx,
};

/// Why a catalog write was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// A record the write names does not exist for the tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// Reservations refer to the item.
    #[error("{0} is used by reservations and cannot be deleted")]
    InUse(Entity),
    /// A stock level would exceed the maximum.
    #[error("stock would exceed {max} units")]
    TooMuch {
        /// The maximum ([`crate::ProductBranch::MAX_STOCK`]).
        max: u32,
    },
    /// Concurrent writes or a held lock kept the write from completing;
    /// retrying soon helps.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// A backend failure.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CatalogError {
    /// Keeps "not found" a refusal; everything else is a backend failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::NotFound(entity),
            other => Self::Store(other),
        }
    }
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
    /// The item's record key.
    #[must_use]
    pub const fn key(self) -> CatalogKey {
        match self {
            Self::Branch(id) => CatalogKey::Branch(id),
            Self::Resource(id) => CatalogKey::Resource(id),
            Self::Service(id) => CatalogKey::Service(id),
            Self::Product(id) => CatalogKey::Product(id),
        }
    }

    /// The item as an [`Entity`] (for "not found").
    #[must_use]
    pub const fn entity(self) -> Entity {
        self.key().entity()
    }
}

/// Whether a [`put`] creates, replaces, or does either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutMode {
    /// A new record (its id was just made).
    Create,
    /// A record that must exist for the tenant.
    Update,
    /// Creates or replaces (links and branch prices).
    Upsert,
}

/// The records that must exist before `record` can: a link's or branch
/// price's ends. (Top-level records only need their tenant, which the
/// store's foreign key checks.)
fn parents(record: &CatalogRecord) -> Vec<CatalogKey> {
    match record {
        CatalogRecord::Schedule(l) => vec![
            CatalogKey::Resource(l.resource_id),
            CatalogKey::Branch(l.branch_id),
        ],
        CatalogRecord::ServicePrice(p) => vec![
            CatalogKey::Service(p.service_id),
            CatalogKey::Branch(p.branch_id),
        ],
        CatalogRecord::Stock(s) => vec![
            CatalogKey::Product(s.product_id),
            CatalogKey::Branch(s.branch_id),
        ],
        CatalogRecord::Branch(_)
        | CatalogRecord::Resource(_)
        | CatalogRecord::Service(_)
        | CatalogRecord::Product(_) => Vec::new(),
    }
}

/// Inserts or replaces a catalog record of `record`'s tenant; returns the
/// record it replaced.
///
/// # Errors
/// [`CatalogError::NotFound`] if an update's record, a link's end or the
/// tenant does not exist for the tenant (an id of another tenant included).
pub async fn put(
    store: &dyn WriteStore,
    record: &CatalogRecord,
    mode: PutMode,
) -> Result<Option<CatalogRecord>, CatalogError> {
    retrying(
        || Box::pin(put_once(store, record, mode)),
        CatalogError::Busy(Busy::Store),
    )
    .await
}

async fn put_once(
    store: &dyn WriteStore,
    record: &CatalogRecord,
    mode: PutMode,
) -> Result<Option<CatalogRecord>, Attempt<CatalogError>> {
    let t = record.tenant_id();
    let key = record.key();
    let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
    require(&mut *tx, t, &parents(record)).await?;
    let before = tx.catalog_record(t, key, true).await.map_err(failed)?;
    if mode == PutMode::Update && before.is_none() {
        return Err(Attempt::Done(CatalogError::NotFound(key.entity())));
    }
    tx.put_catalog_record(record).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(before)
}

/// Deletes an item no reservation refers to, with its dependent records;
/// returns those records.
///
/// # Errors
/// - [`CatalogError::NotFound`] if the item is not the tenant's;
/// - [`CatalogError::InUse`] if a reservation refers to it.
pub async fn delete(
    store: &dyn WriteStore,
    tenant: TenantId,
    item: CatalogItem,
) -> Result<Vec<CatalogRecord>, CatalogError> {
    retrying(
        || Box::pin(delete_once(store, tenant, item)),
        CatalogError::Busy(Busy::Store),
    )
    .await
}

async fn delete_once(
    store: &dyn WriteStore,
    tenant: TenantId,
    item: CatalogItem,
) -> Result<Vec<CatalogRecord>, Attempt<CatalogError>> {
    let key = item.key();
    let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
    if tx
        .catalog_record(tenant, key, true)
        .await
        .map_err(failed)?
        .is_none()
    {
        return Err(Attempt::Done(CatalogError::NotFound(item.entity())));
    }
    if tx.referenced(tenant, key).await.map_err(failed)? {
        return Err(Attempt::Done(CatalogError::InUse(item.entity())));
    }
    let mut dependents = Vec::new();
    for list in dependents_of(key) {
        dependents.extend(
            tx.catalog_records(tenant, list, true)
                .await
                .map_err(failed)?,
        );
    }
    let keys: Vec<CatalogKey> = dependents
        .iter()
        .map(CatalogRecord::key)
        .chain(std::iter::once(key))
        .collect();
    tx.delete_catalog_records(tenant, &keys)
        .await
        .map_err(|e| match e {
            // A reservation made meanwhile refers to it after all.
            TxError::Refused(Refusal::InUse(_)) => {
                Attempt::Done(CatalogError::InUse(item.entity()))
            }
            other => failed(other),
        })?;
    tx.commit().await.map_err(failed)?;
    Ok(dependents)
}

/// Refuses unless each of `keys` exists for the tenant, naming the first
/// that does not.
/// The lists of records that exist only for `item` and go with it when it
/// is deleted (a branch's or resource's schedules, a service's prices, a
/// product's stock).
fn dependents_of(item: CatalogKey) -> Vec<CatalogList> {
    match item {
        CatalogKey::Branch(b) => vec![
            CatalogList::SchedulesAt(b),
            CatalogList::ServicePricesAt(b),
            CatalogList::StockAt(b),
        ],
        CatalogKey::Resource(r) => vec![CatalogList::SchedulesOf(r)],
        CatalogKey::Service(s) => vec![CatalogList::ServicePricesOf(s)],
        CatalogKey::Product(p) => vec![CatalogList::StockOf(p)],
        CatalogKey::Schedule(..) | CatalogKey::ServicePrice(..) | CatalogKey::Stock(_) => {
            Vec::new()
        }
    }
}

async fn require(
    tx: &mut dyn WriteTx,
    tenant: TenantId,
    keys: &[CatalogKey],
) -> Result<(), Attempt<CatalogError>> {
    for key in keys {
        if tx
            .catalog_record(tenant, *key, false)
            .await
            .map_err(failed)?
            .is_none()
        {
            return Err(Attempt::Done(CatalogError::NotFound(key.entity())));
        }
    }
    Ok(())
}

/// A primitive's failure as a catalog write's answer.
pub(super) fn failed(e: TxError) -> Attempt<CatalogError> {
    Attempt::Done(match e {
        TxError::Retry(why) => return Attempt::Again(why),
        TxError::Store(e) => e.into(),
        TxError::Refused(Refusal::NotFound(entity)) => CatalogError::NotFound(entity),
        TxError::Refused(Refusal::InUse(entity)) => CatalogError::InUse(entity),
        TxError::Refused(other) => CatalogError::Store(StoreError::Internal(format!(
            "unexpected refusal of a catalog write: {other}"
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ResourceBranch, Schedule};

    #[test]
    fn a_link_needs_both_of_its_ends() {
        let link = CatalogRecord::Schedule(ResourceBranch {
            tenant_id: TenantId::generate(),
            resource_id: ResourceId::generate(),
            branch_id: BranchId::generate(),
            schedule: Schedule::unrestricted(),
        });
        let CatalogRecord::Schedule(l) = &link else {
            unreachable!()
        };
        assert_eq!(
            parents(&link),
            vec![
                CatalogKey::Resource(l.resource_id),
                CatalogKey::Branch(l.branch_id)
            ]
        );
    }

    #[test]
    fn an_item_names_itself_when_not_found() {
        let id = ProductId::generate();
        assert_eq!(CatalogItem::Product(id).entity(), Entity::Product(id));
    }
}
