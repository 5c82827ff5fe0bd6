//! `InMemoryEngine`: every use case wired to the in-memory adapters,
//! with handles on each so tests can look inside or inject faults.

use std::sync::Arc;

use booking_core::{BookingPolicy, BookingService, CatalogService, Ports, Services};
use booking_memory::{InMemoryBroadcaster, InMemoryLocks, InMemoryStore, ManualClock};
use chrono::{DateTime, Utc};

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
        let store = Arc::new(InMemoryStore::new());
        let locks = Arc::new(InMemoryLocks::new());
        let broadcaster = Arc::new(InMemoryBroadcaster::default());
        let clock = Arc::new(ManualClock::new(now));
        let services = Services::new(
            Ports {
                store: store.clone(),
                locks: locks.clone(),
                broadcaster: broadcaster.clone(),
                clock: clock.clone(),
            },
            policy,
        );
        Self {
            services,
            store,
            locks,
            broadcaster,
            clock,
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
