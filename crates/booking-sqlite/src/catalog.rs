//! Catalog records, on the read pool for reads and inside the write
//! transaction for the write engine. The queries and the decoding are
//! `booking-sql`'s; this file runs them. SQLite names no constraint in a
//! foreign-key error, and the engine checks parents first, so a key
//! refusal left on an upsert is the tenant itself missing.

use async_trait::async_trait;
use booking_core::{
    CatalogKey, CatalogList, CatalogPage, CatalogRecord, CatalogStore, Entity, Refusal, StoreError,
    Tenant, TenantId, TxError,
};
use booking_sql::catalog;
use booking_sql::{Dialect, decode};
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::SqliteStore;
use crate::error::{store_error, tx_error, tx_fail};
use crate::rows::{Row, all, bind};

const SQLITE: Dialect = Dialect::Sqlite;

/// The tenant's record with `key`. (Inside a write the whole database is
/// locked already, so there is no row lock to take.)
pub(crate) async fn fetch<'e>(
    ex: impl SqliteExecutor<'e>,
    tenant: TenantId,
    key: CatalogKey,
) -> Result<Option<CatalogRecord>, StoreError> {
    let q = catalog::select(SQLITE, tenant, key, false);
    let row = bind(sqlx::query(&q.sql), q.args)
        .fetch_optional(ex)
        .await
        .map_err(store_error)?;
    row.map(|row| decode::record(key, &Row(&row))).transpose()
}

/// The tenant's records in `list`.
pub(crate) async fn list<'e>(
    ex: impl SqliteExecutor<'e>,
    tenant: TenantId,
    list: CatalogList,
) -> Result<Vec<CatalogRecord>, StoreError> {
    fetch_listed(ex, catalog::list(SQLITE, tenant, list, false), list).await
}

/// A page of the tenant's records in `list`.
pub(crate) async fn page<'e>(
    ex: impl SqliteExecutor<'e>,
    tenant: TenantId,
    list: CatalogList,
    page: CatalogPage,
) -> Result<Vec<CatalogRecord>, StoreError> {
    fetch_listed(ex, catalog::page(SQLITE, tenant, list, page), list).await
}

/// The records of `list` that `q` selects.
async fn fetch_listed<'e>(
    ex: impl SqliteExecutor<'e>,
    q: catalog::Query,
    list: CatalogList,
) -> Result<Vec<CatalogRecord>, StoreError> {
    let rows = bind(sqlx::query(&q.sql), q.args)
        .fetch_all(ex)
        .await
        .map_err(store_error)?;
    all(&rows, |row| decode::listed(list, row))
}

/// Inserts or replaces a record of its tenant.
pub(crate) async fn put(
    conn: &mut SqliteConnection,
    record: &CatalogRecord,
) -> Result<(), TxError> {
    let q = catalog::upsert(SQLITE, record)?;
    let tenant = record.tenant_id();
    let done = bind(sqlx::query(&q.sql), q.args)
        .execute(&mut *conn)
        .await
        .map_err(|e| tx_error(&e, || Some(Refusal::NotFound(Entity::Tenant(tenant)))))?;
    if done.rows_affected() == 0 {
        // The id exists under another tenant.
        return Err(Refusal::NotFound(record.key().entity()).into());
    }
    Ok(())
}

/// Whether a reservation of the tenant refers to `item`.
pub(crate) async fn referenced(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    item: CatalogKey,
) -> Result<bool, TxError> {
    let Some(q) = catalog::referenced(SQLITE, tenant, item) else {
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
    conn: &mut SqliteConnection,
    tenant: TenantId,
    key: booking_core::StockKey,
) -> Result<u64, TxError> {
    let q = catalog::units_out(SQLITE, tenant, key);
    let row = bind(sqlx::query(&q.sql), q.args)
        .fetch_one(&mut *conn)
        .await
        .map_err(tx_fail)?;
    let units: i64 = sqlx::Row::try_get(&row, 0).map_err(tx_fail)?;
    Ok(u64::try_from(units).unwrap_or(0))
}

/// Deletes the tenant's records with these keys, in order.
pub(crate) async fn delete(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    keys: &[CatalogKey],
) -> Result<(), TxError> {
    for key in keys {
        let q = catalog::delete(SQLITE, tenant, *key);
        bind(sqlx::query(&q.sql), q.args)
            .execute(&mut *conn)
            .await
            .map_err(|e| tx_error(&e, || Some(Refusal::InUse(key.entity()))))?;
    }
    Ok(())
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        let q = catalog::tenant(SQLITE, id);
        let row = bind(sqlx::query(&q.sql), q.args)
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?;
        decode::tenant(&Row(&row.ok_or(StoreError::NotFound(Entity::Tenant(id)))?))
    }

    async fn catalog_record(
        &self,
        tenant: TenantId,
        key: CatalogKey,
    ) -> Result<Option<CatalogRecord>, StoreError> {
        fetch(&self.reader, tenant, key).await
    }

    async fn catalog_records(
        &self,
        tenant: TenantId,
        list: CatalogList,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        self::list(&self.reader, tenant, list).await
    }

    async fn catalog_page(
        &self,
        tenant: TenantId,
        list: CatalogList,
        page: CatalogPage,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        self::page(&self.reader, tenant, list, page).await
    }
}
