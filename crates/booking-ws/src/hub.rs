//! [`Hub`]: fans committed events out to this node's connected clients,
//! per tenant. Each client has a bounded queue; a client that falls behind
//! is dropped from the hub (its session then tells it to resync) and
//! nobody else waits for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use booking_core::{BroadcastError, Broadcaster, Event, TenantId};
use tokio::sync::mpsc;

struct Client {
    id: u64,
    queue: mpsc::Sender<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

/// The local fan-out of events to WebSocket sessions.
pub struct Hub {
    tenants: Mutex<HashMap<TenantId, Vec<Client>>>,
    next_id: AtomicU64,
    capacity: usize,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("clients", &self.clients())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// A session's feed of live events. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Hub>,
    tenant: TenantId,
    id: u64,
    receiver: mpsc::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    /// The next live event; `None` once the hub dropped this client.
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.receiver.recv().await
    }

    /// Whether the hub dropped this client for falling behind.
    #[must_use]
    pub fn lagged(&self) -> bool {
        self.lagged.load(Ordering::SeqCst)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut tenants = self.hub.table();
        if let Some(clients) = tenants.get_mut(&self.tenant) {
            clients.retain(|c| c.id != self.id);
            if clients.is_empty() {
                tenants.remove(&self.tenant);
            }
        }
    }
}

impl Hub {
    /// A hub whose clients may each fall `capacity` events behind.
    #[must_use]
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            tenants: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            capacity: capacity.max(1),
        })
    }

    fn table(&self) -> MutexGuard<'_, HashMap<TenantId, Vec<Client>>> {
        self.tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes to a tenant's live events.
    #[must_use]
    pub fn subscribe(self: &Arc<Self>, tenant: TenantId) -> Subscription {
        let (queue, receiver) = mpsc::channel(self.capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        self.table().entry(tenant).or_default().push(Client {
            id,
            queue,
            lagged: lagged.clone(),
        });
        Subscription {
            hub: Arc::clone(self),
            tenant,
            id,
            receiver,
            lagged,
        }
    }

    /// Connected clients on this node.
    #[must_use]
    pub fn clients(&self) -> usize {
        self.table().values().map(Vec::len).sum()
    }

    /// Hands events to their tenant's clients without waiting: a full
    /// queue drops that client alone.
    pub fn deliver(&self, events: &[Event]) {
        let mut tenants = self.table();
        for event in events {
            let Some(clients) = tenants.get_mut(&event.tenant_id) else {
                continue;
            };
            let event = Arc::new(event.clone());
            clients.retain(|client| match client.queue.try_send(Arc::clone(&event)) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    client.lagged.store(true, Ordering::SeqCst);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        }
    }
}

/// In one-node mode the hub is the broadcaster: committed events go
/// straight to this node's clients.
#[async_trait]
impl Broadcaster for Hub {
    async fn publish(&self, events: &[Event]) -> Result<(), BroadcastError> {
        self.deliver(events);
        Ok(())
    }
}
