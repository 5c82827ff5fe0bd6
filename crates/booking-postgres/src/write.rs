//! The write transaction's primitives. The engine runs them under READ
//! COMMITTED in a fixed order and locks rows as it goes (the reservation,
//! the stale holds in the way by id, the stock rows by key), so what it
//! planned from stays true until commit; the exclusion constraint is the
//! final word on overlap.

use async_trait::async_trait;
use booking_core::{
    ApiKey, CatalogKey, CatalogList, CatalogRecord, Entity, Event, KeyHash, NewEvent, Refusal,
    Reservation, ReservationId, Scope, StockDelta, StockKey, StockLevel, StoreError, Survey,
    Tenant, TenantId, TxError, WriteStore, WriteTx,
};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::{store_error, tx_error, tx_fail};
use crate::rows::{self, RESERVATION_COLUMNS, int, pg_range};
use crate::{PgStore, catalog, events};
use booking_sql::{API_KEY_COLUMNS, decode};

/// The statuses that block the calendar (a literal for `concat!`): the
/// `WHERE` of the exclusion constraint `reservations_no_overlap`. Whether a
/// hold is still active at an instant is the engine's judgement, not SQL's.
macro_rules! blocking_statuses {
    () => {
        "('held', 'confirmed', 'completed')"
    };
}

/// [`WriteTx::scope`]'s columns (a literal for `concat!`): `$1` tenant,
/// `$2` branch, `$3` resource, `$4` service, `$5` the lines' products.
macro_rules! scope_columns {
    () => {
        "EXISTS (SELECT 1 FROM branches WHERE tenant_id = $1 AND id = $2) AS in_branch,
         EXISTS (SELECT 1 FROM resources WHERE tenant_id = $1 AND id = $3) AS in_resource,
         ($4::uuid IS NULL
          OR EXISTS (SELECT 1 FROM services WHERE tenant_id = $1 AND id = $4)) AS in_service,
         EXISTS (SELECT 1 FROM resource_branches
                 WHERE tenant_id = $1 AND resource_id = $3 AND branch_id = $2) AS works_at_branch,
         ARRAY(SELECT product_id FROM product_branches
               WHERE tenant_id = $1 AND branch_id = $2 AND product_id = ANY($5::uuid[])) AS sold"
    };
}

const BLOCKING: &str = concat!("status IN ", blocking_statuses!());

/// [`WriteTx::survey`] in one statement: the scope (one row, always), then
/// a row for each reservation in the way (`part` = `blocking`, only when
/// `$9`) and each stale hold that could be (`stale`, locked until the
/// transaction ends). `$1` tenant, `$2` branch, `$3` resource, `$4`
/// service, `$5` the lines' products, `$6` the reservation, `$7` its
/// occupied range, `$8` the write's instant, `$10` and `$11` the stock keys
/// it takes. Public for the store benchmark's pgbench script.
///
/// Prepared once per connection, so the plan must stay right however the
/// table grows: the stale candidates come from the small partial index of
/// holds alone (a materialized CTE is planned by itself), and the stock
/// condition reads the candidate's own `lines` instead of joining
/// `reservation_lines` (which a generic plan scanned whole). Stale holds
/// are locked in scan order: two writers locking the same ones in another
/// order deadlock, and the engine runs the loser again.
pub const SURVEY_SQL: &str = concat!(
    "WITH scope AS (SELECT ",
    scope_columns!(),
    "),
     blocking AS (
         SELECT 'blocking' AS part, r.* FROM reservations r
         WHERE $9 AND r.tenant_id = $1 AND r.resource_id = $3 AND r.id <> $6
           AND r.occupied && $7 AND r.status IN ",
    blocking_statuses!(),
    "),
     stale_ids AS MATERIALIZED (
         SELECT id FROM reservations WHERE status = 'held' AND hold_expires_at <= $8),
     stale AS (
         SELECT 'stale' AS part, r.* FROM stale_ids JOIN reservations r ON r.id = stale_ids.id
         WHERE r.tenant_id = $1 AND r.status = 'held' AND r.hold_expires_at <= $8 AND r.id <> $6
           AND ((r.resource_id = $3 AND r.occupied && $7)
                OR EXISTS (SELECT 1 FROM jsonb_array_elements(r.lines) e
                           JOIN UNNEST($10::uuid[], $11::uuid[]) AS k(product_id, branch_id)
                             ON (e.value ->> 'product_id')::uuid = k.product_id
                            AND k.branch_id = r.branch_id))
         FOR UPDATE OF r),
     found AS (SELECT * FROM blocking UNION ALL SELECT * FROM stale)
     SELECT scope.*, found.* FROM scope LEFT JOIN found ON TRUE"
);

/// One transaction on a pooled connection.
struct PgTx {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl WriteStore for PgStore {
    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let tx = self.pool.begin().await.map_err(store_error)?;
        Ok(Box::new(PgTx { tx }))
    }
}

/// A [`Scope`] from a row with the columns of `scope_columns!`.
fn scope_of(row: &sqlx::postgres::PgRow) -> Result<Scope, StoreError> {
    let get = |column: &str| -> Result<bool, StoreError> {
        sqlx::Row::try_get(row, column).map_err(store_error)
    };
    let sold: Vec<Uuid> = sqlx::Row::try_get(row, "sold").map_err(store_error)?;
    Ok(Scope {
        branch: get("in_branch")?,
        resource: get("in_resource")?,
        service: get("in_service")?,
        works_at_branch: get("works_at_branch")?,
        sold: sold
            .into_iter()
            .map(booking_core::ProductId::from_uuid)
            .collect(),
    })
}

fn reservations(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<Reservation>, TxError> {
    Ok(rows::all(rows, |r| decode::reservation(r))?)
}

/// What a foreign or unique key refusal of a reservation write means.
fn reservation_refusal(r: &Reservation, constraint: &str) -> Option<Refusal> {
    match constraint {
        "reservations_pkey" => Some(Refusal::AlreadyExists(r.id)),
        "reservations_resource_at_branch" => Some(Refusal::ResourceNotAtBranch {
            resource_id: r.resource_id,
            branch_id: r.branch_id,
        }),
        "reservations_service" => r.service_id.map(|s| Refusal::NotFound(Entity::Service(s))),
        "reservation_lines_product" => r
            .lines
            .first()
            .map(|l| Refusal::NotFound(Entity::Product(l.product_id))),
        c if c.starts_with("reservation_lines") => r
            .lines
            .first()
            .map(|l| Refusal::NotFound(Entity::ProductAtBranch(l.product_id, r.branch_id))),
        _ => None,
    }
}

#[async_trait]
impl WriteTx for PgTx {
    async fn scope(&mut self, r: &Reservation) -> Result<Scope, TxError> {
        let products: Vec<Uuid> = r.lines.iter().map(|l| l.product_id.as_uuid()).collect();
        let row = sqlx::query(concat!("SELECT ", scope_columns!()))
            .bind(r.tenant_id.as_uuid())
            .bind(r.branch_id.as_uuid())
            .bind(r.resource_id.as_uuid())
            .bind(r.service_id.map(|s| s.as_uuid()))
            .bind(&products)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
        Ok(scope_of(&row)?)
    }

    async fn lock_reservation(
        &mut self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Option<Reservation>, TxError> {
        let row = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations
             WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
        ))
        .bind(id.as_uuid())
        .bind(tenant.as_uuid())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        Ok(row
            .map(|row| decode::reservation(&rows::Row(&row)))
            .transpose()?)
    }

    async fn blocking(&mut self, r: &Reservation) -> Result<Vec<Reservation>, TxError> {
        let rows = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations
             WHERE tenant_id = $1 AND resource_id = $2 AND id <> $3 AND occupied && $4 AND {BLOCKING}"
        ))
        .bind(r.tenant_id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(r.id.as_uuid())
        .bind(pg_range(&r.occupied()))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        reservations(&rows)
    }

    async fn lock_stale_holds(
        &mut self,
        r: &Reservation,
        takes: &[StockKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, TxError> {
        // The engine asks the survey; this is the survey's stale part.
        Ok(self.survey(r, false, takes, at).await?.stale)
    }

    async fn survey(
        &mut self,
        r: &Reservation,
        blocking: bool,
        takes: &[StockKey],
        at: DateTime<Utc>,
    ) -> Result<Survey, TxError> {
        let lines: Vec<Uuid> = r.lines.iter().map(|l| l.product_id.as_uuid()).collect();
        let products: Vec<Uuid> = takes.iter().map(|k| k.product_id.as_uuid()).collect();
        let branches: Vec<Uuid> = takes.iter().map(|k| k.branch_id.as_uuid()).collect();
        let rows = sqlx::query(SURVEY_SQL)
            .bind(r.tenant_id.as_uuid())
            .bind(r.branch_id.as_uuid())
            .bind(r.resource_id.as_uuid())
            .bind(r.service_id.map(|s| s.as_uuid()))
            .bind(&lines)
            .bind(r.id.as_uuid())
            .bind(pg_range(&r.occupied()))
            .bind(at)
            .bind(blocking)
            .bind(&products)
            .bind(&branches)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
        let first = rows
            .first()
            .ok_or_else(|| StoreError::Internal("the survey found no scope row".into()))?;
        let mut survey = Survey {
            scope: scope_of(first)?,
            ..Survey::default()
        };
        for row in &rows {
            let part: Option<String> = sqlx::Row::try_get(row, "part").map_err(store_error)?;
            let found = match part.as_deref() {
                None => continue,
                Some("blocking") => &mut survey.blocking,
                Some(_) => &mut survey.stale,
            };
            found.push(decode::reservation(&rows::Row(row))?);
        }
        Ok(survey)
    }

    async fn count_active_holds(
        &mut self,
        tenant: TenantId,
        key: booking_core::ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<u64, TxError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reservations
             WHERE tenant_id = $1 AND created_by_key = $2 AND status = 'held'
               AND hold_expires_at > $3",
        )
        .bind(tenant.as_uuid())
        .bind(key.as_uuid())
        .bind(at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        Ok(int(n, "hold count")?)
    }

    async fn move_stock(
        &mut self,
        tenant: TenantId,
        deltas: &[StockDelta],
    ) -> Result<Vec<StockLevel>, TxError> {
        let products: Vec<Uuid> = deltas.iter().map(|d| d.key.product_id.as_uuid()).collect();
        let branches: Vec<Uuid> = deltas.iter().map(|d| d.key.branch_id.as_uuid()).collect();
        let amounts = deltas
            .iter()
            .map(|d| int::<_, i32>(d.delta, "stock delta"))
            .collect::<Result<Vec<i32>, StoreError>>()?;
        // One round trip: every level locked by its update (the first touch
        // of the row every booking of the product queues on, as late in the
        // transaction as the engine can), in the deltas' key order, and
        // moved only where it covers the delta (the CHECK stands behind
        // this). NO KEY: a level's key never changes, so the key-share
        // locks of the lines already inserted do not conflict with it.
        let moved: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
            "WITH m AS (
                 SELECT * FROM UNNEST($2::uuid[], $3::uuid[], $4::int[])
                     WITH ORDINALITY AS m(product_id, branch_id, delta, ord)
             ), locked AS (
                 SELECT p.product_id, p.branch_id FROM product_branches p
                 JOIN m ON p.product_id = m.product_id AND p.branch_id = m.branch_id
                 WHERE p.tenant_id = $1
                 ORDER BY m.ord
                 FOR NO KEY UPDATE OF p
             )
             UPDATE product_branches p SET stock = p.stock + m.delta
             FROM m, locked l
             WHERE p.tenant_id = $1 AND p.product_id = m.product_id AND p.branch_id = m.branch_id
               AND l.product_id = m.product_id AND l.branch_id = m.branch_id
               AND p.stock + m.delta >= 0
             RETURNING p.product_id, p.branch_id, p.stock - m.delta",
        )
        .bind(tenant.as_uuid())
        .bind(&products)
        .bind(&branches)
        .bind(&amounts)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        let mut found: Vec<StockLevel> = Vec::with_capacity(deltas.len());
        for (product, branch, before) in moved {
            if let Some(d) = deltas.iter().find(|d| {
                d.key.product_id.as_uuid() == product && d.key.branch_id.as_uuid() == branch
            }) {
                found.push(StockLevel {
                    key: d.key,
                    before: int(before, "stock")?,
                    applied: true,
                });
            }
        }
        if found.len() < deltas.len() {
            // A level that does not cover its delta (or does not exist):
            // read what is there for the refusal; the write is rolled back.
            let levels: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
                "SELECT product_id, branch_id, stock FROM product_branches
                 WHERE tenant_id = $1
                   AND (product_id, branch_id) IN (SELECT * FROM UNNEST($2::uuid[], $3::uuid[]))",
            )
            .bind(tenant.as_uuid())
            .bind(&products)
            .bind(&branches)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
            for (product, branch, level) in levels {
                let Some(d) = deltas.iter().find(|d| {
                    d.key.product_id.as_uuid() == product && d.key.branch_id.as_uuid() == branch
                }) else {
                    continue;
                };
                if !found.iter().any(|l| l.key == d.key) {
                    found.push(StockLevel {
                        key: d.key,
                        before: int(level, "stock")?,
                        applied: false,
                    });
                }
            }
        }
        found.sort_by_key(|l| l.key);
        Ok(found)
    }

    async fn insert_reservation(&mut self, r: &Reservation) -> Result<(), TxError> {
        let products: Vec<Uuid> = r.lines.iter().map(|l| l.product_id.as_uuid()).collect();
        let quantities = r
            .lines
            .iter()
            .map(|l| int::<_, i32>(l.quantity.get(), "quantity"))
            .collect::<Result<Vec<i32>, StoreError>>()?;
        // The row and its lines in one statement.
        sqlx::query(
            "WITH r AS (
                 INSERT INTO reservations (id, tenant_id, branch_id, resource_id, service_id,
                     starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied,
                     lines, price, status, hold_expires_at, note, version, created_by, created_at,
                     updated_at, created_by_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                         $17, $18, $19, $22)
                 RETURNING id)
             INSERT INTO reservation_lines (tenant_id, reservation_id, branch_id, product_id, quantity)
             SELECT $2, r.id, $3, l.product_id, l.quantity
             FROM r, UNNEST($20::uuid[], $21::int[]) AS l(product_id, quantity)",
        )
        .bind(r.id.as_uuid())
        .bind(r.tenant_id.as_uuid())
        .bind(r.branch_id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(r.service_id.map(|s| s.as_uuid()))
        .bind(r.range.start())
        .bind(r.range.end())
        .bind(int::<_, i32>(r.buffer_before.get(), "buffer")?)
        .bind(int::<_, i32>(r.buffer_after.get(), "buffer")?)
        .bind(pg_range(&r.occupied()))
        .bind(Json(&r.lines))
        .bind(Json(&r.price))
        .bind(r.status.as_str())
        .bind(r.hold_expires_at)
        .bind(r.note.as_ref().map(|n| n.as_str()))
        .bind(int::<_, i64>(r.version, "version")?)
        .bind(r.created_by.as_str())
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(&products)
        .bind(&quantities)
        .bind(r.created_by_key.map(|k| k.as_uuid()))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| tx_error(&e, |c| reservation_refusal(r, c)))?;
        Ok(())
    }

    async fn update_reservation(&mut self, r: &Reservation, expected: u64) -> Result<(), TxError> {
        let done = sqlx::query(
            "UPDATE reservations SET resource_id = $3, starts_at = $4, ends_at = $5, occupied = $6,
                 status = $7, hold_expires_at = $8, note = $9, version = $10, updated_at = $11
             WHERE tenant_id = $1 AND id = $2 AND version = $12",
        )
        .bind(r.tenant_id.as_uuid())
        .bind(r.id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(r.range.start())
        .bind(r.range.end())
        .bind(pg_range(&r.occupied()))
        .bind(r.status.as_str())
        .bind(r.hold_expires_at)
        .bind(r.note.as_ref().map(|n| n.as_str()))
        .bind(int::<_, i64>(r.version, "version")?)
        .bind(r.updated_at)
        .bind(int::<_, i64>(expected, "version")?)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| tx_error(&e, |c| reservation_refusal(r, c)))?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(TxError::Retry(format!(
                "reservation {} changed under the plan",
                r.id
            )))
        }
    }

    async fn catalog_record(
        &mut self,
        tenant: TenantId,
        key: CatalogKey,
        lock: bool,
    ) -> Result<Option<CatalogRecord>, TxError> {
        Ok(catalog::fetch(&mut *self.tx, tenant, key, lock).await?)
    }

    async fn put_catalog_record(&mut self, record: &CatalogRecord) -> Result<(), TxError> {
        catalog::put(&mut self.tx, record).await
    }

    async fn catalog_records(
        &mut self,
        tenant: TenantId,
        list: CatalogList,
        lock: bool,
    ) -> Result<Vec<CatalogRecord>, TxError> {
        Ok(catalog::list(&mut *self.tx, tenant, list, lock).await?)
    }

    async fn units_out(
        &mut self,
        tenant: TenantId,
        key: booking_core::StockKey,
    ) -> Result<u64, TxError> {
        catalog::units_out(&mut self.tx, tenant, key).await
    }

    async fn referenced(&mut self, tenant: TenantId, item: CatalogKey) -> Result<bool, TxError> {
        catalog::referenced(&mut self.tx, tenant, item).await
    }

    async fn delete_catalog_records(
        &mut self,
        tenant: TenantId,
        keys: &[CatalogKey],
    ) -> Result<(), TxError> {
        catalog::delete(&mut self.tx, tenant, keys).await
    }

    async fn insert_tenant(&mut self, tenant: &Tenant) -> Result<(), TxError> {
        sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
            .bind(tenant.id.as_uuid())
            .bind(tenant.name.as_str())
            .execute(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey, hash: &KeyHash) -> Result<(), TxError> {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, key_hash, role, actor, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.as_uuid())
        .bind(key.tenant_id.as_uuid())
        .bind(hash.as_str())
        .bind(key.role.as_str())
        .bind(key.actor.as_str())
        .bind(key.created_at)
        .bind(key.expires_at)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            tx_error(&e, |c| {
                c.ends_with("_fkey")
                    .then_some(Refusal::NotFound(Entity::Tenant(key.tenant_id)))
            })
        })?;
        Ok(())
    }

    async fn lock_api_keys(&mut self, tenant: TenantId) -> Result<Vec<ApiKey>, TxError> {
        let rows = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY id FOR UPDATE"
        ))
        .bind(tenant.as_uuid())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        Ok(rows::all(&rows, |r| decode::api_key(r))?)
    }

    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), TxError> {
        let done = sqlx::query(
            "UPDATE api_keys SET role = $3, revoked_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(key.tenant_id.as_uuid())
        .bind(key.id.as_uuid())
        .bind(key.role.as_str())
        .bind(key.revoked_at)
        .execute(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Refusal::NotFound(Entity::ApiKey(key.id)).into())
        }
    }

    async fn append(
        &mut self,
        tenant: TenantId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Event>, TxError> {
        events::append(&mut self.tx, tenant, events).await
    }

    async fn commit(self: Box<Self>) -> Result<(), TxError> {
        self.tx.commit().await.map_err(tx_fail)
    }
}
