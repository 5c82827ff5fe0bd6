//! `InMemoryEngine`: every use case wired to the in-memory adapters,
//! with handles on each so tests can look inside or inject faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use booking_core::{
    BookingPolicy, BookingService, CatalogService, Ports, Services, Spawn, WriteBatching,
};
use booking_memory::{InMemoryBroadcaster, InMemoryLocks, InMemoryStore, ManualClock};
use chrono::{DateTime, Utc};

/// Batches run as tasks on a tokio runtime, counted.
#[derive(Debug)]
struct TokioSpawn(tokio::runtime::Handle, Arc<AtomicUsize>);

impl Spawn for TokioSpawn {
    fn spawn(
        &self,
        work: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>,
    ) {
        self.1.fetch_add(1, Ordering::Relaxed);
        drop(self.0.spawn(work));
    }
}

/// The use cases over in-memory adapters and a manual clock.
#[derive(Clone, Debug)]
pub(crate) struct InMemoryEngine {
    /// The use cases.
    pub(crate) services: Services,
    /// The store behind them.
    pub(crate) store: Arc<InMemoryStore>,
    /// The lock service (switch it off to test degraded mode).
    pub(crate) locks: Arc<InMemoryLocks>,
    /// The broadcaster (subscribe to see published events).
    pub(crate) broadcaster: Arc<InMemoryBroadcaster>,
    /// The clock (advance it to expire holds).
    pub(crate) clock: Arc<ManualClock>,
    /// Batches of reservation writes started (with [`Self::batched`]).
    pub(crate) batches: Arc<AtomicUsize>,
}

impl InMemoryEngine {
    /// An engine with the default policy whose clock shows `now`.
    #[must_use]
    pub(crate) fn new(now: DateTime<Utc>) -> Self {
        Self::with_policy(now, BookingPolicy::default())
    }

    /// An engine with a custom policy.
    #[must_use]
    pub(crate) fn with_policy(now: DateTime<Utc>, policy: BookingPolicy) -> Self {
        Self::build(now, policy, false)
    }

    /// An engine that writes the reservation changes arriving together in
    /// one transaction ([`Services::with_write_batching`]: up to 8 a batch,
    /// one batch in flight, so they queue), its batches run on the current
    /// tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[must_use]
    pub(crate) fn batched(now: DateTime<Utc>) -> Self {
        Self::build(now, BookingPolicy::default(), true)
    }

    fn build(now: DateTime<Utc>, policy: BookingPolicy, batched: bool) -> Self {
        let store = Arc::new(InMemoryStore::new());
        let locks = Arc::new(InMemoryLocks::new());
        let broadcaster = Arc::new(InMemoryBroadcaster::default());
        let clock = Arc::new(ManualClock::new(now));
        let batches = Arc::new(AtomicUsize::new(0));
        let ports = Ports {
            store: store.clone(),
            locks: locks.clone(),
            broadcaster: broadcaster.clone(),
            clock: clock.clone(),
        };
        let services = if batched {
            Services::with_write_batching(
                ports,
                policy,
                &WriteBatching {
                    spawner: Arc::new(TokioSpawn(
                        tokio::runtime::Handle::current(),
                        Arc::clone(&batches),
                    )),
                    max_batch: 8,
                    in_flight: 1,
                },
            )
        } else {
            Services::new(ports, policy)
        };
        Self {
            services,
            store,
            locks,
            broadcaster,
            clock,
            batches,
        }
    }

    /// The reservation use cases.
    #[must_use]
    pub(crate) fn bookings(&self) -> &BookingService {
        self.services.bookings()
    }

    /// The catalog use cases.
    #[must_use]
    pub(crate) fn catalog(&self) -> &CatalogService {
        self.services.catalog()
    }
}
