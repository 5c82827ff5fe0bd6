//! The reservation reads and the event log, on the pool.

use async_trait::async_trait;
use booking_core::{
    Entity, Event, EventQuery, EventType, RangeLimits, Reservation, ReservationId,
    ReservationQuery, ReservationStore, ResourceId, Seq, StoreError, TenantId, TimeRange,
};
use chrono::{DateTime, Utc};

use crate::PgStore;
use crate::error::store_error;
use booking_sql::decode;

use crate::rows::{RESERVATION_COLUMNS, Row, all, int};

#[async_trait]
impl ReservationStore for PgStore {
    async fn reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Reservation, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        decode::reservation(&Row(
            &row.ok_or(StoreError::NotFound(Entity::Reservation(id)))?
        ))
    }

    async fn reservations(
        &self,
        tenant: TenantId,
        q: &ReservationQuery,
    ) -> Result<Vec<Reservation>, StoreError> {
        let limit: i64 = int(q.limit.clamp(1, 1000), "limit")?;
        let rows = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations
             WHERE tenant_id = $1
               AND ($2::uuid IS NULL OR branch_id = $2)
               AND ($3::uuid IS NULL OR resource_id = $3)
               AND ($4::timestamptz IS NULL OR (starts_at < $5 AND ends_at > $4))
               AND ($6::timestamptz IS NULL OR (starts_at, id) > ($6, $7))
             ORDER BY starts_at, id
             LIMIT $8"
        ))
        .bind(tenant.as_uuid())
        .bind(q.branch_id.map(|b| b.as_uuid()))
        .bind(q.resource_id.map(|r| r.as_uuid()))
        .bind(q.window.map(|w| w.start()))
        .bind(q.window.map(|w| w.end()))
        .bind(q.after.map(|c| c.starts_at))
        .bind(q.after.map(|c| c.id.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        all(&rows, |r| decode::reservation(r))
    }

    async fn occupancy(
        &self,
        tenant: TenantId,
        resources: &[ResourceId],
        window: TimeRange,
        at: DateTime<Utc>,
    ) -> Result<Vec<(ResourceId, TimeRange)>, StoreError> {
        let ids: Vec<uuid::Uuid> = resources.iter().map(|r| r.as_uuid()).collect();
        let rows: Vec<(uuid::Uuid, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(OCCUPANCY_SQL)
            .bind(tenant.as_uuid())
            .bind(&ids)
            .bind(crate::rows::pg_range(&window))
            .bind(at)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(r, a, b)| {
                let range = TimeRange::new(a, b, &RangeLimits::stored())
                    .map_err(|e| booking_sql::corrupt("occupied range", e))?;
                Ok((ResourceId::from_uuid(r), range))
            })
            .collect()
    }

    async fn stale_holds(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError> {
        let rows = sqlx::query(&format!(
            // Tenants take turns: every tenant's soonest first, then every
            // tenant's second, … (one tenant's thousands cannot starve
            // another's one).
            "SELECT {RESERVATION_COLUMNS} FROM (
                 SELECT *, row_number() OVER (
                     PARTITION BY tenant_id ORDER BY hold_expires_at, id) AS turn
                 FROM reservations WHERE status = 'held' AND hold_expires_at <= $1
             ) held
             ORDER BY turn, hold_expires_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(int::<_, i64>(limit, "limit")?)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        all(&rows, |r| decode::reservation(r))
    }

    async fn last_event_seq(&self, tenant: TenantId) -> Result<Seq, StoreError> {
        // The counter is written in the same transaction as the events it
        // numbers, so it never runs ahead of what is visible.
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last_event_seq FROM tenants WHERE id = $1")
                .bind(tenant.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(Seq(last.map_or(0, |n| u64::try_from(n).unwrap_or(0))))
    }

    async fn events(&self, tenant: TenantId, q: &EventQuery) -> Result<Vec<Event>, StoreError> {
        // An item's history starts from its subjects (an index range);
        // everything else walks the log from `after` in order.
        let from = if q.entity.is_some() {
            "event_subjects s JOIN events e ON e.tenant_id = s.tenant_id AND e.seq = s.seq
             WHERE s.tenant_id = $1 AND s.entity_id = $6 AND s.seq > $2"
        } else {
            "events e WHERE e.tenant_id = $1 AND e.seq > $2"
        };
        let rows = sqlx::query(&format!(
            "SELECT e.* FROM {from}
               AND (cardinality($3::text[]) = 0 OR e.type = ANY($3))
               AND ($4 OR e.type <> ALL($5::text[]))
               AND ($7::uuid IS NULL OR e.actor_key_id = $7)
             ORDER BY e.seq LIMIT $8"
        ))
        .bind(tenant.as_uuid())
        .bind(int::<_, i64>(q.after.0, "seq")?)
        .bind(type_names(q.types.iter().copied()))
        .bind(q.include_access)
        .bind(type_names(
            EventType::ALL.iter().copied().filter(|t| t.is_access()),
        ))
        .bind(q.entity)
        .bind(q.actor_key.map(|k| k.as_uuid()))
        .bind(int::<_, i64>(q.limit.clamp(1, 1000), "limit")?)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        all(&rows, |r| decode::event(r))
    }
}

fn type_names(types: impl Iterator<Item = EventType>) -> Vec<&'static str> {
    types.map(EventType::as_str).collect()
}

/// The occupancy query: each active reservation of the resources `$2`
/// whose occupied range overlaps `$3`, as its resource and occupied bounds.
/// The exclusion constraint's GiST index (`resource_id`, `occupied`)
/// answers it when the window is a small part of the history. (One row per
/// reservation measured faster here than one per resource with arrays:
/// `array_agg` costs the server more than the rows cost the driver.)
/// Public so `booking-load` can time the bare statement as its baseline.
pub const OCCUPANCY_SQL: &str = "SELECT resource_id, lower(occupied), upper(occupied)
     FROM reservations
     WHERE tenant_id = $1 AND resource_id = ANY($2) AND occupied && $3
       AND (status IN ('confirmed', 'completed')
            OR (status = 'held' AND hold_expires_at > $4))";
