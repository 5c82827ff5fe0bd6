//! Numbering and appending events inside a write transaction, in one
//! statement: the tenant's counter is moved and the events and their
//! subjects inserted together, so the counter row is locked for the rest
//! of the transaction only (the engine appends last), which orders the
//! numbers of concurrent writers by commit and leaves no gap on rollback.

use booking_core::{
    Entity, Event, NewEvent, PAYLOAD_VERSION, Refusal, RequestId, Seq, TenantId, TxError,
};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

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
    let actors: Vec<&str> = events.iter().map(|e| e.by.actor.as_str()).collect();
    let keys: Vec<Option<Uuid>> = events
        .iter()
        .map(|e| e.by.key_id.map(|k| k.as_uuid()))
        .collect();
    let requests: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.by.request_id.as_ref().map(RequestId::as_str))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e.payload.type_name()).collect();
    let reservations: Vec<_> = events
        .iter()
        .map(|e| e.payload.reservation_id().map(|id| id.as_uuid()))
        .collect();
    let payloads: Vec<_> = events.iter().map(|e| Json(e.payload.data())).collect();
    // Each subject with the position (1-based) of its event.
    let (subjects, of_event): (Vec<Uuid>, Vec<i64>) = events
        .iter()
        .zip(1_i64..)
        .flat_map(|(e, ord)| e.payload.subjects().into_iter().map(move |s| (s, ord)))
        .unzip();
    let seqs: Vec<i64> = sqlx::query_scalar(
        "WITH counter AS (
             UPDATE tenants SET last_event_seq = last_event_seq + $2 WHERE id = $1
             RETURNING last_event_seq),
         subjects AS (
             INSERT INTO event_subjects (tenant_id, entity_id, seq)
             SELECT $1, s.entity_id, counter.last_event_seq - $2 + s.ord
             FROM counter, UNNEST($10::uuid[], $11::bigint[]) AS s(entity_id, ord))
         INSERT INTO events (tenant_id, seq, at, actor, actor_key_id, request_id, type, version,
                             reservation_id, payload)
         SELECT $1, counter.last_event_seq - $2 + e.ord, e.at, e.actor, e.key_id, e.request_id,
                e.type, $12, e.reservation_id, e.payload
         FROM counter, UNNEST($3::timestamptz[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                              $8::uuid[], $9::jsonb[])
              WITH ORDINALITY AS e(at, actor, key_id, request_id, type, reservation_id, payload, ord)
         RETURNING seq",
    )
    .bind(tenant.as_uuid())
    .bind(n)
    .bind(&ats)
    .bind(&actors)
    .bind(&keys)
    .bind(&requests)
    .bind(&types)
    .bind(&reservations)
    .bind(&payloads)
    .bind(&subjects)
    .bind(&of_event)
    .bind(int::<_, i16>(PAYLOAD_VERSION, "payload version")?)
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
