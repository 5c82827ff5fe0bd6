//! The catalog half of the port. Upserts touch a row only when it belongs
//! to the same tenant (`ON CONFLICT … WHERE tenant_id = EXCLUDED.tenant_id`),
//! so taking over another tenant's id is "not found", like in every store.

use async_trait::async_trait;
use booking_core::{
    Branch, BranchId, CatalogItem, CatalogStore, DeleteError, Entity, Event, EventPayload,
    NewEvent, Product, ProductBranch, ProductId, Resource, ResourceBranch, ResourceId, ServiceId,
    ServiceItem, ServiceItemBranch, StockCause, StockChange, StockError, StockOp, StoreError,
    Tenant, TenantId,
};
use sqlx::postgres::{PgQueryResult, PgRow};
use sqlx::types::Json;

use crate::PgStore;
use crate::error::{DbFailure, classify, store_error};
use crate::{events, rows};

/// Maps an upsert's outcome: a foreign-key failure names the missing parent,
/// zero rows means the id belongs to another tenant.
fn upserted(
    result: Result<PgQueryResult, sqlx::Error>,
    this: Entity,
    parent: impl Fn(&str) -> Entity,
) -> Result<(), StoreError> {
    match result {
        Ok(done) if done.rows_affected() == 0 => Err(StoreError::NotFound(this)),
        Ok(_) => Ok(()),
        Err(e) => match classify(&e) {
            DbFailure::ForeignKey(constraint) => Err(StoreError::NotFound(parent(&constraint))),
            _ => Err(store_error(e)),
        },
    }
}

fn all<T>(
    rows: Vec<PgRow>,
    decode: fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

fn one<T>(
    row: Option<PgRow>,
    decode: fn(&PgRow) -> Result<T, StoreError>,
    missing: Entity,
) -> Result<T, StoreError> {
    decode(&row.ok_or(StoreError::NotFound(missing))?)
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
            .bind(tenant.id.as_uuid())
            .bind(tenant.name.as_str())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        one(row, rows::tenant, Entity::Tenant(id))
    }

    async fn put_branch(&self, b: &Branch) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO branches (id, tenant_id, name, time_zone) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, time_zone = EXCLUDED.time_zone
             WHERE branches.tenant_id = EXCLUDED.tenant_id",
        )
        .bind(b.id.as_uuid())
        .bind(b.tenant_id.as_uuid())
        .bind(b.name.as_str())
        .bind(b.time_zone.name())
        .execute(&self.pool)
        .await;
        upserted(result, Entity::Branch(b.id), |_| {
            Entity::Tenant(b.tenant_id)
        })
    }

    async fn branch(&self, tenant: TenantId, id: BranchId) -> Result<Branch, StoreError> {
        let row = sqlx::query("SELECT * FROM branches WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        one(row, rows::branch, Entity::Branch(id))
    }

    async fn branches(&self, tenant: TenantId) -> Result<Vec<Branch>, StoreError> {
        let rows = sqlx::query("SELECT * FROM branches WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        all(rows, rows::branch)
    }

    async fn put_resource(&self, r: &Resource) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO resources (id, tenant_id, name, kind) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind
             WHERE resources.tenant_id = EXCLUDED.tenant_id",
        )
        .bind(r.id.as_uuid())
        .bind(r.tenant_id.as_uuid())
        .bind(r.name.as_str())
        .bind(r.kind.as_str())
        .execute(&self.pool)
        .await;
        upserted(result, Entity::Resource(r.id), |_| {
            Entity::Tenant(r.tenant_id)
        })
    }

    async fn resource(&self, tenant: TenantId, id: ResourceId) -> Result<Resource, StoreError> {
        let row = sqlx::query("SELECT * FROM resources WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        one(row, rows::resource, Entity::Resource(id))
    }

    async fn resources(&self, tenant: TenantId) -> Result<Vec<Resource>, StoreError> {
        let rows = sqlx::query("SELECT * FROM resources WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        all(rows, rows::resource)
    }

    async fn put_resource_branch(&self, link: &ResourceBranch) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO resource_branches (tenant_id, resource_id, branch_id, schedule)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, resource_id, branch_id) DO UPDATE SET schedule = EXCLUDED.schedule",
        )
        .bind(link.tenant_id.as_uuid())
        .bind(link.resource_id.as_uuid())
        .bind(link.branch_id.as_uuid())
        .bind(Json(&link.schedule))
        .execute(&self.pool)
        .await;
        upserted(result, Entity::Resource(link.resource_id), |constraint| {
            if constraint.contains("branch") {
                Entity::Branch(link.branch_id)
            } else {
                Entity::Resource(link.resource_id)
            }
        })
    }

    async fn resource_branch(
        &self,
        tenant: TenantId,
        resource: ResourceId,
        branch: BranchId,
    ) -> Result<Option<ResourceBranch>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM resource_branches WHERE tenant_id = $1 AND resource_id = $2 AND branch_id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(resource.as_uuid())
        .bind(branch.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(rows::resource_branch).transpose()
    }

    async fn branch_resources(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ResourceBranch>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM resource_branches WHERE tenant_id = $1 AND branch_id = $2 ORDER BY resource_id",
        )
        .bind(tenant.as_uuid())
        .bind(branch.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        all(rows, rows::resource_branch)
    }

    async fn put_service(&self, s: &ServiceItem) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO services (id, tenant_id, name, duration_minutes, price_minor, currency,
                                   buffer_before_minutes, buffer_after_minutes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
                 duration_minutes = EXCLUDED.duration_minutes, price_minor = EXCLUDED.price_minor,
                 currency = EXCLUDED.currency, buffer_before_minutes = EXCLUDED.buffer_before_minutes,
                 buffer_after_minutes = EXCLUDED.buffer_after_minutes
             WHERE services.tenant_id = EXCLUDED.tenant_id",
        )
        .bind(s.id.as_uuid())
        .bind(s.tenant_id.as_uuid())
        .bind(s.name.as_str())
        .bind(i32::try_from(s.duration.get()).unwrap_or(i32::MAX))
        .bind(s.price.amount_minor())
        .bind(s.price.currency().code())
        .bind(i32::try_from(s.buffer_before.get()).unwrap_or(i32::MAX))
        .bind(i32::try_from(s.buffer_after.get()).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await;
        upserted(result, Entity::Service(s.id), |_| {
            Entity::Tenant(s.tenant_id)
        })
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<ServiceItem, StoreError> {
        let row = sqlx::query("SELECT * FROM services WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        one(row, rows::service, Entity::Service(id))
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<ServiceItem>, StoreError> {
        let rows = sqlx::query("SELECT * FROM services WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        all(rows, rows::service)
    }

    async fn put_service_branch(&self, p: &ServiceItemBranch) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO service_branches (tenant_id, service_id, branch_id, price_minor, currency)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, service_id, branch_id)
             DO UPDATE SET price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency",
        )
        .bind(p.tenant_id.as_uuid())
        .bind(p.service_id.as_uuid())
        .bind(p.branch_id.as_uuid())
        .bind(p.price.amount_minor())
        .bind(p.price.currency().code())
        .execute(&self.pool)
        .await;
        upserted(result, Entity::Service(p.service_id), |constraint| {
            if constraint.contains("branch") {
                Entity::Branch(p.branch_id)
            } else {
                Entity::Service(p.service_id)
            }
        })
    }

    async fn service_branch(
        &self,
        tenant: TenantId,
        service: ServiceId,
        branch: BranchId,
    ) -> Result<Option<ServiceItemBranch>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM service_branches WHERE tenant_id = $1 AND service_id = $2 AND branch_id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(service.as_uuid())
        .bind(branch.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(rows::service_branch).transpose()
    }

    async fn put_product(&self, p: &Product) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO products (id, tenant_id, name, price_minor, currency) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price_minor = EXCLUDED.price_minor,
                 currency = EXCLUDED.currency
             WHERE products.tenant_id = EXCLUDED.tenant_id",
        )
        .bind(p.id.as_uuid())
        .bind(p.tenant_id.as_uuid())
        .bind(p.name.as_str())
        .bind(p.price.amount_minor())
        .bind(p.price.currency().code())
        .execute(&self.pool)
        .await;
        upserted(result, Entity::Product(p.id), |_| {
            Entity::Tenant(p.tenant_id)
        })
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> Result<Product, StoreError> {
        let row = sqlx::query("SELECT * FROM products WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        one(row, rows::product, Entity::Product(id))
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        let rows = sqlx::query("SELECT * FROM products WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        all(rows, rows::product)
    }

    async fn product_branch(
        &self,
        tenant: TenantId,
        product: ProductId,
        branch: BranchId,
    ) -> Result<Option<ProductBranch>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM product_branches WHERE tenant_id = $1 AND product_id = $2 AND branch_id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(product.as_uuid())
        .bind(branch.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(rows::product_branch).transpose()
    }

    async fn branch_products(
        &self,
        tenant: TenantId,
        branch: BranchId,
    ) -> Result<Vec<ProductBranch>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM product_branches WHERE tenant_id = $1 AND branch_id = $2 ORDER BY product_id",
        )
        .bind(tenant.as_uuid())
        .bind(branch.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        all(rows, rows::product_branch)
    }

    async fn delete_item(&self, tenant: TenantId, item: CatalogItem) -> Result<(), DeleteError> {
        let (table, id, used, links): (&str, uuid::Uuid, &str, &[&str]) = match item {
            CatalogItem::Branch(id) => (
                "branches",
                id.as_uuid(),
                "branch_id = $2",
                &[
                    "DELETE FROM resource_branches WHERE tenant_id = $1 AND branch_id = $2",
                    "DELETE FROM service_branches WHERE tenant_id = $1 AND branch_id = $2",
                    "DELETE FROM product_branches WHERE tenant_id = $1 AND branch_id = $2",
                ],
            ),
            CatalogItem::Resource(id) => (
                "resources",
                id.as_uuid(),
                "resource_id = $2",
                &["DELETE FROM resource_branches WHERE tenant_id = $1 AND resource_id = $2"],
            ),
            CatalogItem::Service(id) => (
                "services",
                id.as_uuid(),
                "service_id = $2",
                &["DELETE FROM service_branches WHERE tenant_id = $1 AND service_id = $2"],
            ),
            CatalogItem::Product(id) => (
                "products",
                id.as_uuid(),
                "id IN (SELECT reservation_id FROM reservation_lines WHERE tenant_id = $1 AND product_id = $2)",
                &["DELETE FROM product_branches WHERE tenant_id = $1 AND product_id = $2"],
            ),
        };
        let t = tenant.as_uuid();
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let found: Option<uuid::Uuid> = sqlx::query_scalar(&format!(
            "SELECT id FROM {table} WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
        ))
        .bind(t)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        if found.is_none() {
            return Err(DeleteError::NotFound(item.entity()));
        }
        let in_use: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE tenant_id = $1 AND {used})"
        ))
        .bind(t)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if in_use {
            return Err(DeleteError::InUse(item.entity()));
        }
        let deleted = async {
            for sql in links.iter().copied().chain(std::iter::once(
                format!("DELETE FROM {table} WHERE tenant_id = $1 AND id = $2").as_str(),
            )) {
                sqlx::query(sql).bind(t).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        .await;
        match deleted {
            Ok(()) => Ok(()),
            // A reservation made meanwhile still refers to it.
            Err(e) if matches!(classify(&e), DbFailure::ForeignKey(_)) => {
                Err(DeleteError::InUse(item.entity()))
            }
            Err(e) => Err(store_error(e).into()),
        }
    }

    async fn adjust_stock(
        &self,
        change: &StockChange,
    ) -> Result<(ProductBranch, Event), StockError> {
        let t = change.tenant_id;
        let max = ProductBranch::MAX_STOCK;
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let exists: (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM products WHERE tenant_id = $1 AND id = $2),
                    EXISTS (SELECT 1 FROM branches WHERE tenant_id = $1 AND id = $3)",
        )
        .bind(t.as_uuid())
        .bind(change.product_id.as_uuid())
        .bind(change.branch_id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        match exists {
            (false, _) => return Err(StockError::NotFound(Entity::Product(change.product_id))),
            (_, false) => return Err(StockError::NotFound(Entity::Branch(change.branch_id))),
            _ => {}
        }
        let before: Option<i32> = sqlx::query_scalar(
            "SELECT stock FROM product_branches
             WHERE tenant_id = $1 AND product_id = $2 AND branch_id = $3 FOR UPDATE",
        )
        .bind(t.as_uuid())
        .bind(change.product_id.as_uuid())
        .bind(change.branch_id.as_uuid())
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
        let stock_sql = i32::try_from(stock).map_err(|_| StockError::TooMuch { max })?;
        let row = match price {
            Some(price) => sqlx::query(
                "INSERT INTO product_branches (tenant_id, product_id, branch_id, stock, price_minor, currency)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, product_id, branch_id) DO UPDATE
                 SET stock = EXCLUDED.stock, price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency
                 RETURNING *",
            )
            .bind(t.as_uuid())
            .bind(change.product_id.as_uuid())
            .bind(change.branch_id.as_uuid())
            .bind(stock_sql)
            .bind(price.map(|p| p.amount_minor()))
            .bind(price.map(|p| p.currency().code()))
            .fetch_one(&mut *tx)
            .await,
            None => sqlx::query(
                "UPDATE product_branches SET stock = $4
                 WHERE tenant_id = $1 AND product_id = $2 AND branch_id = $3 RETURNING *",
            )
            .bind(t.as_uuid())
            .bind(change.product_id.as_uuid())
            .bind(change.branch_id.as_uuid())
            .bind(stock_sql)
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
        let mut committed = events::append(&mut tx, t, vec![event])
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let event = committed
            .pop()
            .ok_or_else(|| StoreError::Internal("no event appended".into()))?;
        Ok((record, event))
    }
}
