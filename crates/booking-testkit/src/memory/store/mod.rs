//! [`InMemoryStore`]: the store port in process memory. Every operation runs
//! inside one `std::sync::Mutex` critical section (never held across an
//! `.await`), which makes `apply` exactly as atomic as a serializable
//! database transaction: tests and embedders get the real guarantees.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use booking_core::{
    AccessStore, ApiKey, Applied, ApplyError, Branch, BranchId, CatalogItem, CatalogStore, Claim,
    DeleteError, Entity, Event, EventPayload, IdempotencyKey, KeyHash, NewEvent, Product,
    ProductBranch, ProductId, Reservation, ReservationId, ReservationQuery, ReservationStore,
    ReservationWrite, Resource, ResourceBranch, ResourceId, ResourceNotAtBranch, Seq, ServiceId,
    ServiceItem, ServiceItemBranch, StockCause, StockChange, StockError, StockKey, StockOp,
    StoreError, Tenant, TenantId, TimeRange, write,
};
use chrono::{DateTime, Utc};

/// The store port in memory: first-class, atomic, not a mock.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tenants: HashMap<TenantId, Tenant>,
    branches: BTreeMap<BranchId, Branch>,
    resources: BTreeMap<ResourceId, Resource>,
    resource_branches: BTreeMap<(ResourceId, BranchId), ResourceBranch>,
    services: BTreeMap<ServiceId, ServiceItem>,
    service_branches: HashMap<(ServiceId, BranchId), ServiceItemBranch>,
    products: BTreeMap<ProductId, Product>,
    product_branches: BTreeMap<StockKey, ProductBranch>,
    reservations: HashMap<ReservationId, Reservation>,
    events: HashMap<TenantId, Vec<Event>>,
    /// API keys by the hash of their secret.
    api_keys: HashMap<String, ApiKey>,
    /// Idempotency records by tenant and key.
    idempotency: HashMap<(TenantId, String), access::Idempotency>,
}

/// A record owned by a tenant.
trait Owned {
    fn tenant(&self) -> TenantId;
}

macro_rules! owned {
    ($($t:ty),*) => { $(impl Owned for $t { fn tenant(&self) -> TenantId { self.tenant_id } })* };
}
owned!(
    Branch,
    Resource,
    ServiceItem,
    Product,
    Reservation,
    ResourceBranch,
    ServiceItemBranch,
    ProductBranch
);

/// The record if it exists *for this tenant*; another tenant's is absent.
fn owned<'a, K: Ord, V: Owned>(
    map: &'a BTreeMap<K, V>,
    tenant: TenantId,
    key: &K,
) -> Option<&'a V> {
    map.get(key).filter(|v| v.tenant() == tenant)
}

/// Inserts or replaces, refusing an id that belongs to another tenant.
fn upsert<K: Ord, V: Owned + Clone>(
    map: &mut BTreeMap<K, V>,
    key: K,
    value: &V,
    not_found: Entity,
) -> Result<(), StoreError> {
    if map.get(&key).is_some_and(|v| v.tenant() != value.tenant()) {
        return Err(StoreError::NotFound(not_found));
    }
    map.insert(key, value.clone());
    Ok(())
}

impl State {
    fn require_tenant(&self, tenant: TenantId) -> Result<(), StoreError> {
        if self.tenants.contains_key(&tenant) {
            Ok(())
        } else {
            Err(StoreError::NotFound(Entity::Tenant(tenant)))
        }
    }

    fn require_branch(&self, tenant: TenantId, id: BranchId) -> Result<&Branch, StoreError> {
        owned(&self.branches, tenant, &id).ok_or(StoreError::NotFound(Entity::Branch(id)))
    }

    fn append(&mut self, tenant: TenantId, new: Vec<NewEvent>) -> Vec<Event> {
        let log = self.events.entry(tenant).or_default();
        let mut seq = log.last().map_or(Seq::ZERO, |e| e.seq);
        let committed: Vec<Event> = new
            .into_iter()
            .map(|e| {
                seq = seq.next();
                Event::commit(e, tenant, seq)
            })
            .collect();
        log.extend(committed.iter().cloned());
        committed
    }

    /// Scoping checks, then the shared plan ([`write::plan`]), then the
    /// writes: nothing is written unless every check passed.
    fn apply(&mut self, w: ReservationWrite) -> Result<Applied, ApplyError> {
        let after = &w.reservation;
        let (t, at) = (after.tenant_id, w.at);
        self.require_branch(t, after.branch_id)?;
        if owned(&self.resources, t, &after.resource_id).is_none() {
            return Err(ApplyError::NotFound(Entity::Resource(after.resource_id)));
        }
        if let Some(s) = after.service_id
            && owned(&self.services, t, &s).is_none()
        {
            return Err(ApplyError::NotFound(Entity::Service(s)));
        }
        if owned(
            &self.resource_branches,
            t,
            &(after.resource_id, after.branch_id),
        )
        .is_none()
        {
            return Err(ResourceNotAtBranch {
                resource_id: after.resource_id,
                branch_id: after.branch_id,
            }
            .into());
        }
        let mut levels = BTreeMap::new();
        for line in &after.lines {
            let key = StockKey {
                product_id: line.product_id,
                branch_id: after.branch_id,
            };
            let pb = owned(&self.product_branches, t, &key).ok_or(ApplyError::NotFound(
                Entity::ProductAtBranch(line.product_id, after.branch_id),
            ))?;
            levels.insert(key, pb.stock);
        }

        let before = self.reservations.get(&after.id).cloned();
        let stored = write::check(before.as_ref(), &w)?;
        if stored.is_active(at)
            && let Some(taken) = write::first_conflict(&stored, self.reservations.values(), at)
        {
            return Err(taken.into());
        }
        let takes = write::take_keys(before.as_ref(), &stored);
        let stale: Vec<Reservation> = self
            .reservations
            .values()
            .filter(|r| write::stale_hold_in_the_way(r, &stored, &takes, at))
            .cloned()
            .collect();
        for key in write::stock_keys(&stored, &stale) {
            if let Some(pb) = self.product_branches.get(&key) {
                levels.entry(key).or_insert(pb.stock);
            }
        }
        let plan = write::plan(&w, before.as_ref(), &stale, &levels)?;

        for (key, _, level) in &plan.stock {
            if let Some(pb) = self.product_branches.get_mut(key) {
                pb.stock = *level;
            }
        }
        for exp in plan.expired {
            self.reservations.insert(exp.id, exp);
        }
        self.reservations
            .insert(plan.stored.id, plan.stored.clone());
        let events = self.append(t, plan.events);
        Ok(Applied {
            reservation: plan.stored,
            events,
        })
    }
}

impl InMemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied write:
        // `apply` mutates only after every check passed. So a poisoned lock
        // still guards consistent data.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

mod access;
mod catalog;
mod reservations;
