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

mod catalog;
mod reservations;
