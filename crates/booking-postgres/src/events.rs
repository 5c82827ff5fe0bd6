//! Numbering and appending events inside a write transaction, in one
//! statement: the tenant's counter is moved and the events inserted
//! together, so the counter row is locked for the rest of the transaction
//! only (the engine appends last), which orders the numbers of concurrent
//! writers by commit and leaves no gap on rollback.

use booking_core::{Entity, Event, NewEvent, Refusal, Seq, TenantId, TxError};
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::error::tx_fail;
use crate::rows::int;

pub(crate) async fn append(
    conn: &mut PgConnection,
    tenant: TenantId,
    events: Vec<NewEvent>,
) -> Result<Vec<Event>, TxError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n: i64 = int(events.len(), "event count")?;
    let ats: Vec<_> = events.iter().map(|e| e.at).collect();
    let actors: Vec<&str> = events.iter().map(|e| e.actor.as_str()).collect();
    let types: Vec<&str> = events.iter().map(|e| e.payload.type_name()).collect();
    let reservations: Vec<_> = events
        .iter()
        .map(|e| e.payload.reservation_id().map(|id| id.as_uuid()))
        .collect();
    let payloads: Vec<_> = events.iter().map(|e| Json(&e.payload)).collect();
    let seqs: Vec<i64> = sqlx::query_scalar(
        "WITH counter AS (
             UPDATE tenants SET last_event_seq = last_event_seq + $2 WHERE id = $1
             RETURNING last_event_seq)
         INSERT INTO reservation_events (tenant_id, seq, at, actor, type, reservation_id, payload)
         SELECT $1, counter.last_event_seq - $2 + e.ord, e.at, e.actor, e.type, e.reservation_id, e.payload
         FROM counter, UNNEST($3::timestamptz[], $4::text[], $5::text[], $6::uuid[], $7::jsonb[])
              WITH ORDINALITY AS e(at, actor, type, reservation_id, payload, ord)
         RETURNING seq",
    )
    .bind(tenant.as_uuid())
    .bind(n)
    .bind(&ats)
    .bind(&actors)
    .bind(&types)
    .bind(&reservations)
    .bind(&payloads)
    .fetch_all(&mut *conn)
    .await
    .map_err(tx_fail)?;
    let Some(first) = seqs.iter().min() else {
        return Err(Refusal::NotFound(Entity::Tenant(tenant)).into());
    };
    let first: u64 = int(*first, "event seq")?;
    Ok(events
        .into_iter()
        .zip(first..)
        .map(|(e, seq)| Event::commit(e, tenant, Seq(seq)))
        .collect())
}
