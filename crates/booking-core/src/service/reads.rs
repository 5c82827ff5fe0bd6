//! What the reservation side reads: reservations, their history, the log.

use chrono::{DateTime, Utc};

use crate::{
    BookingPolicy, BookingService, Event, EventQuery, Reservation, ReservationId, ReservationQuery,
    Seq, StoreError, TenantId,
};

impl BookingService {
    /// A reservation of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Reservation, StoreError> {
        self.0.ports.store.reservation(tenant, id).await
    }

    /// A page of the tenant's reservations, ordered by (start, id).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn reservations(
        &self,
        tenant: TenantId,
        query: &ReservationQuery,
    ) -> Result<Vec<Reservation>, StoreError> {
        self.0.ports.store.reservations(tenant, query).await
    }

    /// A reservation's audited history, oldest first.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn history(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Vec<Event>, StoreError> {
        let store = &self.0.ports.store;
        // A reservation is never without its creation event, so an empty
        // history means the id is not the tenant's.
        let query = EventQuery {
            entity: Some(id.as_uuid()),
            include_access: false,
            ..EventQuery::since(Seq::ZERO, 1000)
        };
        let events = store.events(tenant, &query).await?;
        if events.is_empty() {
            return Err(StoreError::NotFound(crate::Entity::Reservation(id)));
        }
        Ok(events)
    }

    /// The current instant, by the service's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.0.ports.clock.now()
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &BookingPolicy {
        &self.0.policy
    }
}
