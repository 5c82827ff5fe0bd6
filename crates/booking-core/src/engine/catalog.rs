//! Catalog writes: upserts of branches, resources, services, products and
//! their links ([`put`]), and deletions ([`delete`]).
//!
//! The rules: an update needs the record to exist for the tenant; a link
//! or branch price needs both ends to exist; an item a reservation refers
//! to is not deleted (reservations and their history keep every reference
//! they were made with), and an item's dependent records (links, branch
//! prices, stock) go with it. Every record that changes is recorded by the
//! events of [`catalog_events`], appended in the same transaction.

use chrono::{DateTime, Utc};

use super::{Attempt, retrying};
use crate::time::to_micros;
use crate::{
    Attribution, Busy, CatalogKey, CatalogList, CatalogRecord, Entity, Event, NewEvent, Refusal,
    StockCause, StoreError, TenantId, TxError, WriteStore, WriteTx, catalog_events,
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
    /// A stock level, with the units reservations hold and may give back,
    /// would exceed the maximum: giving them back could not be recorded.
    #[error("stock and the {out} units out in reservations would exceed {max} units")]
    TooMuch {
        /// The maximum ([`crate::ProductBranch::MAX_STOCK`]).
        max: u32,
        /// Units held by reservations that may come back (cancel, expiry).
        out: u64,
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

/// Whether a [`put`] creates, replaces, or does either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutMode {
    /// A new record (its id was just made, or derived from the request so
    /// that its retry finds it: a create whose id exists writes nothing and
    /// returns what is stored).
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
        CatalogRecord::ServiceResource(l) => vec![
            CatalogKey::Service(l.service_id),
            CatalogKey::Resource(l.resource_id),
        ],
        // The record exists with its tenant (an update needs it).
        CatalogRecord::Settings(_) => Vec::new(),
        CatalogRecord::Branch(_)
        | CatalogRecord::Resource(_)
        | CatalogRecord::Service(_)
        | CatalogRecord::Product(_) => Vec::new(),
    }
}

/// Who writes the catalog, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogWrite {
    /// Who.
    pub by: Attribution,
    /// When.
    pub at: DateTime<Utc>,
}

impl CatalogWrite {
    fn events(
        &self,
        changes: &[(Option<&CatalogRecord>, Option<&CatalogRecord>)],
        cause: &StockCause,
    ) -> Vec<NewEvent> {
        changes
            .iter()
            .flat_map(|(before, after)| catalog_events(*before, *after, cause))
            .map(|payload| NewEvent {
                at: to_micros(self.at),
                by: self.by.clone(),
                payload,
            })
            .collect()
    }
}

/// Inserts or replaces a catalog record of `record`'s tenant, recording
/// the change; returns the record it replaced and the events.
///
/// # Errors
/// [`CatalogError::NotFound`] if an update's record, a link's end or the
/// tenant does not exist for the tenant (an id of another tenant included).
pub async fn put(
    store: &dyn WriteStore,
    record: &CatalogRecord,
    mode: PutMode,
    write: &CatalogWrite,
) -> Result<(Option<CatalogRecord>, Vec<Event>), CatalogError> {
    retrying(
        || Box::pin(put_once(store, record, mode, write)),
        CatalogError::Busy(Busy::Store),
    )
    .await
}

async fn put_once(
    store: &dyn WriteStore,
    record: &CatalogRecord,
    mode: PutMode,
    write: &CatalogWrite,
) -> Result<(Option<CatalogRecord>, Vec<Event>), Attempt<CatalogError>> {
    let t = record.tenant_id();
    let key = record.key();
    let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
    require(&mut *tx, t, &parents(record)).await?;
    let before = tx.catalog_record(t, key, true).await.map_err(failed)?;
    if mode == PutMode::Update && before.is_none() {
        return Err(Attempt::Done(CatalogError::NotFound(key.entity())));
    }
    // A create whose id exists is the same request again (fresh ids never
    // meet; a retried request's id is derived from its Idempotency-Key,
    // and its first attempt's answer was lost): what it made stands —
    // later changes included — and nothing is written or recorded twice.
    if mode == PutMode::Create && before.is_some() {
        return Ok((before, Vec::new()));
    }
    tx.put_catalog_record(record).await.map_err(failed)?;
    let events = write.events(&[(before.as_ref(), Some(record))], &StockCause::Set);
    let events = tx.append(t, events).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok((before, events))
}

/// Deletes a record no reservation refers to — an item with its
/// dependent records (a branch's or resource's links, a service's branch
/// prices, a product's stock), or one link, branch price or stock record —
/// recording each removal; returns the events.
///
/// # Errors
/// - [`CatalogError::NotFound`] if the record is not the tenant's;
/// - [`CatalogError::InUse`] if a reservation refers to it.
pub async fn delete(
    store: &dyn WriteStore,
    tenant: TenantId,
    key: CatalogKey,
    write: &CatalogWrite,
) -> Result<Vec<Event>, CatalogError> {
    retrying(
        || Box::pin(delete_once(store, tenant, key, write)),
        CatalogError::Busy(Busy::Store),
    )
    .await
}

async fn delete_once(
    store: &dyn WriteStore,
    tenant: TenantId,
    key: CatalogKey,
    write: &CatalogWrite,
) -> Result<Vec<Event>, Attempt<CatalogError>> {
    if let CatalogKey::Settings(_) = key {
        // Settings are changed, never deleted: the tenant has them as long
        // as it exists.
        return Err(Attempt::Done(CatalogError::NotFound(key.entity())));
    }
    let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
    let Some(item) = tx.catalog_record(tenant, key, true).await.map_err(failed)? else {
        return Err(Attempt::Done(CatalogError::NotFound(key.entity())));
    };
    let mut dependents = Vec::new();
    for list in dependents_of(key) {
        dependents.extend(
            tx.catalog_records(tenant, list, true)
                .await
                .map_err(failed)?,
        );
    }
    // Only now, with the item and what depends on it locked: a booking
    // that adds a line moves its stock level in its own transaction, so it
    // either committed before these locks were granted (and its line is
    // seen here) or finds the level gone and is refused. Stores need not
    // guard lines with a key to the stock record.
    if tx.referenced(tenant, key).await.map_err(failed)? {
        return Err(Attempt::Done(CatalogError::InUse(key.entity())));
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
            TxError::Refused(Refusal::InUse(_)) => Attempt::Done(CatalogError::InUse(key.entity())),
            other => failed(other),
        })?;
    let removed: Vec<_> = dependents
        .iter()
        .chain(std::iter::once(&item))
        .map(|r| (Some(r), None))
        .collect();
    let events = write.events(&removed, &StockCause::Removed);
    let events = tx.append(tenant, events).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(events)
}

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
        CatalogKey::Resource(r) => vec![
            CatalogList::SchedulesOf(r),
            CatalogList::ServicesOfResource(r),
        ],
        CatalogKey::Service(s) => vec![
            CatalogList::ServicePricesOf(s),
            CatalogList::ResourcesOfService(s),
        ],
        CatalogKey::Product(p) => vec![CatalogList::StockOf(p)],
        CatalogKey::Schedule(..)
        | CatalogKey::ServicePrice(..)
        | CatalogKey::Stock(_)
        | CatalogKey::ServiceResource(..)
        | CatalogKey::Settings(_) => Vec::new(),
    }
}

/// Refuses unless each of `keys` exists for the tenant, naming the first
/// that does not.
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
    use crate::{BranchId, ResourceBranch, ResourceId, Schedule};

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
    fn a_deleted_product_takes_its_stock_and_a_link_takes_nothing() {
        let p = crate::ProductId::generate();
        assert_eq!(
            dependents_of(CatalogKey::Product(p)),
            vec![CatalogList::StockOf(p)]
        );
        assert!(
            dependents_of(CatalogKey::Schedule(
                ResourceId::generate(),
                BranchId::generate()
            ))
            .is_empty()
        );
    }
}
