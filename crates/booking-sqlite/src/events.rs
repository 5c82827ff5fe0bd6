//! Numbering and appending events inside a write: the tenant's counter
//! moves and the events (with their subjects) are inserted under the write
//! lock, so numbers are
//! gapless and in commit order, and a rollback takes both back.

use booking_core::{Entity, Event, NewEvent, PAYLOAD_VERSION, Refusal, Seq, TenantId, TxError};
use sqlx::SqliteConnection;
use sqlx::types::Json;

use crate::error::tx_fail;
use crate::rows::{int, micros};

pub(crate) async fn append(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    events: Vec<NewEvent>,
) -> Result<Vec<Event>, TxError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n: i64 = int(events.len(), "event count")?;
    let last: Option<i64> = sqlx::query_scalar(
        "UPDATE tenants SET last_event_seq = last_event_seq + ?1 WHERE id = ?2 RETURNING last_event_seq",
    )
    .bind(n)
    .bind(tenant.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(tx_fail)?;
    let Some(last) = last else {
        return Err(Refusal::NotFound(Entity::Tenant(tenant)).into());
    };
    let first: u64 = int(last - n + 1, "event seq")?;
    let mut out = Vec::with_capacity(events.len());
    for (e, seq) in events.into_iter().zip(first..) {
        let event = Event::commit(e, tenant, Seq(seq));
        let seq: i64 = int(seq, "event seq")?;
        sqlx::query(
            "INSERT INTO events (tenant_id, seq, at, actor, actor_key_id, request_id, type,
                                 version, reservation_id, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(tenant.as_uuid())
        .bind(seq)
        .bind(micros(event.at))
        .bind(event.by.actor.as_str().to_owned())
        .bind(event.by.key_id.map(|k| k.as_uuid()))
        .bind(event.by.request_id.as_ref().map(|r| r.as_str().to_owned()))
        .bind(event.payload.type_name())
        .bind(i64::from(PAYLOAD_VERSION))
        .bind(event.payload.reservation_id().map(|id| id.as_uuid()))
        .bind(Json(event.payload.data()))
        .execute(&mut *conn)
        .await
        .map_err(tx_fail)?;
        for subject in event.payload.subjects() {
            sqlx::query(
                "INSERT INTO event_subjects (tenant_id, entity_id, seq) VALUES (?1, ?2, ?3)",
            )
            .bind(tenant.as_uuid())
            .bind(subject)
            .bind(seq)
            .execute(&mut *conn)
            .await
            .map_err(tx_fail)?;
        }
        out.push(event);
    }
    Ok(out)
}
