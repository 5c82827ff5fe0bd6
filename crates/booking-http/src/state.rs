//! What handlers share.

use std::sync::Arc;

use async_trait::async_trait;
use booking_core::{BookingService, BookingStore, RangeLimits};

/// A dependency `/readyz` checks.
#[async_trait]
pub trait Readiness: Send + Sync + std::fmt::Debug {
    /// The dependency's name, as reported.
    fn name(&self) -> &'static str;
    /// Whether it answers now.
    async fn ready(&self) -> bool;
}

/// The application state: the use cases, the store for reads, and what
/// `/readyz` checks.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The use cases.
    pub service: BookingService,
    /// Reads and catalog writes.
    pub store: Arc<dyn BookingStore>,
    /// Dependencies checked by `/readyz`.
    pub readiness: Vec<Arc<dyn Readiness>>,
    /// Limits for booking ranges.
    pub booking_limits: RangeLimits,
}

impl AppState {
    /// State over a service (whose store is used for reads too).
    #[must_use]
    pub fn new(service: BookingService) -> Self {
        Self {
            store: service.store().clone(),
            service,
            readiness: Vec::new(),
            booking_limits: RangeLimits::bookings(),
        }
    }

    /// Adds a dependency to `/readyz`.
    #[must_use]
    pub fn with_readiness(mut self, check: Arc<dyn Readiness>) -> Self {
        self.readiness.push(check);
        self
    }
}
