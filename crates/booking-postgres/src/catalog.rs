//! Catalog records, on the pool for reads and inside a transaction for the
//! write engine. The queries and the decoding are `booking-sql`'s; this
//! file runs them and names what a foreign-key refusal means.

use async_trait::async_trait;
use booking_core::{
    CatalogKey, CatalogList, CatalogPage, CatalogRead, CatalogRecord, CatalogStore, Entity,
    Refusal, StoreError, Tenant, TenantId, TxError,
};
use booking_sql::catalog;
use booking_sql::{Dialect, JsonRow, decode};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};

use crate::PgStore;
use crate::error::{store_error, tx_error, tx_fail};
use crate::rows::{Row, all, bind};

const PG: Dialect = Dialect::Postgres;

/// The tenant's record with `key`, locked (`FOR UPDATE`) if asked.
pub(crate) async fn fetch<'e>(
    ex: impl PgExecutor<'e>,
    tenant: TenantId,
    key: CatalogKey,
    lock: bool,
) -> Result<Option<CatalogRecord>, StoreError> {
    let q = catalog::select(PG, tenant, key, lock);
    let row = bind(sqlx::query(&q.sql), q.args)
        .fetch_optional(ex)
        .await
        .map_err(store_error)?;
    row.map(|row| decode::record(key, &Row(&row))).transpose()
}

/// The tenant's records in `list`, locked if asked.
pub(crate) async fn list<'e>(
    ex: impl PgExecutor<'e>,
    tenant: TenantId,
    list: CatalogList,
    lock: bool,
) -> Result<Vec<CatalogRecord>, StoreError> {
    fetch_listed(ex, catalog::list(PG, tenant, list, lock), list).await
}

/// A page of the tenant's records in `list`.
pub(crate) async fn page<'e>(
    ex: impl PgExecutor<'e>,
    tenant: TenantId,
    list: CatalogList,
    page: CatalogPage,
) -> Result<Vec<CatalogRecord>, StoreError> {
    fetch_listed(ex, catalog::page(PG, tenant, list, page), list).await
}

/// The records of `list` that `q` selects.
async fn fetch_listed<'e>(
    ex: impl PgExecutor<'e>,
    q: catalog::Query,
    list: CatalogList,
) -> Result<Vec<CatalogRecord>, StoreError> {
    let rows = bind(sqlx::query(&q.sql), q.args)
        .fetch_all(ex)
        .await
        .map_err(store_error)?;
    all(&rows, |row| decode::listed(list, row))
}

/// What a foreign-key refusal of an upsert means: the parent it names.
fn missing_parent(record: &CatalogRecord, constraint: &str) -> Option<Refusal> {
    let entity = match record {
        CatalogRecord::Schedule(l) if constraint.ends_with("branch_id_fkey") => {
            Entity::Branch(l.branch_id)
        }
        CatalogRecord::Schedule(l) => Entity::Resource(l.resource_id),
        CatalogRecord::ServicePrice(p) if constraint.ends_with("branch_id_fkey") => {
            Entity::Branch(p.branch_id)
        }
        CatalogRecord::ServicePrice(p) => Entity::Service(p.service_id),
        CatalogRecord::Stock(s) if constraint.ends_with("branch_id_fkey") => {
            Entity::Branch(s.branch_id)
        }
        CatalogRecord::Stock(s) => Entity::Product(s.product_id),
        CatalogRecord::ServiceResource(l) if constraint.ends_with("resource_id_fkey") => {
            Entity::Resource(l.resource_id)
        }
        CatalogRecord::ServiceResource(l) => Entity::Service(l.service_id),
        _ => Entity::Tenant(record.tenant_id()),
    };
    constraint
        .ends_with("_fkey")
        .then_some(Refusal::NotFound(entity))
}

/// Inserts or replaces a record of its tenant.
pub(crate) async fn put(conn: &mut PgConnection, record: &CatalogRecord) -> Result<(), TxError> {
    let q = catalog::upsert(PG, record)?;
    let done = bind(sqlx::query(&q.sql), q.args)
        .execute(&mut *conn)
        .await
        .map_err(|e| tx_error(&e, |c| missing_parent(record, c)))?;
    if done.rows_affected() == 0 {
        // The id exists under another tenant.
        return Err(Refusal::NotFound(record.key().entity()).into());
    }
    Ok(())
}

/// Whether a reservation of the tenant refers to `item`.
pub(crate) async fn referenced(
    conn: &mut PgConnection,
    tenant: TenantId,
    item: CatalogKey,
) -> Result<bool, TxError> {
    let Some(q) = catalog::referenced(PG, tenant, item) else {
        return Ok(false);
    };
    let row = bind(sqlx::query(&q.sql), q.args)
        .fetch_one(&mut *conn)
        .await
        .map_err(tx_fail)?;
    sqlx::Row::try_get(&row, 0).map_err(tx_fail)
}

/// Units of a product at a branch that reservations may still give back.
pub(crate) async fn units_out(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: booking_core::StockKey,
) -> Result<u64, TxError> {
    let q = catalog::units_out(PG, tenant, key);
    let row = bind(sqlx::query(&q.sql), q.args)
        .fetch_one(&mut *conn)
        .await
        .map_err(tx_fail)?;
    let units: i64 = sqlx::Row::try_get(&row, 0).map_err(tx_fail)?;
    Ok(u64::try_from(units).unwrap_or(0))
}

/// Deletes the tenant's records with these keys, in order.
pub(crate) async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    keys: &[CatalogKey],
) -> Result<(), TxError> {
    for key in keys {
        let q = catalog::delete(PG, tenant, *key);
        bind(sqlx::query(&q.sql), q.args)
            .execute(&mut *conn)
            .await
            .map_err(|e| tx_error(&e, |_| Some(Refusal::InUse(key.entity()))))?;
    }
    Ok(())
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        let q = catalog::tenant(PG, id);
        let row = bind(sqlx::query(&q.sql), q.args)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        decode::tenant(&Row(&row.ok_or(StoreError::NotFound(Entity::Tenant(id)))?))
    }

    async fn catalog_record(
        &self,
        tenant: TenantId,
        key: CatalogKey,
    ) -> Result<Option<CatalogRecord>, StoreError> {
        fetch(&self.pool, tenant, key, false).await
    }

    async fn catalog_records(
        &self,
        tenant: TenantId,
        list: CatalogList,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        self::list(&self.pool, tenant, list, false).await
    }

    async fn catalog_page(
        &self,
        tenant: TenantId,
        list: CatalogList,
        page: CatalogPage,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        self::page(&self.pool, tenant, list, page).await
    }

    /// One statement for every read: each row as JSON, tagged with its
    /// read (a booking's half a dozen reads in one round trip).
    async fn catalog_batch(
        &self,
        tenant: TenantId,
        reads: &[CatalogRead],
    ) -> Result<Vec<Vec<CatalogRecord>>, StoreError> {
        let mut found = vec![Vec::new(); reads.len()];
        let Some(q) = catalog::batch(tenant, reads) else {
            return Ok(found);
        };
        let rows = bind(sqlx::query(&q.sql), q.args)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        for row in &rows {
            let n: i32 = sqlx::Row::try_get(row, "n").map_err(store_error)?;
            let Json(fields): Json<serde_json::Map<String, serde_json::Value>> =
                sqlx::Row::try_get(row, "row").map_err(store_error)?;
            let slot = usize::try_from(n).ok().filter(|&n| n < reads.len());
            let Some(n) = slot else {
                return Err(StoreError::Internal(format!(
                    "a batch read answered for read {n}"
                )));
            };
            found[n].push(decode::read(reads[n], &JsonRow(&fields))?);
        }
        // A list in key order, as `catalog_records` gives it.
        for records in &mut found {
            records.sort_by_key(CatalogRecord::key);
        }
        Ok(found)
    }
}
