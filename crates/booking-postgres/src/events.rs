//! Numbering and appending events inside a write transaction.

use booking_core::{Event, NewEvent, Seq, TenantId};
use sqlx::PgConnection;
use sqlx::types::Json;

/// Numbers `events` and appends them. Run it as the transaction's last
/// statement: the tenant row stays locked until commit, which orders the
/// numbers of concurrent writers by commit and leaves no gap on rollback.
pub(crate) async fn append(
    conn: &mut PgConnection,
    tenant: TenantId,
    events: Vec<NewEvent>,
) -> Result<Vec<Event>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let last: i64 = sqlx::query_scalar(
        "UPDATE tenants SET last_event_seq = last_event_seq + $2 WHERE id = $1 RETURNING last_event_seq",
    )
    .bind(tenant.as_uuid())
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let first = u64::try_from(last - n + 1).unwrap_or(1);
    let committed: Vec<Event> = events
        .into_iter()
        .zip(first..)
        .map(|(e, seq)| Event::commit(e, tenant, Seq(seq)))
        .collect();

    let mut seqs = Vec::with_capacity(committed.len());
    let mut ats = Vec::with_capacity(committed.len());
    let mut actors = Vec::with_capacity(committed.len());
    let mut types = Vec::with_capacity(committed.len());
    let mut reservations = Vec::with_capacity(committed.len());
    let mut payloads = Vec::with_capacity(committed.len());
    for e in &committed {
        seqs.push(i64::try_from(e.seq.0).unwrap_or(i64::MAX));
        ats.push(e.at);
        actors.push(e.actor.as_str().to_owned());
        types.push(e.type_name());
        reservations.push(e.reservation_id().map(|id| id.as_uuid()));
        payloads.push(Json(&e.payload));
    }
    sqlx::query(
        "INSERT INTO reservation_events (tenant_id, seq, at, actor, type, reservation_id, payload)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::uuid[], $7::jsonb[])",
    )
    .bind(tenant.as_uuid())
    .bind(&seqs)
    .bind(&ats)
    .bind(&actors)
    .bind(&types)
    .bind(&reservations)
    .bind(&payloads)
    .execute(&mut *conn)
    .await?;
    Ok(committed)
}
