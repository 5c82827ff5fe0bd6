//! The catalog's queries. Each kind of record lives in one table, keyed by
//! `tenant_id` and its own columns; upserts touch a row only when it
//! belongs to the same tenant (`ON CONFLICT … WHERE tenant_id =
//! excluded.tenant_id`), so taking over another tenant's id changes no row
//! and reads as "not found".

use booking_core::{
    CatalogKey, CatalogList, CatalogPage, CatalogRead, CatalogRecord, StoreError, TenantId,
};
use uuid::Uuid;

use crate::{Arg, Dialect, int};

/// SQL and what to bind to it, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The statement.
    pub sql: String,
    /// Its arguments, `$1`/`?1` first.
    pub args: Vec<Arg>,
}

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
        CatalogKey::ServiceResource(s, r) => (
            "service_resources",
            &["service_id", "resource_id"],
            vec![s.as_uuid(), r.as_uuid()],
        ),
        // One row per tenant, keyed by the tenant alone.
        CatalogKey::Settings(_) => ("tenant_settings", &[], Vec::new()),
    }
}

/// A list's table, the column it filters on (with its value) and its order.
fn list_of(list: CatalogList) -> (&'static str, Option<(&'static str, Uuid)>, &'static str) {
    match list {
        CatalogList::Branches => ("branches", None, "id"),
        CatalogList::Resources => ("resources", None, "id"),
        CatalogList::Services => ("services", None, "id"),
        CatalogList::Products => ("products", None, "id"),
        CatalogList::SchedulesAt(b) => (
            "resource_branches",
            Some(("branch_id", b.as_uuid())),
            "resource_id",
        ),
        CatalogList::SchedulesOf(r) => (
            "resource_branches",
            Some(("resource_id", r.as_uuid())),
            "branch_id",
        ),
        CatalogList::ServicePricesAt(b) => (
            "service_branches",
            Some(("branch_id", b.as_uuid())),
            "service_id",
        ),
        CatalogList::ServicePricesOf(s) => (
            "service_branches",
            Some(("service_id", s.as_uuid())),
            "branch_id",
        ),
        CatalogList::StockAt(b) => (
            "product_branches",
            Some(("branch_id", b.as_uuid())),
            "product_id",
        ),
        CatalogList::StockOf(p) => (
            "product_branches",
            Some(("product_id", p.as_uuid())),
            "branch_id",
        ),
        CatalogList::ResourcesOfService(s) => (
            "service_resources",
            Some(("service_id", s.as_uuid())),
            "resource_id",
        ),
        CatalogList::ServicesOfResource(r) => (
            "service_resources",
            Some(("resource_id", r.as_uuid())),
            "service_id",
        ),
    }
}

/// `tenant_id = $1 AND col = $2 AND …` for a record's key.
fn key_filter(d: Dialect, columns: &[&str]) -> String {
    let mut sql = format!("tenant_id = {}", d.param(1));
    for (i, column) in columns.iter().enumerate() {
        sql.push_str(&format!(" AND {column} = {}", d.param(i + 2)));
    }
    sql
}

fn keyed(tenant: TenantId, ids: Vec<Uuid>) -> Vec<Arg> {
    std::iter::once(tenant.as_uuid())
        .chain(ids)
        .map(Arg::Uuid)
        .collect()
}

/// The tenant.
#[must_use]
pub fn tenant(d: Dialect, id: TenantId) -> Query {
    Query {
        sql: format!("SELECT id, name FROM tenants WHERE id = {}", d.param(1)),
        args: vec![Arg::Uuid(id.as_uuid())],
    }
}

/// The tenant's record with `key`, locked if asked.
#[must_use]
pub fn select(d: Dialect, tenant: TenantId, key: CatalogKey, lock: bool) -> Query {
    let (table, columns, ids) = locate(key);
    Query {
        sql: format!(
            "SELECT * FROM {table} WHERE {}{}",
            key_filter(d, columns),
            d.lock(lock)
        ),
        args: keyed(tenant, ids),
    }
}

/// Several reads in one statement, for PostgreSQL: every row found, as a
/// JSON object (`to_jsonb`) in column `row`, with the index of its read in
/// `reads` in column `n` (decode with [`crate::JsonRow`]). A list's rows
/// come in no particular order. `None` for no reads.
#[must_use]
pub fn batch(tenant: TenantId, reads: &[CatalogRead]) -> Option<Query> {
    let d = Dialect::Postgres;
    let mut args = vec![Arg::Uuid(tenant.as_uuid())];
    let mut parts = Vec::with_capacity(reads.len());
    for (n, read) in reads.iter().enumerate() {
        let (table, filter): (&str, Vec<(&str, Uuid)>) = match *read {
            CatalogRead::Key(key) => {
                let (table, columns, ids) = locate(key);
                (table, columns.iter().copied().zip(ids).collect())
            }
            CatalogRead::List(list) => {
                let (table, filter, _) = list_of(list);
                (table, filter.into_iter().collect())
            }
        };
        let mut sql = format!(
            "SELECT {n} AS n, to_jsonb(x) AS row FROM {table} x WHERE x.tenant_id = {}",
            d.param(1)
        );
        for (column, id) in filter {
            args.push(Arg::Uuid(id));
            sql.push_str(&format!(" AND x.{column} = {}", d.param(args.len())));
        }
        parts.push(sql);
    }
    (!parts.is_empty()).then(|| Query {
        sql: parts.join(" UNION ALL "),
        args,
    })
}

/// The tenant's records in `list`, by key, locked if asked.
#[must_use]
pub fn list(d: Dialect, tenant: TenantId, list: CatalogList, lock: bool) -> Query {
    listed(d, tenant, list, lock, None)
}

/// A page of the tenant's records in `list`, by the list's order: those
/// after `page.after`, at most `page.limit`.
#[must_use]
pub fn page(d: Dialect, tenant: TenantId, list: CatalogList, page: CatalogPage) -> Query {
    listed(d, tenant, list, false, Some(page))
}

fn listed(
    d: Dialect,
    tenant: TenantId,
    list: CatalogList,
    lock: bool,
    page: Option<CatalogPage>,
) -> Query {
    let (table, filter, order) = list_of(list);
    let mut sql = format!("SELECT * FROM {table} WHERE tenant_id = {}", d.param(1));
    let mut args = vec![Arg::Uuid(tenant.as_uuid())];
    if let Some((column, id)) = filter {
        sql.push_str(&format!(" AND {column} = {}", d.param(args.len() + 1)));
        args.push(Arg::Uuid(id));
    }
    if let Some(after) = page.and_then(|p| p.after) {
        sql.push_str(&format!(" AND {order} > {}", d.param(args.len() + 1)));
        args.push(Arg::Uuid(after));
    }
    sql.push_str(&format!(" ORDER BY {order}"));
    if let Some(page) = page {
        sql.push_str(&format!(" LIMIT {}", page.limit));
    }
    sql.push_str(d.lock(lock));
    Query { sql, args }
}

/// Deletes the tenant's record with `key`.
#[must_use]
pub fn delete(d: Dialect, tenant: TenantId, key: CatalogKey) -> Query {
    let (table, columns, ids) = locate(key);
    Query {
        sql: format!("DELETE FROM {table} WHERE {}", key_filter(d, columns)),
        args: keyed(tenant, ids),
    }
}

/// Whether a reservation of the tenant refers to `item` (`SELECT EXISTS`);
/// `None` where nothing can (a service's branch price).
#[must_use]
pub fn referenced(d: Dialect, tenant: TenantId, item: CatalogKey) -> Option<Query> {
    let (table, columns, ids): (&str, &[&str], Vec<Uuid>) = match item {
        CatalogKey::Branch(id) => ("reservations", &["branch_id"], vec![id.as_uuid()]),
        CatalogKey::Resource(id) => ("reservations", &["resource_id"], vec![id.as_uuid()]),
        CatalogKey::Service(id) => ("reservations", &["service_id"], vec![id.as_uuid()]),
        CatalogKey::Product(id) => ("reservation_lines", &["product_id"], vec![id.as_uuid()]),
        CatalogKey::Schedule(r, b) => (
            "reservations",
            &["resource_id", "branch_id"],
            vec![r.as_uuid(), b.as_uuid()],
        ),
        CatalogKey::Stock(k) => (
            "reservation_lines",
            &["product_id", "branch_id"],
            vec![k.product_id.as_uuid(), k.branch_id.as_uuid()],
        ),
        CatalogKey::ServicePrice(..)
        | CatalogKey::ServiceResource(..)
        | CatalogKey::Settings(_) => {
            return None;
        }
    };
    Some(Query {
        sql: format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE {})",
            key_filter(d, columns)
        ),
        args: keyed(tenant, ids),
    })
}

/// Units of a product at a branch that reservations hold and may give
/// back (held, expired or not, and confirmed): `SELECT` one integer.
#[must_use]
pub fn units_out(d: Dialect, tenant: TenantId, key: booking_core::StockKey) -> Query {
    Query {
        sql: format!(
            "SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_lines l
             JOIN reservations r ON r.tenant_id = l.tenant_id AND r.id = l.reservation_id
             WHERE l.tenant_id = {} AND l.product_id = {} AND l.branch_id = {}
               AND r.status IN ('held', 'confirmed')",
            d.param(1),
            d.param(2),
            d.param(3)
        ),
        args: keyed(
            tenant,
            vec![key.product_id.as_uuid(), key.branch_id.as_uuid()],
        ),
    }
}

fn params(d: Dialect, n: usize) -> String {
    (1..=n).map(|i| d.param(i)).collect::<Vec<_>>().join(", ")
}

/// Inserts or replaces a record of its tenant. Zero rows changed means
/// the id belongs to another tenant.
///
/// # Errors
/// [`StoreError::Internal`] if a value does not fit its column.
pub fn upsert(d: Dialect, record: &CatalogRecord) -> Result<Query, StoreError> {
    let t = Arg::Uuid(record.tenant_id().as_uuid());
    let text = |s: &str| Arg::Text(s.to_owned());
    let small = |n: u32, what| int::<u32, i32>(n, what).map(Arg::I32);
    let (table, columns, conflict, args): (&str, &[&str], &str, Vec<Arg>) =
        match record {
            CatalogRecord::Branch(b) => (
                "branches",
                &["id", "tenant_id", "name", "time_zone"],
                "(id)",
                vec![
                    Arg::Uuid(b.id.as_uuid()),
                    t,
                    text(b.name.as_str()),
                    text(b.time_zone.name()),
                ],
            ),
            CatalogRecord::Resource(r) => (
                "resources",
                &["id", "tenant_id", "name", "kind"],
                "(id)",
                vec![
                    Arg::Uuid(r.id.as_uuid()),
                    t,
                    text(r.name.as_str()),
                    text(r.kind.as_str()),
                ],
            ),
            CatalogRecord::Service(s) => (
                "services",
                &[
                    "id",
                    "tenant_id",
                    "name",
                    "duration_minutes",
                    "price_minor",
                    "currency",
                    "buffer_before_minutes",
                    "buffer_after_minutes",
                ],
                "(id)",
                vec![
                    Arg::Uuid(s.id.as_uuid()),
                    t,
                    text(s.name.as_str()),
                    small(s.duration.get(), "duration")?,
                    Arg::I64(s.price.amount_minor()),
                    text(s.price.currency().code()),
                    small(s.buffer_before.get(), "buffer")?,
                    small(s.buffer_after.get(), "buffer")?,
                ],
            ),
            CatalogRecord::Product(p) => (
                "products",
                &["id", "tenant_id", "name", "price_minor", "currency"],
                "(id)",
                vec![
                    Arg::Uuid(p.id.as_uuid()),
                    t,
                    text(p.name.as_str()),
                    Arg::I64(p.price.amount_minor()),
                    text(p.price.currency().code()),
                ],
            ),
            CatalogRecord::Schedule(l) => (
                "resource_branches",
                &["tenant_id", "resource_id", "branch_id", "schedule"],
                "(tenant_id, resource_id, branch_id)",
                vec![
                    t,
                    Arg::Uuid(l.resource_id.as_uuid()),
                    Arg::Uuid(l.branch_id.as_uuid()),
                    Arg::Json(serde_json::to_value(&l.schedule).map_err(|e| {
                        StoreError::Internal(format!("cannot encode a schedule: {e}"))
                    })?),
                ],
            ),
            CatalogRecord::ServicePrice(p) => (
                "service_branches",
                &[
                    "tenant_id",
                    "service_id",
                    "branch_id",
                    "price_minor",
                    "currency",
                ],
                "(tenant_id, service_id, branch_id)",
                vec![
                    t,
                    Arg::Uuid(p.service_id.as_uuid()),
                    Arg::Uuid(p.branch_id.as_uuid()),
                    Arg::I64(p.price.amount_minor()),
                    text(p.price.currency().code()),
                ],
            ),
            CatalogRecord::Stock(s) => (
                "product_branches",
                &[
                    "tenant_id",
                    "product_id",
                    "branch_id",
                    "stock",
                    "price_minor",
                    "currency",
                ],
                "(tenant_id, product_id, branch_id)",
                vec![
                    t,
                    Arg::Uuid(s.product_id.as_uuid()),
                    Arg::Uuid(s.branch_id.as_uuid()),
                    small(s.stock, "stock")?,
                    Arg::OptI64(s.price.map(|p| p.amount_minor())),
                    Arg::OptText(s.price.map(|p| p.currency().code().to_owned())),
                ],
            ),
            CatalogRecord::ServiceResource(l) => (
                "service_resources",
                &["tenant_id", "service_id", "resource_id"],
                "(tenant_id, service_id, resource_id)",
                vec![
                    t,
                    Arg::Uuid(l.service_id.as_uuid()),
                    Arg::Uuid(l.resource_id.as_uuid()),
                ],
            ),
            CatalogRecord::Settings(s) => (
                "tenant_settings",
                &[
                    "tenant_id",
                    "min_notice_minutes",
                    "horizon_days",
                    "hold_minutes",
                    "max_active_holds_per_key",
                ],
                "(tenant_id)",
                vec![
                    t,
                    small(s.min_notice_minutes(), "notice")?,
                    small(s.horizon_days(), "horizon")?,
                    small(s.hold_minutes(), "hold")?,
                    small(s.max_active_holds_per_key(), "holds")?,
                ],
            ),
        };
    let key: Vec<&str> = conflict
        .trim_matches(|c| c == '(' || c == ')')
        .split(", ")
        .collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c) && **c != "tenant_id")
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    // A row keyed by its own id may exist under another tenant: leave it.
    let guard = if key == ["id"] {
        format!(" WHERE {table}.tenant_id = excluded.tenant_id")
    } else {
        String::new()
    };
    // A row that is all key (a link) has nothing to update; touching it
    // still reports it, as every upsert must (no row: another tenant's).
    let updates = if updates.is_empty() {
        vec!["tenant_id = excluded.tenant_id".to_owned()]
    } else {
        updates
    };
    let on_conflict = format!("DO UPDATE SET {}{guard}", updates.join(", "));
    Ok(Query {
        sql: format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT {conflict} {on_conflict}",
            columns.join(", "),
            params(d, columns.len()),
        ),
        args,
    })
}

#[cfg(test)]
mod tests {
    use booking_core::{Branch, BranchId, Name};

    use super::*;

    #[test]
    fn an_upsert_keyed_by_id_leaves_another_tenants_row_alone() {
        let branch = CatalogRecord::Branch(Branch {
            id: BranchId::generate(),
            tenant_id: TenantId::generate(),
            name: Name::new("Madrid").unwrap(),
            time_zone: chrono_tz::Europe::Madrid,
        });
        let q = upsert(Dialect::Postgres, &branch).unwrap();
        assert_eq!(
            q.sql,
            "INSERT INTO branches (id, tenant_id, name, time_zone) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone \
             WHERE branches.tenant_id = excluded.tenant_id"
        );
        assert_eq!(q.args.len(), 4);
        let q = upsert(Dialect::Sqlite, &branch).unwrap();
        assert!(q.sql.contains("VALUES (?1, ?2, ?3, ?4)"), "{}", q.sql);
    }

    #[test]
    fn lists_filter_order_and_lock_by_dialect() {
        let b = BranchId::generate();
        let t = TenantId::generate();
        let q = list(Dialect::Postgres, t, CatalogList::StockAt(b), true);
        assert_eq!(
            q.sql,
            "SELECT * FROM product_branches WHERE tenant_id = $1 AND branch_id = $2 \
             ORDER BY product_id FOR UPDATE"
        );
        let q = list(Dialect::Sqlite, t, CatalogList::StockAt(b), true);
        assert!(q.sql.ends_with("ORDER BY product_id"), "{}", q.sql);
    }
}
