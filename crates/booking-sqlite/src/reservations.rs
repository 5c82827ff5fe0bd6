//! The reservation reads and the event log, on the read pool.

use async_trait::async_trait;
use booking_core::{
    Entity, Event, EventQuery, EventType, RangeLimits, Reservation, ReservationId,
    ReservationQuery, ReservationStore, ResourceId, Seq, StoreError, TenantId, TimeRange,
};
use chrono::{DateTime, Utc};

use crate::SqliteStore;
use crate::error::store_error;
use booking_sql::decode;

use crate::rows::{RESERVATION_COLUMNS, Row, all, int, micros};

#[async_trait]
impl ReservationStore for SqliteStore {
    async fn reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Reservation, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE tenant_id = ? AND id = ?"
        ))
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.reader)
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
             WHERE tenant_id = ?1
               AND (?2 IS NULL OR branch_id = ?2)
               AND (?3 IS NULL OR resource_id = ?3)
               AND (?4 IS NULL OR (starts_at < ?5 AND ends_at > ?4))
               AND (?6 IS NULL OR starts_at > ?6 OR (starts_at = ?6 AND id > ?7))
             ORDER BY starts_at, id
             LIMIT ?8"
        ))
        .bind(tenant.as_uuid())
        .bind(q.branch_id.map(|b| b.as_uuid()))
        .bind(q.resource_id.map(|r| r.as_uuid()))
        .bind(q.window.map(|w| micros(w.start())))
        .bind(q.window.map(|w| micros(w.end())))
        .bind(q.after.map(|c| micros(c.starts_at)))
        .bind(q.after.map(|c| c.id.as_uuid()))
        .bind(limit)
        .fetch_all(&self.reader)
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
        if resources.is_empty() {
            return Ok(Vec::new());
        }
        // One placeholder per resource (at most a hundred): UUIDs are blobs,
        // which a JSON list cannot carry.
        let sql = occupancy_sql(resources.len());
        let mut query = sqlx::query_as::<_, (uuid::Uuid, String)>(&sql)
            .bind(tenant.as_uuid())
            .bind(micros(window.start()))
            .bind(micros(window.end()))
            .bind(micros(at));
        for r in resources {
            query = query.bind(r.as_uuid());
        }
        let rows = query.fetch_all(&self.reader).await.map_err(store_error)?;
        let mut occupied = Vec::new();
        for (resource, packed) in rows {
            let resource = ResourceId::from_uuid(resource);
            let mut numbers = packed.split(' ').map(|n| {
                n.parse::<i64>()
                    .ok()
                    .and_then(DateTime::from_timestamp_micros)
                    .ok_or_else(|| booking_sql::corrupt("occupied instant", n))
            });
            while let Some(start) = numbers.next() {
                let end = numbers
                    .next()
                    .ok_or_else(|| booking_sql::corrupt("occupied ranges", &packed))?;
                let range = TimeRange::new(start?, end?, &RangeLimits::stored())
                    .map_err(|e| booking_sql::corrupt("occupied range", e))?;
                occupied.push((resource, range));
            }
        }
        Ok(occupied)
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
                 FROM reservations WHERE status = 'held' AND hold_expires_at <= ?
             ) held
             ORDER BY turn, hold_expires_at, id LIMIT ?"
        ))
        .bind(micros(now))
        .bind(int::<_, i64>(limit, "limit")?)
        .fetch_all(&self.reader)
        .await
        .map_err(store_error)?;
        all(&rows, |r| decode::reservation(r))
    }

    async fn last_event_seq(&self, tenant: TenantId) -> Result<Seq, StoreError> {
        // The counter is written in the same transaction as the events it
        // numbers, so it never runs ahead of what is visible.
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last_event_seq FROM tenants WHERE id = ?1")
                .bind(tenant.as_uuid())
                .fetch_optional(&self.reader)
                .await
                .map_err(store_error)?;
        Ok(Seq(last.map_or(0, |n| u64::try_from(n).unwrap_or(0))))
    }

    async fn events(&self, tenant: TenantId, q: &EventQuery) -> Result<Vec<Event>, StoreError> {
        // An item's history starts from its subjects (an index range);
        // everything else walks the log from `after` in order. Type lists
        // are bound as JSON arrays.
        let from = if q.entity.is_some() {
            "event_subjects s JOIN events e ON e.tenant_id = s.tenant_id AND e.seq = s.seq
             WHERE s.tenant_id = ?1 AND s.entity_id = ?6 AND s.seq > ?2"
        } else {
            "events e WHERE e.tenant_id = ?1 AND e.seq > ?2"
        };
        let rows = sqlx::query(&format!(
            "SELECT e.* FROM {from}
               AND (json_array_length(?3) = 0 OR e.type IN (SELECT value FROM json_each(?3)))
               AND (?4 OR e.type NOT IN (SELECT value FROM json_each(?5)))
               AND (?7 IS NULL OR e.actor_key_id = ?7)
             ORDER BY e.seq LIMIT ?8"
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
        .fetch_all(&self.reader)
        .await
        .map_err(store_error)?;
        all(&rows, |r| decode::event(r))
    }
}

/// Type names as a JSON array, for `json_each`.
fn type_names(types: impl Iterator<Item = EventType>) -> String {
    serde_json::Value::from(types.map(EventType::as_str).collect::<Vec<_>>()).to_string()
}

/// The occupancy query for `resources` resources (`?5`, `?6`, …; at most a
/// hundred): one row per resource with its active occupied ranges in the
/// window packed as `start end start end …` (microseconds), which saves
/// the driver a row per reservation. The resource index answers it (one
/// range seek per resource); the tenant's calendar index, which a planner
/// without statistics prefers, would read the tenant's whole history.
/// Public so `booking-load` can time the bare statement as its baseline.
#[must_use]
pub fn occupancy_sql(resources: usize) -> String {
    let listed = (0..resources)
        .map(|i| format!("?{}", i + 5))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT resource_id, group_concat(occupied_start || ' ' || occupied_end, ' ')
         FROM reservations INDEXED BY reservations_by_resource
         WHERE resource_id IN ({listed}) AND occupied_start < ?3 AND occupied_end > ?2
           AND tenant_id = ?1
           AND (status IN ('confirmed', 'completed')
                OR (status = 'held' AND hold_expires_at > ?4))
         GROUP BY resource_id"
    )
}
