//! The reservation reads and the event log.

#[allow(clippy::wildcard_imports)]
use super::*;

#[async_trait]
impl ReservationStore for InMemoryStore {
    async fn reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Reservation, StoreError> {
        self.read()
            .await
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
        let s = self.read().await;
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

    async fn occupancy(
        &self,
        tenant: TenantId,
        resources: &[ResourceId],
        window: booking_core::TimeRange,
        at: DateTime<Utc>,
    ) -> Result<Vec<(ResourceId, booking_core::TimeRange)>, StoreError> {
        let s = self.read().await;
        Ok(s.reservations
            .values()
            .filter(|r| {
                r.tenant_id == tenant
                    && resources.contains(&r.resource_id)
                    && r.is_active(at)
                    && r.occupied().overlaps(&window)
            })
            .map(|r| (r.resource_id, r.occupied()))
            .collect())
    }

    async fn stale_holds(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError> {
        let s = self.read().await;
        let mut holds: Vec<Reservation> = s
            .reservations
            .values()
            .filter(|r| r.is_stale_hold(now))
            .cloned()
            .collect();
        holds.sort_by_key(|r| (r.tenant_id, r.hold_expires_at, r.id));
        // Tenants take turns: each one's first, then each one's second, ….
        let mut turn = 0usize;
        let mut ranked: Vec<(usize, Reservation)> = Vec::with_capacity(holds.len());
        for (i, hold) in holds.into_iter().enumerate() {
            let same_tenant = i > 0 && ranked[i - 1].1.tenant_id == hold.tenant_id;
            turn = if same_tenant { turn + 1 } else { 0 };
            ranked.push((turn, hold));
        }
        ranked.sort_by_key(|(turn, r)| (*turn, r.hold_expires_at, r.id));
        Ok(ranked.into_iter().take(limit).map(|(_, r)| r).collect())
    }

    async fn last_event_seq(&self, tenant: TenantId) -> Result<Seq, StoreError> {
        let s = self.read().await;
        Ok(s.events
            .get(&tenant)
            .and_then(|log| log.last())
            .map_or(Seq::ZERO, |e| e.seq))
    }

    async fn events(&self, tenant: TenantId, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut s = self.read().await;
        s.fault("events")?;
        Ok(s.events
            .get(&tenant)
            .map(|log| {
                // Seqs are 1-based and dense, so `after` is also an index.
                let start = usize::try_from(query.after.0)
                    .unwrap_or(usize::MAX)
                    .min(log.len());
                log[start..]
                    .iter()
                    .filter(|e| query.matches(e))
                    .take(query.limit.clamp(1, 1000))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}
