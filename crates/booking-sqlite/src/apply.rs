//! The write transaction. `BEGIN IMMEDIATE` on the single writer connection
//! serializes every write, so what it reads stays true until it commits; it
//! asks the core for the plan ([`booking_core::write::plan`]) and writes it.
//! The overlap trigger and the CHECKs are the backstop.

use std::collections::BTreeMap;

use booking_core::write::{self, Plan};
use booking_core::{
    Applied, ApplyError, Entity, Event, NewEvent, Reservation, ReservationWrite,
    ResourceNotAtBranch, Seq, StockKey, StoreError, TenantId,
};
use sqlx::SqliteConnection;
use sqlx::types::Json;

use crate::SqliteStore;
use crate::error::{DbFailure, classify};
use crate::rows::{self, RESERVATION_COLUMNS, micros};

/// A failed statement inside the write, as the port reports it.
fn db_failure(e: sqlx::Error) -> ApplyError {
    match classify(&e) {
        DbFailure::Busy(_) => ApplyError::Busy,
        DbFailure::Unavailable(m) => StoreError::Unavailable(m).into(),
        // The overlap check runs under the write lock first, so the trigger
        // firing means a bug; report it as one rather than as "slot taken".
        DbFailure::Overlap | DbFailure::Internal(_) => StoreError::Internal(e.to_string()).into(),
    }
}

impl SqliteStore {
    pub(crate) async fn apply_write(&self, w: &ReservationWrite) -> Result<Applied, ApplyError> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_failure)?;
        let plan = plan_in(&mut tx, w).await?;
        write_plan(&mut tx, &plan, w).await.map_err(db_failure)?;
        let events = append_events(&mut tx, w.reservation.tenant_id, plan.events.clone())
            .await
            .map_err(db_failure)?;
        tx.commit().await.map_err(db_failure)?;
        Ok(Applied {
            reservation: plan.stored,
            events,
        })
    }
}

fn reservations(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<Reservation>, ApplyError> {
    rows.iter()
        .map(rows::reservation)
        .collect::<Result<_, StoreError>>()
        .map_err(ApplyError::from)
}

async fn plan_in(conn: &mut SqliteConnection, w: &ReservationWrite) -> Result<Plan, ApplyError> {
    let after = &w.reservation;
    let (t, at) = (after.tenant_id, w.at);
    scope(conn, after).await?;

    let before_row = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = ?"
    ))
    .bind(after.id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_failure)?;
    let before = before_row.as_ref().map(rows::reservation).transpose()?;
    let stored = write::check(before.as_ref(), w)?;

    if stored.is_active(at) {
        let occupied = stored.occupied();
        let rivals = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations
             WHERE resource_id = ? AND id <> ? AND occupied_start < ? AND occupied_end > ?
               AND status IN ('held', 'confirmed', 'completed')"
        ))
        .bind(stored.resource_id.as_uuid())
        .bind(stored.id.as_uuid())
        .bind(micros(occupied.end()))
        .bind(micros(occupied.start()))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_failure)?;
        if let Some(taken) = write::first_conflict(&stored, &reservations(&rivals)?, at) {
            return Err(taken.into());
        }
    }

    // Stale holds of the tenant are few; the core picks those in the way.
    let stale_rows = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations
         WHERE tenant_id = ? AND status = 'held' AND hold_expires_at <= ? AND id <> ?"
    ))
    .bind(t.as_uuid())
    .bind(micros(at))
    .bind(stored.id.as_uuid())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_failure)?;
    let takes = write::take_keys(before.as_ref(), &stored);
    let stale: Vec<Reservation> = reservations(&stale_rows)?
        .into_iter()
        .filter(|r| write::stale_hold_in_the_way(r, &stored, &takes, at))
        .collect();

    let mut levels = BTreeMap::new();
    for key in write::stock_keys(&stored, &stale) {
        let level: Option<i64> = sqlx::query_scalar(
            "SELECT stock FROM product_branches WHERE tenant_id = ? AND product_id = ? AND branch_id = ?",
        )
        .bind(t.as_uuid())
        .bind(key.product_id.as_uuid())
        .bind(key.branch_id.as_uuid())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_failure)?;
        if let Some(level) = level {
            levels.insert(key, u32::try_from(level).unwrap_or(0));
        }
    }
    write::plan(w, before.as_ref(), &stale, &levels)
}

async fn exists(
    conn: &mut SqliteConnection,
    sql: &str,
    ids: &[uuid::Uuid],
) -> Result<bool, ApplyError> {
    let mut q = sqlx::query_scalar(sql);
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_one(conn).await.map_err(db_failure)
}

/// Every record the write names exists for its tenant, in the same order as
/// every other store.
async fn scope(conn: &mut SqliteConnection, r: &Reservation) -> Result<(), ApplyError> {
    let t = r.tenant_id.as_uuid();
    if !exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM branches WHERE tenant_id = ? AND id = ?)",
        &[t, r.branch_id.as_uuid()],
    )
    .await?
    {
        return Err(ApplyError::NotFound(Entity::Branch(r.branch_id)));
    }
    if !exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant_id = ? AND id = ?)",
        &[t, r.resource_id.as_uuid()],
    )
    .await?
    {
        return Err(ApplyError::NotFound(Entity::Resource(r.resource_id)));
    }
    if let Some(s) = r.service_id
        && !exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM services WHERE tenant_id = ? AND id = ?)",
            &[t, s.as_uuid()],
        )
        .await?
    {
        return Err(ApplyError::NotFound(Entity::Service(s)));
    }
    if !exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM resource_branches WHERE tenant_id = ? AND resource_id = ? AND branch_id = ?)",
        &[t, r.resource_id.as_uuid(), r.branch_id.as_uuid()],
    )
    .await?
    {
        return Err(ResourceNotAtBranch {
            resource_id: r.resource_id,
            branch_id: r.branch_id,
        }
        .into());
    }
    for line in &r.lines {
        if !exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM product_branches WHERE tenant_id = ? AND product_id = ? AND branch_id = ?)",
            &[t, line.product_id.as_uuid(), r.branch_id.as_uuid()],
        )
        .await?
        {
            return Err(ApplyError::NotFound(Entity::ProductAtBranch(line.product_id, r.branch_id)));
        }
    }
    Ok(())
}

async fn write_plan(
    conn: &mut SqliteConnection,
    plan: &Plan,
    w: &ReservationWrite,
) -> Result<(), sqlx::Error> {
    let t = plan.stored.tenant_id.as_uuid();
    for expired in &plan.expired {
        update_reservation(conn, expired).await?;
    }
    for (key, before, after) in &plan.stock {
        set_stock(conn, t, key, *before, *after).await?;
    }
    match w.expected_version {
        None => insert_reservation(conn, &plan.stored).await,
        Some(_) => update_reservation(conn, &plan.stored).await,
    }
}

/// Moves one stock level; a take is conditional on enough stock, as on
/// PostgreSQL, and the CHECK stands behind it.
async fn set_stock(
    conn: &mut SqliteConnection,
    t: uuid::Uuid,
    key: &StockKey,
    before: u32,
    after: u32,
) -> Result<(), sqlx::Error> {
    let delta = i64::from(before.abs_diff(after));
    let query = if after < before {
        sqlx::query(
            "UPDATE product_branches SET stock = stock - ?1
             WHERE tenant_id = ?2 AND product_id = ?3 AND branch_id = ?4 AND stock >= ?1",
        )
    } else {
        sqlx::query(
            "UPDATE product_branches SET stock = stock + ?1
             WHERE tenant_id = ?2 AND product_id = ?3 AND branch_id = ?4",
        )
    };
    let done = query
        .bind(delta)
        .bind(t)
        .bind(key.product_id.as_uuid())
        .bind(key.branch_id.as_uuid())
        .execute(conn)
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "stock of {key:?} moved under the write lock"
        )))
    }
}

fn minutes(m: booking_core::Minutes) -> i64 {
    i64::from(m.get())
}

async fn insert_reservation(
    conn: &mut SqliteConnection,
    r: &Reservation,
) -> Result<(), sqlx::Error> {
    let occupied = r.occupied();
    sqlx::query(
        "INSERT INTO reservations (id, tenant_id, branch_id, resource_id, service_id, starts_at,
             ends_at, buffer_before_minutes, buffer_after_minutes, occupied_start, occupied_end,
             lines, price, status, hold_expires_at, note, version, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.id.as_uuid())
    .bind(r.tenant_id.as_uuid())
    .bind(r.branch_id.as_uuid())
    .bind(r.resource_id.as_uuid())
    .bind(r.service_id.map(|s| s.as_uuid()))
    .bind(micros(r.range.start()))
    .bind(micros(r.range.end()))
    .bind(minutes(r.buffer_before))
    .bind(minutes(r.buffer_after))
    .bind(micros(occupied.start()))
    .bind(micros(occupied.end()))
    .bind(Json(&r.lines))
    .bind(Json(&r.price))
    .bind(r.status.as_str())
    .bind(r.hold_expires_at.map(micros))
    .bind(r.note.as_ref().map(|n| n.as_str().to_owned()))
    .bind(i64::try_from(r.version).unwrap_or(i64::MAX))
    .bind(r.created_by.as_str().to_owned())
    .bind(micros(r.created_at))
    .bind(micros(r.updated_at))
    .execute(&mut *conn)
    .await?;
    for line in &r.lines {
        sqlx::query(
            "INSERT INTO reservation_lines (tenant_id, reservation_id, product_id, branch_id, quantity)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(r.tenant_id.as_uuid())
        .bind(r.id.as_uuid())
        .bind(line.product_id.as_uuid())
        .bind(r.branch_id.as_uuid())
        .bind(i64::from(line.quantity.get()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes the new state of an existing reservation (its version was checked
/// under the write lock).
async fn update_reservation(
    conn: &mut SqliteConnection,
    r: &Reservation,
) -> Result<(), sqlx::Error> {
    let occupied = r.occupied();
    sqlx::query(
        "UPDATE reservations SET resource_id = ?, starts_at = ?, ends_at = ?, occupied_start = ?,
             occupied_end = ?, status = ?, hold_expires_at = ?, note = ?, version = ?, updated_at = ?
         WHERE id = ? AND version = ?",
    )
    .bind(r.resource_id.as_uuid())
    .bind(micros(r.range.start()))
    .bind(micros(r.range.end()))
    .bind(micros(occupied.start()))
    .bind(micros(occupied.end()))
    .bind(r.status.as_str())
    .bind(r.hold_expires_at.map(micros))
    .bind(r.note.as_ref().map(|n| n.as_str().to_owned()))
    .bind(i64::try_from(r.version).unwrap_or(i64::MAX))
    .bind(micros(r.updated_at))
    .bind(r.id.as_uuid())
    .bind(i64::try_from(r.version - 1).unwrap_or(i64::MAX))
    .execute(conn)
    .await?;
    Ok(())
}

/// Numbers and appends events from the tenant's counter (inside the write
/// lock, so gapless and in commit order).
pub(crate) async fn append_events(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    events: Vec<NewEvent>,
) -> Result<Vec<Event>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let last: i64 = sqlx::query_scalar(
        "UPDATE tenants SET last_event_seq = last_event_seq + ? WHERE id = ? RETURNING last_event_seq",
    )
    .bind(n)
    .bind(tenant.as_uuid())
    .fetch_one(&mut *conn)
    .await?;
    let first = u64::try_from(last - n + 1).unwrap_or(1);
    let mut out = Vec::with_capacity(events.len());
    for (e, seq) in events.into_iter().zip(first..) {
        let event = Event::commit(e, tenant, Seq(seq));
        sqlx::query(
            "INSERT INTO reservation_events (tenant_id, seq, at, actor, type, reservation_id, payload)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(tenant.as_uuid())
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(micros(event.at))
        .bind(event.actor.as_str().to_owned())
        .bind(event.type_name())
        .bind(event.reservation_id().map(|id| id.as_uuid()))
        .bind(Json(&event.payload))
        .execute(&mut *conn)
        .await?;
        out.push(event);
    }
    Ok(out)
}
