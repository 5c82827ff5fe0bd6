//! The catalog half of the port. Writes run on the single writer
//! connection; references are checked first (SQLite's foreign-key errors
//! do not say which key failed), and upserts only touch rows of the same
//! tenant.

use async_trait::async_trait;
use booking_core::{
    Branch, BranchId, CatalogItem, CatalogStore, DeleteError, Entity, Event, EventPayload,
    NewEvent, Product, ProductBranch, ProductId, Resource, ResourceBranch, ResourceId, ServiceId,
    ServiceItem, ServiceItemBranch, StockCause, StockChange, StockError, StockOp, StoreError,
    Tenant, TenantId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::SqliteStore;
use crate::apply::append_events;
use crate::error::store_error;
use crate::rows;

/// Whether `SELECT 1 FROM {table} WHERE tenant_id = ? AND id = ?` finds a row.
async fn owned(
    conn: &mut SqliteConnection,
    table: &str,
    tenant: Uuid,
    id: Uuid,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = ? AND id = ?)"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_one(conn)
    .await
    .map_err(store_error)
}

async fn tenant_exists(conn: &mut SqliteConnection, tenant: Uuid) -> Result<bool, StoreError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?)")
        .bind(tenant)
        .fetch_one(conn)
        .await
        .map_err(store_error)
}

async fn fetch_one<T>(
    pool: &SqlitePool,
    sql: &str,
    ids: &[Uuid],
    decode: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut q = sqlx::query(sql);
    for id in ids {
        q = q.bind(*id);
    }
    let row = q.fetch_optional(pool).await.map_err(store_error)?;
    row.as_ref().map(decode).transpose()
}

async fn fetch_all<T>(
    pool: &SqlitePool,
    sql: &str,
    ids: &[Uuid],
    decode: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut q = sqlx::query(sql);
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(pool).await.map_err(store_error)?;
    rows.iter().map(decode).collect()
}

fn i64_of(n: u32) -> i64 {
    i64::from(n)
}

/// What must hold before an upsert: the tenant exists, or each (table,
/// id) belongs to the tenant.
enum Check {
    Tenant(TenantId),
    Owned(TenantId, Vec<(&'static str, Uuid, Entity)>),
}

impl Check {
    async fn run(self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        match self {
            Self::Tenant(t) if tenant_exists(conn, t.as_uuid()).await? => Ok(()),
            Self::Tenant(t) => Err(StoreError::NotFound(Entity::Tenant(t))),
            Self::Owned(t, refs) => {
                for (table, id, entity) in refs {
                    if !owned(conn, table, t.as_uuid(), id).await? {
                        return Err(StoreError::NotFound(entity));
                    }
                }
                Ok(())
            }
        }
    }
}

impl SqliteStore {
    /// Runs an upsert in a write transaction after `check` passes; zero rows
    /// changed means the id belongs to another tenant.
    async fn upsert<'q>(
        &self,
        check: Check,
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        this: Entity,
    ) -> Result<(), StoreError> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        check.run(&mut tx).await?;
        let done = query.execute(&mut *tx).await.map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(this));
        }
        tx.commit().await.map_err(store_error)
    }
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, name) VALUES (?, ?)")
            .bind(tenant.id.as_uuid())
            .bind(tenant.name.as_str())
            .execute(&self.writer)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT id, name FROM tenants WHERE id = ?",
            &[id.as_uuid()],
            rows::tenant,
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Tenant(id)))
    }

    async fn put_branch(&self, b: &Branch) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO branches (id, tenant_id, name, time_zone) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone
             WHERE branches.tenant_id = excluded.tenant_id",
        )
        .bind(b.id.as_uuid())
        .bind(b.tenant_id.as_uuid())
        .bind(b.name.as_str().to_owned())
        .bind(b.time_zone.name());
        self.upsert(Check::Tenant(b.tenant_id), q, Entity::Branch(b.id))
            .await
    }

    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM branches WHERE tenant_id = ? AND id = ?",
            &[tenant.as_uuid(), id.as_uuid()],
            rows::branch,
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Branch(id)))
    }

    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        fetch_all(
            &self.reader,
            "SELECT * FROM branches WHERE tenant_id = ? ORDER BY id",
            &[tenant.as_uuid()],
            rows::branch,
        )
        .await
    }

    async fn put_resource(&self, r: &Resource) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO resources (id, tenant_id, name, kind) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind
             WHERE resources.tenant_id = excluded.tenant_id",
        )
        .bind(r.id.as_uuid())
        .bind(r.tenant_id.as_uuid())
        .bind(r.name.as_str().to_owned())
        .bind(r.kind.as_str());
        self.upsert(Check::Tenant(r.tenant_id), q, Entity::Resource(r.id))
            .await
    }

    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM resources WHERE tenant_id = ? AND id = ?",
            &[tenant.as_uuid(), id.as_uuid()],
            rows::resource,
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Resource(id)))
    }

    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        fetch_all(
            &self.reader,
            "SELECT * FROM resources WHERE tenant_id = ? ORDER BY id",
            &[tenant.as_uuid()],
            rows::resource,
        )
        .await
    }

    async fn put_resource_branch(&self, link: &ResourceBranch) -> Result<(), StoreError> {
        let schedule = serde_json::to_string(&link.schedule)
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let q = sqlx::query(
            "INSERT INTO resource_branches (tenant_id, resource_id, branch_id, schedule) VALUES (?, ?, ?, ?)
             ON CONFLICT (tenant_id, resource_id, branch_id) DO UPDATE SET schedule = excluded.schedule",
        )
        .bind(link.tenant_id.as_uuid())
        .bind(link.resource_id.as_uuid())
        .bind(link.branch_id.as_uuid())
        .bind(schedule);
        let check = Check::Owned(
            link.tenant_id,
            vec![
                (
                    "resources",
                    link.resource_id.as_uuid(),
                    Entity::Resource(link.resource_id),
                ),
                (
                    "branches",
                    link.branch_id.as_uuid(),
                    Entity::Branch(link.branch_id),
                ),
            ],
        );
        self.upsert(check, q, Entity::Resource(link.resource_id))
            .await
    }

    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM resource_branches WHERE tenant_id = ? AND resource_id = ? AND branch_id = ?",
            &[tenant.as_uuid(), resource.as_uuid(), branch.as_uuid()],
            rows::resource_branch,
        )
        .await
    }

    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError> {
        fetch_all(
            &self.reader,
            "SELECT * FROM resource_branches WHERE tenant_id = ? AND branch_id = ? ORDER BY resource_id",
            &[tenant.as_uuid(), branch.as_uuid()],
            rows::resource_branch,
        )
        .await
    }

    async fn put_service(&self, s: &ServiceItem) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO services (id, tenant_id, name, duration_minutes, price_minor, currency,
                                   buffer_before_minutes, buffer_after_minutes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 duration_minutes = excluded.duration_minutes, price_minor = excluded.price_minor,
                 currency = excluded.currency, buffer_before_minutes = excluded.buffer_before_minutes,
                 buffer_after_minutes = excluded.buffer_after_minutes
             WHERE services.tenant_id = excluded.tenant_id",
        )
        .bind(s.id.as_uuid())
        .bind(s.tenant_id.as_uuid())
        .bind(s.name.as_str().to_owned())
        .bind(i64_of(s.duration.get()))
        .bind(s.price.amount_minor())
        .bind(s.price.currency().code())
        .bind(i64_of(s.buffer_before.get()))
        .bind(i64_of(s.buffer_after.get()));
        self.upsert(Check::Tenant(s.tenant_id), q, Entity::Service(s.id))
            .await
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM services WHERE tenant_id = ? AND id = ?",
            &[tenant.as_uuid(), id.as_uuid()],
            rows::service,
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Service(id)))
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        fetch_all(
            &self.reader,
            "SELECT * FROM services WHERE tenant_id = ? ORDER BY id",
            &[tenant.as_uuid()],
            rows::service,
        )
        .await
    }

    async fn put_service_branch(&self, p: &ServiceItemBranch) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO service_branches (tenant_id, service_id, branch_id, price_minor, currency)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, service_id, branch_id)
             DO UPDATE SET price_minor = excluded.price_minor, currency = excluded.currency",
        )
        .bind(p.tenant_id.as_uuid())
        .bind(p.service_id.as_uuid())
        .bind(p.branch_id.as_uuid())
        .bind(p.price.amount_minor())
        .bind(p.price.currency().code());
        let check = Check::Owned(
            p.tenant_id,
            vec![
                (
                    "services",
                    p.service_id.as_uuid(),
                    Entity::Service(p.service_id),
                ),
                (
                    "branches",
                    p.branch_id.as_uuid(),
                    Entity::Branch(p.branch_id),
                ),
            ],
        );
        self.upsert(check, q, Entity::Service(p.service_id)).await
    }

    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM service_branches WHERE tenant_id = ? AND service_id = ? AND branch_id = ?",
            &[tenant.as_uuid(), service.as_uuid(), branch.as_uuid()],
            rows::service_branch,
        )
        .await
    }

    async fn put_product(&self, p: &Product) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO products (id, tenant_id, name, price_minor, currency) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor,
                 currency = excluded.currency
             WHERE products.tenant_id = excluded.tenant_id",
        )
        .bind(p.id.as_uuid())
        .bind(p.tenant_id.as_uuid())
        .bind(p.name.as_str().to_owned())
        .bind(p.price.amount_minor())
        .bind(p.price.currency().code());
        self.upsert(Check::Tenant(p.tenant_id), q, Entity::Product(p.id))
            .await
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM products WHERE tenant_id = ? AND id = ?",
            &[tenant.as_uuid(), id.as_uuid()],
            rows::product,
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Product(id)))
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        fetch_all(
            &self.reader,
            "SELECT * FROM products WHERE tenant_id = ? ORDER BY id",
            &[tenant.as_uuid()],
            rows::product,
        )
        .await
    }

    async fn product_branch(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError> {
        fetch_one(
            &self.reader,
            "SELECT * FROM product_branches WHERE tenant_id = ? AND product_id = ? AND branch_id = ?",
            &[tenant.as_uuid(), product.as_uuid(), branch.as_uuid()],
            rows::product_branch,
        )
        .await
    }

    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError> {
        fetch_all(
            &self.reader,
            "SELECT * FROM product_branches WHERE tenant_id = ? AND branch_id = ? ORDER BY product_id",
            &[tenant.as_uuid(), branch.as_uuid()],
            rows::product_branch,
        )
        .await
    }

    async fn delete_item(&self, tenant: TenantId, item: CatalogItem) -> Result<(), DeleteError> {
        let (table, id, used, links): (&str, Uuid, &str, &[&str]) = match item {
            CatalogItem::Branch(id) => (
                "branches",
                id.as_uuid(),
                "branch_id = ?2",
                &[
                    "DELETE FROM resource_branches WHERE tenant_id = ?1 AND branch_id = ?2",
                    "DELETE FROM service_branches WHERE tenant_id = ?1 AND branch_id = ?2",
                    "DELETE FROM product_branches WHERE tenant_id = ?1 AND branch_id = ?2",
                ],
            ),
            CatalogItem::Resource(id) => (
                "resources",
                id.as_uuid(),
                "resource_id = ?2",
                &["DELETE FROM resource_branches WHERE tenant_id = ?1 AND resource_id = ?2"],
            ),
            CatalogItem::Service(id) => (
                "services",
                id.as_uuid(),
                "service_id = ?2",
                &["DELETE FROM service_branches WHERE tenant_id = ?1 AND service_id = ?2"],
            ),
            CatalogItem::Product(id) => (
                "products",
                id.as_uuid(),
                "id IN (SELECT reservation_id FROM reservation_lines WHERE tenant_id = ?1 AND product_id = ?2)",
                &["DELETE FROM product_branches WHERE tenant_id = ?1 AND product_id = ?2"],
            ),
        };
        let t = tenant.as_uuid();
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        if !owned(&mut tx, table, t, id).await? {
            return Err(DeleteError::NotFound(item.entity()));
        }
        let in_use: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE tenant_id = ?1 AND {used})"
        ))
        .bind(t)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if in_use {
            return Err(DeleteError::InUse(item.entity()));
        }
        for sql in links.iter().copied().chain(std::iter::once(
            format!("DELETE FROM {table} WHERE tenant_id = ?1 AND id = ?2").as_str(),
        )) {
            sqlx::query(sql)
                .bind(t)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(())
    }

    async fn adjust_stock(
        &self,
        change: &StockChange,
    ) -> Result<(ProductBranch, Event), StockError> {
        let (t, p, b) = (
            change.tenant_id.as_uuid(),
            change.product_id.as_uuid(),
            change.branch_id.as_uuid(),
        );
        let max = ProductBranch::MAX_STOCK;
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        if !owned(&mut tx, "products", t, p).await? {
            return Err(StockError::NotFound(Entity::Product(change.product_id)));
        }
        if !owned(&mut tx, "branches", t, b).await? {
            return Err(StockError::NotFound(Entity::Branch(change.branch_id)));
        }
        let before: Option<i64> = sqlx::query_scalar(
            "SELECT stock FROM product_branches WHERE tenant_id = ? AND product_id = ? AND branch_id = ?",
        )
        .bind(t)
        .bind(p)
        .bind(b)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let before = before.map(|s| u32::try_from(s).unwrap_or(0));
        let (stock, price, cause) = match change.op {
            StockOp::Set { stock, price } => (stock, Some(price), StockCause::Set),
            StockOp::Restock { quantity } => {
                let current = before.ok_or(StockError::NotFound(Entity::ProductAtBranch(
                    change.product_id,
                    change.branch_id,
                )))?;
                (
                    current.saturating_add(quantity.get()),
                    None,
                    StockCause::Restock,
                )
            }
        };
        if stock > max {
            return Err(StockError::TooMuch { max });
        }
        let row = match price {
            Some(price) => sqlx::query(
                "INSERT INTO product_branches (tenant_id, product_id, branch_id, stock, price_minor, currency)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (tenant_id, product_id, branch_id) DO UPDATE
                 SET stock = excluded.stock, price_minor = excluded.price_minor, currency = excluded.currency
                 RETURNING *",
            )
            .bind(t)
            .bind(p)
            .bind(b)
            .bind(i64::from(stock))
            .bind(price.map(|m| m.amount_minor()))
            .bind(price.map(|m| m.currency().code()))
            .fetch_one(&mut *tx)
            .await,
            None => sqlx::query(
                "UPDATE product_branches SET stock = ? WHERE tenant_id = ? AND product_id = ? AND branch_id = ? RETURNING *",
            )
            .bind(i64::from(stock))
            .bind(t)
            .bind(p)
            .bind(b)
            .fetch_one(&mut *tx)
            .await,
        }
        .map_err(store_error)?;
        let record = rows::product_branch(&row)?;
        let event = NewEvent {
            at: booking_core::time::to_micros(change.at),
            actor: change.actor.clone(),
            payload: EventPayload::StockAdjusted {
                product_id: change.product_id,
                branch_id: change.branch_id,
                before: before.unwrap_or(0),
                after: record.stock,
                cause,
            },
        };
        let mut committed = append_events(&mut tx, change.tenant_id, vec![event])
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let event = committed
            .pop()
            .ok_or_else(|| StoreError::Internal("no event appended".into()))?;
        Ok((record, event))
    }
}
