//! The write transaction. Under READ COMMITTED it locks, in a fixed order,
//! everything the write depends on — the reservation itself, the stale
//! holds in its way (by id), the stock rows (by key) — asks the core for
//! the plan ([`booking_core::write::plan`]), writes it, and numbers the
//! events last. The exclusion constraint is the final word on overlap.

use std::collections::BTreeMap;

use booking_core::write::{self, Plan};
use booking_core::{
    Applied, ApplyError, Entity, Reservation, ReservationWrite, ResourceNotAtBranch, SlotTaken,
    StockKey, StoreError,
};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{DbFailure, classify, store_error};
use crate::events;
use crate::rows::{self, RESERVATION_COLUMNS, pg_range};

/// How one attempt ended, if not with a commit.
enum Failure {
    /// A final answer for the caller.
    Refused(ApplyError),
    /// Try the whole transaction once more (deadlock, serialization failure,
    /// a conflict that vanished before it could be named).
    Retry(String),
}

impl From<ApplyError> for Failure {
    fn from(e: ApplyError) -> Self {
        Self::Refused(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Refused(e.into())
    }
}

/// Runs the write, retrying once when PostgreSQL asks for it.
pub(crate) async fn apply(pool: &PgPool, w: &ReservationWrite) -> Result<Applied, ApplyError> {
    for attempt in 1..=2 {
        match attempt_once(pool, w).await {
            Ok(applied) => return Ok(applied),
            Err(Failure::Refused(e)) => return Err(e),
            Err(Failure::Retry(why)) => {
                // On the core's `store.apply` span.
                tracing::Span::current().record("retries", attempt);
                tracing::debug!(attempt, %why, "retrying a reservation write");
            }
        }
    }
    Err(ApplyError::Busy)
}

/// Turns a failed statement into a refusal or a retry.
async fn failed(pool: &PgPool, w: &ReservationWrite, e: sqlx::Error) -> Failure {
    let after = &w.reservation;
    if let sqlx::Error::Database(db) = &e
        && let Some(code) = db.code()
    {
        tracing::Span::current().record("sqlstate", code.as_ref());
    }
    match classify(&e) {
        DbFailure::Overlap => {
            // The transaction is aborted; name the winner from outside it.
            match first_conflict(pool, after, w.at).await {
                Ok(Some(taken)) => Failure::Refused(taken.into()),
                Ok(None) => Failure::Retry("the conflicting reservation is gone".into()),
                Err(e) => Failure::Refused(e.into()),
            }
        }
        DbFailure::Retry(why) => Failure::Retry(why),
        DbFailure::ForeignKey(c) if c == "reservations_resource_at_branch" => Failure::Refused(
            ResourceNotAtBranch {
                resource_id: after.resource_id,
                branch_id: after.branch_id,
            }
            .into(),
        ),
        DbFailure::ForeignKey(c) if c.starts_with("reservation_lines") => {
            let product = after.lines.first().map(|l| l.product_id);
            match product {
                Some(p) => Failure::Refused(ApplyError::NotFound(Entity::ProductAtBranch(
                    p,
                    after.branch_id,
                ))),
                None => Failure::Retry(c),
            }
        }
        DbFailure::Unique(c) if c == "reservations_pkey" => {
            Failure::Refused(ApplyError::AlreadyExists(after.id))
        }
        DbFailure::ForeignKey(c) | DbFailure::Unique(c) => Failure::Retry(c),
        DbFailure::Unavailable(m) => Failure::Refused(StoreError::Unavailable(m).into()),
        DbFailure::Internal(m) => Failure::Refused(StoreError::Internal(m).into()),
    }
}

async fn attempt_once(pool: &PgPool, w: &ReservationWrite) -> Result<Applied, Failure> {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return Err(failed(pool, w, e).await),
    };
    let planned = match plan_in(&mut tx, w).await {
        Ok(plan) => plan,
        Err(Step::Refused(f)) => return Err(f),
        Err(Step::Db(e)) => return Err(failed(pool, w, e).await),
    };
    let t = w.reservation.tenant_id;
    let written = async {
        write_plan(&mut tx, &planned, w).await?;
        let events = events::append(&mut tx, t, planned.events.clone()).await?;
        tx.commit().await?;
        Ok::<_, Step2>(events)
    }
    .await;
    match written {
        Ok(events) => Ok(Applied {
            reservation: planned.stored,
            events,
        }),
        Err(Step2::Db(e)) => Err(failed(pool, w, e).await),
        Err(Step2::Mismatch(why)) => Err(Failure::Retry(why)),
    }
}

/// A step inside the transaction: a refusal, or a statement that failed.
enum Step {
    Refused(Failure),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Step {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

fn refuse(e: impl Into<Failure>) -> Step {
    Step::Refused(e.into())
}

/// Reads and locks what the write depends on, then plans it.
async fn plan_in(conn: &mut PgConnection, w: &ReservationWrite) -> Result<Plan, Step> {
    let after = &w.reservation;
    let (t, at) = (after.tenant_id, w.at);
    scope(conn, after).await?;

    let before = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1 FOR UPDATE"
    ))
    .bind(after.id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(rows::reservation)
    .transpose()
    .map_err(refuse)?;
    let stored = write::check(before.as_ref(), w).map_err(refuse)?;

    // A clean answer naming the rival; the exclusion constraint decides.
    if stored.is_active(at)
        && let Some(taken) = conflict_in(conn, &stored, at).await?
    {
        return Err(refuse(ApplyError::from(taken)));
    }

    let takes = write::take_keys(before.as_ref(), &stored);
    let take_products: Vec<Uuid> = takes.iter().map(|k| k.product_id.as_uuid()).collect();
    let stale = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations r
         WHERE r.tenant_id = $1 AND r.status = 'held' AND r.hold_expires_at <= $2 AND r.id <> $3
           AND ((r.resource_id = $4 AND r.occupied && $5)
                OR EXISTS (SELECT 1 FROM reservation_lines l
                           WHERE l.reservation_id = r.id AND l.branch_id = $6
                             AND l.product_id = ANY($7)))
         ORDER BY r.id FOR UPDATE"
    ))
    // Planned on every run, with the real tenant: a cached generic plan
    // made while the table was small scans every reservation of the tenant
    // through (tenant_id, id) instead of the small partial index of holds,
    // and writes slow down as bookings accumulate (seen in store-bench).
    .persistent(false)
    .bind(t.as_uuid())
    .bind(at)
    .bind(after.id.as_uuid())
    .bind(stored.resource_id.as_uuid())
    .bind(pg_range(&stored.occupied()))
    .bind(stored.branch_id.as_uuid())
    .bind(&take_products)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(rows::reservation)
    .collect::<Result<Vec<Reservation>, StoreError>>()
    .map_err(refuse)?;

    let keys = write::stock_keys(&stored, &stale);
    let levels = lock_stock(conn, t, &keys).await?;
    write::plan(w, before.as_ref(), &stale, &levels).map_err(refuse)
}

/// Checks that every record the write names exists for its tenant, in the
/// same order as every other store.
async fn scope(conn: &mut PgConnection, r: &Reservation) -> Result<(), Step> {
    let t = r.tenant_id;
    let products: Vec<Uuid> = r.lines.iter().map(|l| l.product_id.as_uuid()).collect();
    let (branch, resource, service, works, sold): (bool, bool, bool, bool, Vec<Uuid>) =
        sqlx::query_as(
            "SELECT
               EXISTS (SELECT 1 FROM branches WHERE tenant_id = $1 AND id = $2),
               EXISTS (SELECT 1 FROM resources WHERE tenant_id = $1 AND id = $3),
               ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM services WHERE tenant_id = $1 AND id = $4)),
               EXISTS (SELECT 1 FROM resource_branches
                       WHERE tenant_id = $1 AND resource_id = $3 AND branch_id = $2),
               ARRAY(SELECT product_id FROM product_branches
                     WHERE tenant_id = $1 AND branch_id = $2 AND product_id = ANY($5))",
        )
        .bind(t.as_uuid())
        .bind(r.branch_id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(r.service_id.map(|s| s.as_uuid()))
        .bind(&products)
        .fetch_one(&mut *conn)
        .await?;
    let missing = if !branch {
        Some(ApplyError::NotFound(Entity::Branch(r.branch_id)))
    } else if !resource {
        Some(ApplyError::NotFound(Entity::Resource(r.resource_id)))
    } else if let (false, Some(s)) = (service, r.service_id) {
        Some(ApplyError::NotFound(Entity::Service(s)))
    } else if !works {
        Some(
            ResourceNotAtBranch {
                resource_id: r.resource_id,
                branch_id: r.branch_id,
            }
            .into(),
        )
    } else {
        r.lines
            .iter()
            .find(|l| !sold.contains(&l.product_id.as_uuid()))
            .map(|l| ApplyError::NotFound(Entity::ProductAtBranch(l.product_id, r.branch_id)))
    };
    missing.map_or(Ok(()), |e| Err(refuse(e)))
}

/// Locks the stock rows in key order (the same order everywhere, so two
/// writers never deadlock on stock) and returns their levels.
async fn lock_stock(
    conn: &mut PgConnection,
    tenant: booking_core::TenantId,
    keys: &[StockKey],
) -> Result<BTreeMap<StockKey, u32>, Step> {
    if keys.is_empty() {
        return Ok(BTreeMap::new());
    }
    let products: Vec<Uuid> = keys.iter().map(|k| k.product_id.as_uuid()).collect();
    let branches: Vec<Uuid> = keys.iter().map(|k| k.branch_id.as_uuid()).collect();
    let rows: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
        "SELECT product_id, branch_id, stock FROM product_branches
         WHERE tenant_id = $1
           AND (product_id, branch_id) IN (SELECT * FROM UNNEST($2::uuid[], $3::uuid[]))
         ORDER BY product_id, branch_id
         FOR UPDATE",
    )
    .bind(tenant.as_uuid())
    .bind(&products)
    .bind(&branches)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(p, b, stock)| {
            (
                StockKey {
                    product_id: booking_core::ProductId::from_uuid(p),
                    branch_id: booking_core::BranchId::from_uuid(b),
                },
                u32::try_from(stock).unwrap_or(0),
            )
        })
        .collect())
}

/// Why writing a plan stopped.
enum Step2 {
    Db(sqlx::Error),
    /// A row was not in the state the plan was made from.
    Mismatch(String),
}

impl From<sqlx::Error> for Step2 {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

async fn write_plan(
    conn: &mut PgConnection,
    plan: &Plan,
    w: &ReservationWrite,
) -> Result<(), Step2> {
    let t = plan.stored.tenant_id;
    for expired in &plan.expired {
        update_reservation(conn, expired, expired.version - 1).await?;
    }
    for (key, before, after) in &plan.stock {
        // Takes are conditional (`stock >= q`); the CHECK is behind them.
        let (sql, quantity) = if after < before {
            (
                "UPDATE product_branches SET stock = stock - $4
                 WHERE tenant_id = $1 AND product_id = $2 AND branch_id = $3 AND stock >= $4
                 RETURNING stock",
                before - after,
            )
        } else {
            (
                "UPDATE product_branches SET stock = stock + $4
                 WHERE tenant_id = $1 AND product_id = $2 AND branch_id = $3
                 RETURNING stock",
                after - before,
            )
        };
        let result: Option<i32> = sqlx::query_scalar(sql)
            .bind(t.as_uuid())
            .bind(key.product_id.as_uuid())
            .bind(key.branch_id.as_uuid())
            .bind(i32::try_from(quantity).unwrap_or(i32::MAX))
            .fetch_optional(&mut *conn)
            .await?;
        if result.and_then(|s| u32::try_from(s).ok()) != Some(*after) {
            return Err(Step2::Mismatch(format!(
                "stock of {key:?} moved under the plan"
            )));
        }
    }
    match w.expected_version {
        None => insert_reservation(conn, &plan.stored).await?,
        Some(v) => update_reservation(conn, &plan.stored, v).await?,
    }
    Ok(())
}

async fn insert_reservation(conn: &mut PgConnection, r: &Reservation) -> Result<(), Step2> {
    sqlx::query(
        "INSERT INTO reservations (id, tenant_id, branch_id, resource_id, service_id, starts_at,
             ends_at, buffer_before_minutes, buffer_after_minutes, occupied, lines, price, status,
             hold_expires_at, note, version, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(r.id.as_uuid())
    .bind(r.tenant_id.as_uuid())
    .bind(r.branch_id.as_uuid())
    .bind(r.resource_id.as_uuid())
    .bind(r.service_id.map(|s| s.as_uuid()))
    .bind(r.range.start())
    .bind(r.range.end())
    .bind(i32::try_from(r.buffer_before.get()).unwrap_or(0))
    .bind(i32::try_from(r.buffer_after.get()).unwrap_or(0))
    .bind(pg_range(&r.occupied()))
    .bind(Json(&r.lines))
    .bind(Json(&r.price))
    .bind(r.status.as_str())
    .bind(r.hold_expires_at)
    .bind(r.note.as_ref().map(|n| n.as_str()))
    .bind(i64::try_from(r.version).unwrap_or(i64::MAX))
    .bind(r.created_by.as_str())
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(&mut *conn)
    .await?;
    if !r.lines.is_empty() {
        let products: Vec<Uuid> = r.lines.iter().map(|l| l.product_id.as_uuid()).collect();
        let quantities: Vec<i32> = r
            .lines
            .iter()
            .map(|l| i32::try_from(l.quantity.get()).unwrap_or(i32::MAX))
            .collect();
        sqlx::query(
            "INSERT INTO reservation_lines (tenant_id, reservation_id, branch_id, product_id, quantity)
             SELECT $1, $2, $3, * FROM UNNEST($4::uuid[], $5::int[])",
        )
        .bind(r.tenant_id.as_uuid())
        .bind(r.id.as_uuid())
        .bind(r.branch_id.as_uuid())
        .bind(&products)
        .bind(&quantities)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn update_reservation(
    conn: &mut PgConnection,
    r: &Reservation,
    expected: u64,
) -> Result<(), Step2> {
    let done = sqlx::query(
        "UPDATE reservations SET resource_id = $2, starts_at = $3, ends_at = $4, occupied = $5,
             status = $6, hold_expires_at = $7, note = $8, version = $9, updated_at = $10
         WHERE id = $1 AND version = $11",
    )
    .bind(r.id.as_uuid())
    .bind(r.resource_id.as_uuid())
    .bind(r.range.start())
    .bind(r.range.end())
    .bind(pg_range(&r.occupied()))
    .bind(r.status.as_str())
    .bind(r.hold_expires_at)
    .bind(r.note.as_ref().map(|n| n.as_str()))
    .bind(i64::try_from(r.version).unwrap_or(i64::MAX))
    .bind(r.updated_at)
    .bind(i64::try_from(expected).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Step2::Mismatch(format!(
            "reservation {} changed under the plan",
            r.id
        )))
    }
}

const ACTIVE_AT: &str =
    "(status IN ('confirmed', 'completed') OR (status = 'held' AND hold_expires_at > $4))";

/// The first active reservation of the resource overlapping `r`, if any.
async fn conflict_in(
    conn: &mut PgConnection,
    r: &Reservation,
    at: DateTime<Utc>,
) -> Result<Option<SlotTaken>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations
         WHERE resource_id = $1 AND id <> $2 AND occupied && $3 AND {ACTIVE_AT}
         ORDER BY starts_at, id LIMIT 1"
    ))
    .bind(r.resource_id.as_uuid())
    .bind(r.id.as_uuid())
    .bind(pg_range(&r.occupied()))
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row
        .as_ref()
        .and_then(|row| rows::reservation(row).ok())
        .map(|other| SlotTaken {
            conflicting: other.id,
            range: other.occupied(),
        }))
}

async fn first_conflict(
    pool: &PgPool,
    r: &Reservation,
    at: DateTime<Utc>,
) -> Result<Option<SlotTaken>, StoreError> {
    let mut conn = pool.acquire().await.map_err(store_error)?;
    conflict_in(&mut conn, r, at).await.map_err(store_error)
}
