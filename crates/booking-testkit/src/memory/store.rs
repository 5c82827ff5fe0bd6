//! [`InMemoryStore`]: the store port in process memory. Every operation runs
//! inside one `std::sync::Mutex` critical section (never held across an
//! `.await`), which makes `apply` exactly as atomic as a serializable
//! database transaction: tests and embedders get the real guarantees.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use booking_core::{
    Actor, Applied, ApplyError, Branch, BranchId, CatalogStore, Entity, Event, EventPayload,
    NewEvent, OutOfStock, Product, ProductBranch, ProductId, Reservation, ReservationEventKind,
    ReservationId, ReservationQuery, ReservationStore, ReservationWrite, Resource, ResourceBranch,
    ResourceId, ResourceNotAtBranch, Seq, ServiceId, ServiceItem, ServiceItemBranch, StockCause,
    StockChange, StockError, StockKey, StockOp, StoreError, Tenant, TenantId, TimeRange, stock,
    write,
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

    /// Everything `apply` checks, then everything it writes: nothing is
    /// written unless every check passed.
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
        for line in &after.lines {
            let key = StockKey {
                product_id: line.product_id,
                branch_id: after.branch_id,
            };
            if owned(&self.product_branches, t, &key).is_none() {
                return Err(ApplyError::NotFound(Entity::ProductAtBranch(
                    line.product_id,
                    after.branch_id,
                )));
            }
        }

        let before = self.reservations.get(&after.id).cloned();
        let stored = write::check(before.as_ref(), &w)?;
        if let Some(taken) = write::first_conflict(&stored, self.reservations.values(), at)
            .filter(|_| stored.is_active(at))
        {
            return Err(taken.into());
        }

        let moves = stock::movements(before.as_ref(), &stored);
        let take_keys: Vec<StockKey> = moves.iter().filter(|m| m.take).map(|m| m.key).collect();
        let mut stale: Vec<Reservation> = self
            .reservations
            .values()
            .filter(|r| write::stale_hold_in_the_way(r, &stored, &take_keys, at))
            .cloned()
            .collect();
        stale.sort_by_key(|r| r.id);

        // Plan on scratch stock levels; commit only if every step passes.
        let mut levels: BTreeMap<StockKey, u32> = BTreeMap::new();
        let mut events = Vec::new();
        let mut expired = Vec::with_capacity(stale.len());
        let system = Actor::system();
        for hold in &stale {
            let exp = write::expired(hold, at);
            events.push(reservation_event(
                ReservationEventKind::Expired,
                Some(hold),
                &exp,
                &system,
                at,
            ));
            // Giving units back cannot fail; an error here means corrupt state.
            self.move_stock(&mut levels, &mut events, Some(hold), &exp, &system, at)
                .map_err(|e| StoreError::Internal(format!("expiring a hold: {e}")))?;
            expired.push(exp);
        }
        events.push(reservation_event(
            w.kind,
            before.as_ref(),
            &stored,
            &w.actor,
            at,
        ));
        self.move_stock(
            &mut levels,
            &mut events,
            before.as_ref(),
            &stored,
            &w.actor,
            at,
        )
        .map_err(ApplyError::OutOfStock)?;

        for (key, level) in levels {
            if let Some(pb) = self.product_branches.get_mut(&key) {
                pb.stock = level;
            }
        }
        for exp in expired {
            self.reservations.insert(exp.id, exp);
        }
        self.reservations.insert(stored.id, stored.clone());
        let events = self.append(t, events);
        Ok(Applied {
            reservation: stored,
            events,
        })
    }

    /// Applies the stock movements of `from → to` to the scratch levels and
    /// records a `StockAdjusted` event for each.
    fn move_stock(
        &self,
        levels: &mut BTreeMap<StockKey, u32>,
        events: &mut Vec<NewEvent>,
        before: Option<&Reservation>,
        after: &Reservation,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(), OutOfStock> {
        for m in stock::movements(before, after) {
            let current = *levels
                .entry(m.key)
                .or_insert_with(|| self.product_branches.get(&m.key).map_or(0, |pb| pb.stock));
            let next = stock::apply_movement(current, &m).map_err(|available| OutOfStock {
                product_id: m.key.product_id,
                branch_id: m.key.branch_id,
                requested: m.quantity.get(),
                available,
            })?;
            levels.insert(m.key, next);
            events.push(NewEvent {
                at,
                actor: actor.clone(),
                payload: EventPayload::StockAdjusted {
                    product_id: m.key.product_id,
                    branch_id: m.key.branch_id,
                    before: current,
                    after: next,
                    cause: StockCause::Reservation(after.id),
                },
            });
        }
        Ok(())
    }
}

fn reservation_event(
    kind: ReservationEventKind,
    before: Option<&Reservation>,
    after: &Reservation,
    actor: &Actor,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        at,
        actor: actor.clone(),
        payload: EventPayload::Reservation {
            kind,
            before: before.cloned().map(Box::new),
            after: Box::new(after.clone()),
        },
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

fn sorted<V: Clone + Owned>(values: impl Iterator<Item = V>, tenant: TenantId) -> Vec<V> {
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
        Ok(sorted(self.lock().branches.values().cloned(), tenant))
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
        Ok(sorted(self.lock().resources.values().cloned(), tenant))
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
        Ok(sorted(
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
        Ok(sorted(self.lock().services.values().cloned(), tenant))
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
        Ok(sorted(self.lock().products.values().cloned(), tenant))
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
        Ok(sorted(
            self.lock()
                .product_branches
                .values()
                .filter(|p| p.branch_id == branch)
                .cloned(),
            tenant,
        ))
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
            at: change.at,
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

#[async_trait]
impl ReservationStore for InMemoryStore {
    async fn apply(&self, write: ReservationWrite) -> Result<Applied, ApplyError> {
        // Suspend once, as a real store does on I/O, so callers' races
        // (check, then write) really interleave in tests.
        tokio::task::yield_now().await;
        self.lock().apply(write)
    }

    async fn reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Reservation, StoreError> {
        self.lock()
            .reservations
            .get(&id)
            .filter(|r| r.tenant_id == tenant)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Reservation(id)))
    }

    async fn reservations(
        &self,
        tenant: TenantId,
        query: &ReservationQuery,
    ) -> Result<Vec<Reservation>, StoreError> {
        let s = self.lock();
        let mut page: Vec<Reservation> = s
            .reservations
            .values()
            .filter(|r| {
                r.tenant_id == tenant
                    && query.branch_id.is_none_or(|b| r.branch_id == b)
                    && query.resource_id.is_none_or(|x| r.resource_id == x)
                    && query.window.is_none_or(|w| w.overlaps(&r.range))
                    && query
                        .after
                        .is_none_or(|c| (r.range.start(), r.id) > (c.starts_at, c.id))
            })
            .cloned()
            .collect();
        page.sort_by_key(|r| (r.range.start(), r.id));
        page.truncate(query.limit.clamp(1, 1000));
        Ok(page)
    }

    async fn conflicts(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        occupied: &TimeRange,
        now: DateTime<Utc>,
        exclude: Option<ReservationId>,
    ) -> Result<Vec<Reservation>, StoreError> {
        tokio::task::yield_now().await;
        let s = self.lock();
        let mut out: Vec<Reservation> = s
            .reservations
            .values()
            .filter(|r| {
                r.tenant_id == tenant
                    && r.resource_id == resource
                    && Some(r.id) != exclude
                    && r.is_active(now)
                    && r.occupied().overlaps(occupied)
            })
            .cloned()
            .collect();
        out.sort_by_key(|r| (r.range.start(), r.id));
        Ok(out)
    }

    async fn reservation_events(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Vec<Event>, StoreError> {
        let s = self.lock();
        if s.reservations
            .get(&id)
            .is_none_or(|r| r.tenant_id != tenant)
        {
            return Err(StoreError::NotFound(Entity::Reservation(id)));
        }
        Ok(s.events
            .get(&tenant)
            .map(|log| {
                log.iter()
                    .filter(|e| e.reservation_id() == Some(id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn events_since(
        &self,
        tenant: TenantId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let s = self.lock();
        Ok(s.events
            .get(&tenant)
            .map(|log| {
                // Seqs are 1-based and dense, so `after` is also an index.
                let start = usize::try_from(after.0)
                    .unwrap_or(usize::MAX)
                    .min(log.len());
                log[start..].iter().take(limit).cloned().collect()
            })
            .unwrap_or_default())
    }
}
