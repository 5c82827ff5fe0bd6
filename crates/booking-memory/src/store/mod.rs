//! [`InMemoryStore`]: the store port in process memory. The state sits
//! behind one async mutex: a write transaction holds it from `begin` to
//! commit (so writes are serialized, like SQLite's `BEGIN IMMEDIATE`) and
//! records how to undo each change, which dropping the transaction
//! applies. Reads take the mutex briefly. Tests and embedders get the real
//! guarantees.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use booking_core::{
    AccessStore, ApiKey, Branch, BranchId, CatalogKey, CatalogList, CatalogRecord, CatalogStore,
    Claim, Entity, Event, EventQuery, IdempotencyKey, IdempotencyScope, KeyHash, NewEvent, Product,
    ProductBranch, ProductId, Refusal, Reservation, ReservationId, ReservationQuery,
    ReservationStore, Resource, ResourceBranch, ResourceId, Scope, Seq, ServiceId, ServiceItem,
    ServiceItemBranch, ServiceResource, StockDelta, StockKey, StockLevel, StoreError, Tenant,
    TenantId, TenantSettings, TxError, WriteStore, WriteTx,
};
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

mod access;
mod catalog;
mod reservations;
mod write;

use catalog::{record, records};

/// The store port in memory: first-class, atomic, not a mock.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    tenants: BTreeMap<TenantId, Tenant>,
    branches: BTreeMap<BranchId, Branch>,
    resources: BTreeMap<ResourceId, Resource>,
    resource_branches: BTreeMap<(ResourceId, BranchId), ResourceBranch>,
    services: BTreeMap<ServiceId, ServiceItem>,
    service_branches: BTreeMap<(ServiceId, BranchId), ServiceItemBranch>,
    products: BTreeMap<ProductId, Product>,
    product_branches: BTreeMap<StockKey, ProductBranch>,
    service_resources: BTreeMap<(ServiceId, ResourceId), ServiceResource>,
    settings: BTreeMap<TenantId, TenantSettings>,
    reservations: BTreeMap<ReservationId, Reservation>,
    events: BTreeMap<TenantId, Vec<Event>>,
    /// API keys by the hash of their secret.
    api_keys: BTreeMap<String, ApiKey>,
    /// Idempotency records by tenant and key.
    idempotency: BTreeMap<(IdempotencyScope, String), access::Idempotency>,
    /// Primitives that fail on their next call (see
    /// [`InMemoryStore::fail_next`]).
    faults: Vec<&'static str>,
}

impl State {
    /// Fails if a test asked `primitive` to fail (once).
    fn fault(&mut self, primitive: &'static str) -> Result<(), StoreError> {
        match self.faults.iter().position(|f| *f == primitive) {
            Some(i) => {
                self.faults.remove(i);
                Err(StoreError::Unavailable(format!(
                    "injected failure of {primitive}"
                )))
            }
            None => Ok(()),
        }
    }
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
    ProductBranch,
    ServiceResource
);

impl Owned for TenantSettings {
    fn tenant(&self) -> TenantId {
        self.tenant_id()
    }
}

/// The record if it exists *for this tenant*; another tenant's is absent.
fn owned<'a, K: Ord, V: Owned>(
    map: &'a BTreeMap<K, V>,
    tenant: TenantId,
    key: &K,
) -> Option<&'a V> {
    map.get(key).filter(|v| v.tenant() == tenant)
}

/// The values belonging to `tenant`, in the map's (id) order.
fn of_tenant<'a, V: Clone + Owned + 'a>(
    values: impl Iterator<Item = &'a V>,
    tenant: TenantId,
) -> Vec<V> {
    values.filter(|v| v.tenant() == tenant).cloned().collect()
}

impl InMemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    async fn read(&self) -> MutexGuard<'_, State> {
        self.state.lock().await
    }

    /// Makes the next call of the transaction primitive `primitive` (its
    /// method name on [`WriteTx`], e.g. `"append"`) fail as if the backend
    /// went away, to show that a write and its events commit together or
    /// not at all; `"events"` fails the next read of the event log (a
    /// stream filling a gap while the database restarts), and
    /// `"finish_idempotency"` / `"abandon_idempotency"` the next record of
    /// an idempotent request's outcome; `"commit_answer"` makes the next
    /// commit and then fails it, as a connection cut after the database
    /// committed.
    pub async fn fail_next(&self, primitive: &'static str) {
        self.read().await.faults.push(primitive);
    }

    /// Makes the next write transaction never begin, as a node that died
    /// (or stalled for good) mid-request: what the request claimed before
    /// it stays claimed.
    pub async fn stall_next_write(&self) {
        self.read().await.faults.push("stall_write");
    }
}

#[async_trait]
impl WriteStore for InMemoryStore {
    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        // Suspend once, as a real store does on I/O, so callers' races
        // really interleave in tests.
        tokio::task::yield_now().await;
        if self.read().await.fault("stall_write").is_err() {
            std::future::pending::<()>().await;
        }
        Ok(Box::new(write::MemoryTx::new(
            Arc::clone(&self.state).lock_owned().await,
        )))
    }
}
