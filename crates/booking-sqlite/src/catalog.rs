//! Catalog records: one query per record kind, run on the read pool for
//! reads and inside the write transaction for the write engine. Upserts
//! touch a row only when it belongs to the same tenant (`ON CONFLICT … WHERE
//! tenant_id = excluded.tenant_id`), so taking over another tenant's id is
//! "not found".

use async_trait::async_trait;
use booking_core::{
    Branch, BranchId, BranchOfferRows, CatalogKey, CatalogRecord, CatalogStore, Entity, Product,
    ProductBranch, ProductId, Refusal, Resource, ResourceBranch, ResourceId, ServiceId,
    ServiceItem, ServiceItemBranch, StockKey, StoreError, Tenant, TenantId, TxError,
};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{SqliteConnection, SqliteExecutor};
use uuid::Uuid;

use crate::SqliteStore;
use crate::error::{store_error, tx_error, tx_fail};
use crate::rows::{self, int};

/// Where a kind of record lives: its table and key columns (after
/// `tenant_id`), with the key's values.
fn locate(key: CatalogKey) -> (&'static str, &'static [&'static str], Vec<Uuid>) {
    match key {
        CatalogKey::Branch(id) => ("branches", &["id"], vec![id.as_uuid()]),
        CatalogKey::Resource(id) => ("resources", &["id"], vec![id.as_uuid()]),
        CatalogKey::Service(id) => ("services", &["id"], vec![id.as_uuid()]),
        CatalogKey::Product(id) => ("products", &["id"], vec![id.as_uuid()]),
        CatalogKey::Schedule(r, b) => (
            "resource_branches",
            &["resource_id", "branch_id"],
            vec![r.as_uuid(), b.as_uuid()],
        ),
        CatalogKey::ServicePrice(s, b) => (
            "service_branches",
            &["service_id", "branch_id"],
            vec![s.as_uuid(), b.as_uuid()],
        ),
        CatalogKey::Stock(k) => (
            "product_branches",
            &["product_id", "branch_id"],
            vec![k.product_id.as_uuid(), k.branch_id.as_uuid()],
        ),
    }
}

/// `tenant_id = ?1 AND col = ?2 AND …` for a record's key.
fn key_filter(columns: &[&str]) -> String {
    let mut sql = String::from("tenant_id = ?1");
    for (i, column) in columns.iter().enumerate() {
        sql.push_str(&format!(" AND {column} = ?{}", i + 2));
    }
    sql
}

fn decode(key: CatalogKey, row: &SqliteRow) -> Result<CatalogRecord, StoreError> {
    Ok(match key {
        CatalogKey::Branch(_) => CatalogRecord::Branch(rows::branch(row)?),
        CatalogKey::Resource(_) => CatalogRecord::Resource(rows::resource(row)?),
        CatalogKey::Service(_) => CatalogRecord::Service(rows::service(row)?),
        CatalogKey::Product(_) => CatalogRecord::Product(rows::product(row)?),
        CatalogKey::Schedule(..) => CatalogRecord::Schedule(rows::resource_branch(row)?),
        CatalogKey::ServicePrice(..) => CatalogRecord::ServicePrice(rows::service_branch(row)?),
        CatalogKey::Stock(_) => CatalogRecord::Stock(rows::product_branch(row)?),
    })
}

/// The tenant's record with `key`. (Inside a write the whole database is
/// locked already, so there is no row lock to take.)
pub(crate) async fn fetch<'e>(
    ex: impl SqliteExecutor<'e>,
    tenant: TenantId,
    key: CatalogKey,
) -> Result<Option<CatalogRecord>, StoreError> {
    let (table, columns, ids) = locate(key);
    let sql = format!("SELECT * FROM {table} WHERE {}", key_filter(columns));
    let mut query = sqlx::query(&sql).bind(tenant.as_uuid());
    for id in ids {
        query = query.bind(id);
    }
    let row = query.fetch_optional(ex).await.map_err(store_error)?;
    row.as_ref().map(|row| decode(key, row)).transpose()
}

/// Inserts or replaces a record of its tenant. The engine checked the
/// parents; a key refusal left is the tenant itself missing.
pub(crate) async fn put(
    conn: &mut SqliteConnection,
    record: &CatalogRecord,
) -> Result<(), TxError> {
    let t = record.tenant_id().as_uuid();
    let query = match record {
        CatalogRecord::Branch(b) => sqlx::query(
            "INSERT INTO branches (id, tenant_id, name, time_zone) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone
             WHERE branches.tenant_id = excluded.tenant_id",
        )
        .bind(b.id.as_uuid())
        .bind(t)
        .bind(b.name.as_str().to_owned())
        .bind(b.time_zone.name()),
        CatalogRecord::Resource(r) => sqlx::query(
            "INSERT INTO resources (id, tenant_id, name, kind) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind
             WHERE resources.tenant_id = excluded.tenant_id",
        )
        .bind(r.id.as_uuid())
        .bind(t)
        .bind(r.name.as_str().to_owned())
        .bind(r.kind.as_str()),
        CatalogRecord::Service(s) => sqlx::query(
            "INSERT INTO services (id, tenant_id, name, duration_minutes, price_minor, currency,
                                   buffer_before_minutes, buffer_after_minutes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 duration_minutes = excluded.duration_minutes, price_minor = excluded.price_minor,
                 currency = excluded.currency, buffer_before_minutes = excluded.buffer_before_minutes,
                 buffer_after_minutes = excluded.buffer_after_minutes
             WHERE services.tenant_id = excluded.tenant_id",
        )
        .bind(s.id.as_uuid())
        .bind(t)
        .bind(s.name.as_str().to_owned())
        .bind(i64::from(s.duration.get()))
        .bind(s.price.amount_minor())
        .bind(s.price.currency().code())
        .bind(i64::from(s.buffer_before.get()))
        .bind(i64::from(s.buffer_after.get())),
        CatalogRecord::Product(p) => sqlx::query(
            "INSERT INTO products (id, tenant_id, name, price_minor, currency) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor,
                 currency = excluded.currency
             WHERE products.tenant_id = excluded.tenant_id",
        )
        .bind(p.id.as_uuid())
        .bind(t)
        .bind(p.name.as_str().to_owned())
        .bind(p.price.amount_minor())
        .bind(p.price.currency().code()),
        CatalogRecord::Schedule(l) => sqlx::query(
            "INSERT INTO resource_branches (tenant_id, resource_id, branch_id, schedule)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant_id, resource_id, branch_id) DO UPDATE SET schedule = excluded.schedule",
        )
        .bind(t)
        .bind(l.resource_id.as_uuid())
        .bind(l.branch_id.as_uuid())
        .bind(Json(l.schedule.clone())),
        CatalogRecord::ServicePrice(p) => sqlx::query(
            "INSERT INTO service_branches (tenant_id, service_id, branch_id, price_minor, currency)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, service_id, branch_id)
             DO UPDATE SET price_minor = excluded.price_minor, currency = excluded.currency",
        )
        .bind(t)
        .bind(p.service_id.as_uuid())
        .bind(p.branch_id.as_uuid())
        .bind(p.price.amount_minor())
        .bind(p.price.currency().code()),
        CatalogRecord::Stock(s) => sqlx::query(
            "INSERT INTO product_branches (tenant_id, product_id, branch_id, stock, price_minor, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (tenant_id, product_id, branch_id) DO UPDATE
             SET stock = excluded.stock, price_minor = excluded.price_minor, currency = excluded.currency",
        )
        .bind(t)
        .bind(s.product_id.as_uuid())
        .bind(s.branch_id.as_uuid())
        .bind(i64::from(s.stock))
        .bind(s.price.map(|p| p.amount_minor()))
        .bind(s.price.map(|p| p.currency().code())),
    };
    let tenant = record.tenant_id();
    let done = query
        .execute(&mut *conn)
        .await
        .map_err(|e| tx_error(&e, || Some(Refusal::NotFound(Entity::Tenant(tenant)))))?;
    if done.rows_affected() == 0 {
        // The id exists under another tenant.
        return Err(Refusal::NotFound(record.key().entity()).into());
    }
    Ok(())
}

/// The tenant's records that exist only for `item`.
pub(crate) async fn dependents(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    item: CatalogKey,
) -> Result<Vec<CatalogRecord>, TxError> {
    let (id, tables): (Uuid, &[(&str, &str)]) = match item {
        CatalogKey::Branch(id) => (
            id.as_uuid(),
            &[
                ("resource_branches", "branch_id"),
                ("service_branches", "branch_id"),
                ("product_branches", "branch_id"),
            ],
        ),
        CatalogKey::Resource(id) => (id.as_uuid(), &[("resource_branches", "resource_id")]),
        CatalogKey::Service(id) => (id.as_uuid(), &[("service_branches", "service_id")]),
        CatalogKey::Product(id) => (id.as_uuid(), &[("product_branches", "product_id")]),
        CatalogKey::Schedule(..) | CatalogKey::ServicePrice(..) | CatalogKey::Stock(_) => {
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for (table, column) in tables {
        let rows = sqlx::query(&format!(
            "SELECT * FROM {table} WHERE tenant_id = ?1 AND {column} = ?2"
        ))
        .bind(tenant.as_uuid())
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(tx_fail)?;
        for row in &rows {
            out.push(match *table {
                "resource_branches" => CatalogRecord::Schedule(rows::resource_branch(row)?),
                "service_branches" => CatalogRecord::ServicePrice(rows::service_branch(row)?),
                _ => CatalogRecord::Stock(rows::product_branch(row)?),
            });
        }
    }
    Ok(out)
}

/// Whether a reservation of the tenant refers to `item`.
pub(crate) async fn referenced(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    item: CatalogKey,
) -> Result<bool, TxError> {
    let (sql, ids): (&str, Vec<Uuid>) = match item {
        CatalogKey::Branch(id) => (
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE tenant_id = ?1 AND branch_id = ?2)",
            vec![id.as_uuid()],
        ),
        CatalogKey::Resource(id) => (
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE tenant_id = ?1 AND resource_id = ?2)",
            vec![id.as_uuid()],
        ),
        CatalogKey::Service(id) => (
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE tenant_id = ?1 AND service_id = ?2)",
            vec![id.as_uuid()],
        ),
        CatalogKey::Product(id) => (
            "SELECT EXISTS (SELECT 1 FROM reservation_lines WHERE tenant_id = ?1 AND product_id = ?2)",
            vec![id.as_uuid()],
        ),
        CatalogKey::Schedule(r, b) => (
            "SELECT EXISTS (SELECT 1 FROM reservations
                            WHERE tenant_id = ?1 AND resource_id = ?2 AND branch_id = ?3)",
            vec![r.as_uuid(), b.as_uuid()],
        ),
        CatalogKey::Stock(k) => (
            "SELECT EXISTS (SELECT 1 FROM reservation_lines
                            WHERE tenant_id = ?1 AND product_id = ?2 AND branch_id = ?3)",
            vec![k.product_id.as_uuid(), k.branch_id.as_uuid()],
        ),
        CatalogKey::ServicePrice(..) => return Ok(false),
    };
    let mut query = sqlx::query_scalar(sql).bind(tenant.as_uuid());
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_one(&mut *conn).await.map_err(tx_fail)
}

/// Deletes the tenant's records with these keys, in order.
pub(crate) async fn delete(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    keys: &[CatalogKey],
) -> Result<(), TxError> {
    for key in keys {
        let (table, columns, ids) = locate(*key);
        let sql = format!("DELETE FROM {table} WHERE {}", key_filter(columns));
        let mut query = sqlx::query(&sql).bind(tenant.as_uuid());
        for id in ids {
            query = query.bind(id);
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(|e| tx_error(&e, || Some(Refusal::InUse(key.entity()))))?;
    }
    Ok(())
}

async fn all<T>(
    store: &SqliteStore,
    sql: &str,
    tenant: TenantId,
    id: Option<Uuid>,
    decode: impl Fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut query = sqlx::query(sql).bind(tenant.as_uuid());
    if let Some(id) = id {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&store.reader).await.map_err(store_error)?;
    rows.iter().map(decode).collect()
}

macro_rules! one {
    ($store:expr, $tenant:expr, $key:expr, $variant:ident) => {
        match fetch(&$store.reader, $tenant, $key).await? {
            Some(CatalogRecord::$variant(r)) => Ok(r),
            _ => Err(StoreError::NotFound($key.entity())),
        }
    };
}

macro_rules! maybe {
    ($store:expr, $tenant:expr, $key:expr, $variant:ident) => {
        match fetch(&$store.reader, $tenant, $key).await? {
            Some(CatalogRecord::$variant(r)) => Ok(Some(r)),
            _ => Ok(None),
        }
    };
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE id = ?1")
            .bind(id.as_uuid())
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?;
        rows::tenant(&row.ok_or(StoreError::NotFound(Entity::Tenant(id)))?)
    }

    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        one!(self, tenant, CatalogKey::Branch(id), Branch)
    }

    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        let sql = "SELECT * FROM branches WHERE tenant_id = ?1 ORDER BY id";
        all(self, sql, tenant, None, rows::branch).await
    }

    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        one!(self, tenant, CatalogKey::Resource(id), Resource)
    }

    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        let sql = "SELECT * FROM resources WHERE tenant_id = ?1 ORDER BY id";
        all(self, sql, tenant, None, rows::resource).await
    }

    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        maybe!(
            self,
            tenant,
            CatalogKey::Schedule(resource, branch),
            Schedule
        )
    }

    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError> {
        let sql = "SELECT * FROM resource_branches WHERE tenant_id = ?1 AND branch_id = ?2
                   ORDER BY resource_id";
        all(
            self,
            sql,
            tenant,
            Some(branch.as_uuid()),
            rows::resource_branch,
        )
        .await
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError> {
        one!(self, tenant, CatalogKey::Service(id), Service)
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        let sql = "SELECT * FROM services WHERE tenant_id = ?1 ORDER BY id";
        all(self, sql, tenant, None, rows::service).await
    }

    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        maybe!(
            self,
            tenant,
            CatalogKey::ServicePrice(service, branch),
            ServicePrice
        )
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        one!(self, tenant, CatalogKey::Product(id), Product)
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        let sql = "SELECT * FROM products WHERE tenant_id = ?1 ORDER BY id";
        all(self, sql, tenant, None, rows::product).await
    }

    async fn product_branch(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError> {
        let key = StockKey {
            product_id: product,
            branch_id: branch,
        };
        maybe!(self, tenant, CatalogKey::Stock(key), Stock)
    }

    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError> {
        let sql = "SELECT * FROM product_branches WHERE tenant_id = ?1 AND branch_id = ?2
                   ORDER BY product_id";
        all(
            self,
            sql,
            tenant,
            Some(branch.as_uuid()),
            rows::product_branch,
        )
        .await
    }

    async fn branch_offer(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<BranchOfferRows, StoreError> {
        let branch = self.branch(tenant, branch).await?;
        let b = Some(branch.id.as_uuid());
        // Each query joins the item to its branch record, so one row per
        // item: the offer costs four queries however large the catalog.
        let resources = all(
            self,
            "SELECT r.*, l.resource_id, l.branch_id, l.schedule
             FROM resource_branches l JOIN resources r ON r.tenant_id = l.tenant_id AND r.id = l.resource_id
             WHERE l.tenant_id = ?1 AND l.branch_id = ?2 ORDER BY r.id",
            tenant,
            b,
            |row| Ok((rows::resource(row)?, rows::resource_branch(row)?)),
        )
        .await?;
        let services = all(
            self,
            "SELECT s.*, p.price_minor AS branch_price_minor, p.currency AS branch_currency
             FROM services s LEFT JOIN service_branches p
               ON p.tenant_id = s.tenant_id AND p.service_id = s.id AND p.branch_id = ?2
             WHERE s.tenant_id = ?1 ORDER BY s.id",
            tenant,
            b,
            |row| {
                let service = rows::service(row)?;
                let price = rows::optional_money(row, "branch_price_minor", "branch_currency")?;
                let at_branch = price.map(|price| ServiceItemBranch {
                    tenant_id: service.tenant_id,
                    service_id: service.id,
                    branch_id: branch.id,
                    price,
                });
                Ok((service, at_branch))
            },
        )
        .await?;
        let products = all(
            self,
            "SELECT p.id, p.tenant_id, p.name, p.price_minor, p.currency,
                    s.product_id, s.branch_id, s.stock,
                    s.price_minor AS branch_price_minor, s.currency AS branch_currency
             FROM product_branches s JOIN products p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
             WHERE s.tenant_id = ?1 AND s.branch_id = ?2 ORDER BY p.id",
            tenant,
            b,
            |row| {
                let product = rows::product(row)?;
                let stock = ProductBranch {
                    tenant_id: product.tenant_id,
                    product_id: product.id,
                    branch_id: BranchId::from_uuid(rows::get(row, "branch_id")?),
                    stock: int::<i64, u32>(rows::get(row, "stock")?, "stock")?,
                    price: rows::optional_money(row, "branch_price_minor", "branch_currency")?,
                };
                Ok((product, stock))
            },
        )
        .await?;
        Ok(BranchOfferRows {
            branch,
            resources,
            services,
            products,
        })
    }
}
