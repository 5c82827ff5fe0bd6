//! The write transaction's primitives. `BEGIN IMMEDIATE` on the single
//! writer connection takes the database's write lock up front, so every
//! write is serialized and what the engine reads stays true until it
//! commits: the "locks" the engine asks for are plain reads here. The
//! overlap trigger and the CHECKs are the backstop.

use async_trait::async_trait;
use booking_core::{
    ApiKey, CatalogKey, CatalogList, CatalogRecord, Entity, Event, KeyHash, NewEvent, ProductId,
    Refusal, Reservation, ReservationId, Scope, StockDelta, StockKey, StockLevel, StoreError,
    Tenant, TenantId, TxError, WriteStore, WriteTx,
};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use crate::error::{store_error, tx_error, tx_fail};
use crate::rows::{self, RESERVATION_COLUMNS, int, micros};
use crate::{SqliteStore, catalog, events};
use booking_sql::{API_KEY_COLUMNS, decode};

/// The statuses that block the calendar, as the overlap trigger counts
/// them. Whether a hold is still active at an instant is the engine's
/// judgement, not SQL's.
const BLOCKING: &str = "status IN ('held', 'confirmed', 'completed')";

/// One write transaction on the writer connection.
struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl WriteStore for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        Ok(Box::new(SqliteTx { tx }))
    }
}

fn reservations(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<Reservation>, TxError> {
    Ok(rows::all(rows, |r| decode::reservation(r))?)
}

/// `(?first, ?first+1), …` for `n` pairs of values.
fn pairs(first: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("(?{}, ?{})", first + 2 * i, first + 2 * i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a key refusal of a reservation write means. The engine checked
/// every reference under the write lock, so only a replayed id is left.
fn reservation_refusal(r: &Reservation) -> Option<Refusal> {
    Some(Refusal::AlreadyExists(r.id))
}

#[async_trait]
impl WriteTx for SqliteTx {
    async fn scope(&mut self, r: &Reservation) -> Result<Scope, TxError> {
        let (branch, resource, service, works_at_branch): (bool, bool, bool, bool) =
            sqlx::query_as(
                "SELECT
                   EXISTS (SELECT 1 FROM branches WHERE tenant_id = ?1 AND id = ?2),
                   EXISTS (SELECT 1 FROM resources WHERE tenant_id = ?1 AND id = ?3),
                   (?4 IS NULL OR EXISTS (SELECT 1 FROM services WHERE tenant_id = ?1 AND id = ?4)),
                   EXISTS (SELECT 1 FROM resource_branches
                           WHERE tenant_id = ?1 AND resource_id = ?3 AND branch_id = ?2)",
            )
            .bind(r.tenant_id.as_uuid())
            .bind(r.branch_id.as_uuid())
            .bind(r.resource_id.as_uuid())
            .bind(r.service_id.map(|s| s.as_uuid()))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
        let sold = if r.lines.is_empty() {
            Vec::new()
        } else {
            let list = (0..r.lines.len())
                .map(|i| format!("?{}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT product_id FROM product_branches
                 WHERE tenant_id = ?1 AND branch_id = ?2 AND product_id IN ({list})"
            );
            let mut q = sqlx::query_scalar::<_, Uuid>(&sql)
                .bind(r.tenant_id.as_uuid())
                .bind(r.branch_id.as_uuid());
            for line in &r.lines {
                q = q.bind(line.product_id.as_uuid());
            }
            q.fetch_all(&mut *self.tx)
                .await
                .map_err(tx_fail)?
                .into_iter()
                .map(ProductId::from_uuid)
                .collect()
        };
        Ok(Scope {
            branch,
            resource,
            service,
            works_at_branch,
            sold,
        })
    }

    async fn lock_reservation(
        &mut self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Option<Reservation>, TxError> {
        let row = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = ?1 AND tenant_id = ?2"
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
        let occupied = r.occupied();
        let rows = sqlx::query(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations
             WHERE tenant_id = ?1 AND resource_id = ?2 AND id <> ?3
               AND occupied_start < ?4 AND occupied_end > ?5 AND {BLOCKING}"
        ))
        .bind(r.tenant_id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(r.id.as_uuid())
        .bind(micros(occupied.end()))
        .bind(micros(occupied.start()))
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
        let occupied = r.occupied();
        let by_stock = if takes.is_empty() {
            String::new()
        } else {
            format!(
                " OR EXISTS (SELECT 1 FROM reservation_lines l
                             WHERE l.reservation_id = r.id
                               AND (l.product_id, l.branch_id) IN (VALUES {}))",
                pairs(7, takes.len())
            )
        };
        let sql = format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations r
             WHERE r.tenant_id = ?1 AND r.status = 'held' AND r.hold_expires_at <= ?2 AND r.id <> ?3
               AND ((r.resource_id = ?4 AND r.occupied_start < ?5 AND r.occupied_end > ?6){by_stock})
             ORDER BY r.id"
        );
        let mut q = sqlx::query(&sql)
            .bind(r.tenant_id.as_uuid())
            .bind(micros(at))
            .bind(r.id.as_uuid())
            .bind(r.resource_id.as_uuid())
            .bind(micros(occupied.end()))
            .bind(micros(occupied.start()));
        for key in takes {
            q = q
                .bind(key.product_id.as_uuid())
                .bind(key.branch_id.as_uuid());
        }
        let rows = q.fetch_all(&mut *self.tx).await.map_err(tx_fail)?;
        reservations(&rows)
    }

    async fn count_active_holds(
        &mut self,
        tenant: TenantId,
        key: booking_core::ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<u64, TxError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reservations
             WHERE tenant_id = ?1 AND created_by_key = ?2 AND status = 'held'
               AND hold_expires_at > ?3",
        )
        .bind(tenant.as_uuid())
        .bind(key.as_uuid())
        .bind(micros(at))
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
        // One writer at a time on SQLite: each level in turn, moved where
        // it covers the delta (the CHECK stands behind this), else read.
        let mut found = Vec::with_capacity(deltas.len());
        for d in deltas {
            let moved: Option<i64> = sqlx::query_scalar(
                "UPDATE product_branches SET stock = stock + ?1
                 WHERE tenant_id = ?2 AND product_id = ?3 AND branch_id = ?4 AND stock + ?1 >= 0
                 RETURNING stock",
            )
            .bind(d.delta)
            .bind(tenant.as_uuid())
            .bind(d.key.product_id.as_uuid())
            .bind(d.key.branch_id.as_uuid())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
            let (before, applied) = match moved {
                Some(after) => (after - d.delta, true),
                None => {
                    let level: Option<i64> = sqlx::query_scalar(
                        "SELECT stock FROM product_branches
                         WHERE tenant_id = ?1 AND product_id = ?2 AND branch_id = ?3",
                    )
                    .bind(tenant.as_uuid())
                    .bind(d.key.product_id.as_uuid())
                    .bind(d.key.branch_id.as_uuid())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(tx_fail)?;
                    match level {
                        Some(level) => (level, false),
                        None => continue,
                    }
                }
            };
            found.push(StockLevel {
                key: d.key,
                before: int(before, "stock")?,
                applied,
            });
        }
        Ok(found)
    }

    async fn insert_reservation(&mut self, r: &Reservation) -> Result<(), TxError> {
        let occupied = r.occupied();
        sqlx::query(
            "INSERT INTO reservations (id, tenant_id, branch_id, resource_id, service_id,
                 starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied_start,
                 occupied_end, lines, price, status, hold_expires_at, note, version, created_by,
                 created_at, updated_at, created_by_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21)",
        )
        .bind(r.id.as_uuid())
        .bind(r.tenant_id.as_uuid())
        .bind(r.branch_id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(r.service_id.map(|s| s.as_uuid()))
        .bind(micros(r.range.start()))
        .bind(micros(r.range.end()))
        .bind(i64::from(r.buffer_before.get()))
        .bind(i64::from(r.buffer_after.get()))
        .bind(micros(occupied.start()))
        .bind(micros(occupied.end()))
        .bind(Json(&r.lines))
        .bind(Json(&r.price))
        .bind(r.status.as_str())
        .bind(r.hold_expires_at.map(micros))
        .bind(r.note.as_ref().map(|n| n.as_str().to_owned()))
        .bind(int::<_, i64>(r.version, "version")?)
        .bind(r.created_by.as_str().to_owned())
        .bind(micros(r.created_at))
        .bind(micros(r.updated_at))
        .bind(r.created_by_key.map(|k| k.as_uuid()))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| tx_error(&e, || reservation_refusal(r)))?;
        for line in &r.lines {
            sqlx::query(
                "INSERT INTO reservation_lines (tenant_id, reservation_id, product_id, branch_id, quantity)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(r.tenant_id.as_uuid())
            .bind(r.id.as_uuid())
            .bind(line.product_id.as_uuid())
            .bind(r.branch_id.as_uuid())
            .bind(i64::from(line.quantity.get()))
            .execute(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
        }
        Ok(())
    }

    async fn update_reservation(&mut self, r: &Reservation, expected: u64) -> Result<(), TxError> {
        let occupied = r.occupied();
        let done = sqlx::query(
            "UPDATE reservations SET resource_id = ?3, starts_at = ?4, ends_at = ?5,
                 occupied_start = ?6, occupied_end = ?7, status = ?8, hold_expires_at = ?9,
                 note = ?10, version = ?11, updated_at = ?12
             WHERE tenant_id = ?1 AND id = ?2 AND version = ?13",
        )
        .bind(r.tenant_id.as_uuid())
        .bind(r.id.as_uuid())
        .bind(r.resource_id.as_uuid())
        .bind(micros(r.range.start()))
        .bind(micros(r.range.end()))
        .bind(micros(occupied.start()))
        .bind(micros(occupied.end()))
        .bind(r.status.as_str())
        .bind(r.hold_expires_at.map(micros))
        .bind(r.note.as_ref().map(|n| n.as_str().to_owned()))
        .bind(int::<_, i64>(r.version, "version")?)
        .bind(micros(r.updated_at))
        .bind(int::<_, i64>(expected, "version")?)
        .execute(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(
                StoreError::Internal(format!("reservation {} changed under the write lock", r.id))
                    .into(),
            )
        }
    }

    async fn catalog_record(
        &mut self,
        tenant: TenantId,
        key: CatalogKey,
        _lock: bool,
    ) -> Result<Option<CatalogRecord>, TxError> {
        Ok(catalog::fetch(&mut *self.tx, tenant, key).await?)
    }

    async fn put_catalog_record(&mut self, record: &CatalogRecord) -> Result<(), TxError> {
        catalog::put(&mut self.tx, record).await
    }

    async fn catalog_records(
        &mut self,
        tenant: TenantId,
        list: CatalogList,
        _lock: bool,
    ) -> Result<Vec<CatalogRecord>, TxError> {
        Ok(catalog::list(&mut *self.tx, tenant, list).await?)
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
        sqlx::query("INSERT INTO tenants (id, name) VALUES (?1, ?2)")
            .bind(tenant.id.as_uuid())
            .bind(tenant.name.as_str().to_owned())
            .execute(&mut *self.tx)
            .await
            .map_err(tx_fail)?;
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey, hash: &KeyHash) -> Result<(), TxError> {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, key_hash, role, actor, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(key.id.as_uuid())
        .bind(key.tenant_id.as_uuid())
        .bind(hash.as_str().to_owned())
        .bind(key.role.as_str())
        .bind(key.actor.as_str().to_owned())
        .bind(micros(key.created_at))
        .bind(key.expires_at.map(micros))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            tx_error(&e, || {
                Some(Refusal::NotFound(Entity::Tenant(key.tenant_id)))
            })
        })?;
        Ok(())
    }

    async fn lock_api_keys(&mut self, tenant: TenantId) -> Result<Vec<ApiKey>, TxError> {
        // The transaction holds the database's write lock already.
        let rows = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY id"
        ))
        .bind(tenant.as_uuid())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(tx_fail)?;
        Ok(rows::all(&rows, |r| decode::api_key(r))?)
    }

    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), TxError> {
        let done = sqlx::query(
            "UPDATE api_keys SET role = ?3, revoked_at = ?4 WHERE tenant_id = ?1 AND id = ?2",
        )
        .bind(key.tenant_id.as_uuid())
        .bind(key.id.as_uuid())
        .bind(key.role.as_str())
        .bind(key.revoked_at.map(micros))
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
