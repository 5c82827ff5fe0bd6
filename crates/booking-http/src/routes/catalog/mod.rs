//! Catalog administration (admin keys) and the branch offer staff see,
//! one file per resource; this file the pieces they share.

mod branches;
mod history;
mod products;
mod resources;
mod services;

use axum::http::StatusCode;
use booking_core::{
    BranchId, CatalogKey, CatalogRecord, Entity, ProductId, PutMode, ResourceId, ServiceId,
};
use uuid::Uuid;

pub(crate) use branches::*;
pub(crate) use history::*;
pub(crate) use products::*;
pub(crate) use resources::*;
pub(crate) use services::*;

use super::id;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::state::AppState;

pub(super) fn branch_id(raw: &str) -> Result<BranchId, Problem> {
    id(raw, Entity::Branch, BranchId::from_uuid(Uuid::nil()))
}
pub(super) fn resource_id(raw: &str) -> Result<ResourceId, Problem> {
    id(raw, Entity::Resource, ResourceId::from_uuid(Uuid::nil()))
}
pub(super) fn service_id(raw: &str) -> Result<ServiceId, Problem> {
    id(raw, Entity::Service, ServiceId::from_uuid(Uuid::nil()))
}
pub(super) fn product_id(raw: &str) -> Result<ProductId, Problem> {
    id(raw, Entity::Product, ProductId::from_uuid(Uuid::nil()))
}

/// `?limit=&cursor=` of an item list, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only documented
pub(crate) struct PageParams {
    /// At most this many (1 to 500, default 100).
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// One page of the caller's `list` (branches, resources, services or
/// products) as `view` shows its items, with the cursor to the next page.
pub(super) async fn page_of<T: utoipa::ToSchema>(
    s: &AppState,
    caller: &Caller,
    list: booking_core::CatalogList,
    params: &std::collections::HashMap<String, String>,
    view: impl Fn(&CatalogRecord) -> Option<T>,
) -> Result<crate::views::ItemPage<T>, Problem> {
    super::only_known(params, &["limit", "cursor"])?;
    let limit = super::limit(params, 100, 500)?;
    let after = match params.get("cursor") {
        None => None,
        Some(c) => Some(c.parse::<Uuid>().map_err(|_| {
            Problem::invalid("cursor", "pass back the next_cursor of a previous page")
        })?),
    };
    let records = s
        .services
        .catalog()
        .page(
            caller.tenant(),
            list,
            booking_core::CatalogPage { after, limit },
        )
        .await?;
    let next_cursor = if records.len() == limit {
        records
            .last()
            .and_then(booking_core::item_id)
            .map(|id| id.to_string())
    } else {
        None
    };
    Ok(crate::views::ItemPage {
        items: records.iter().filter_map(view).collect(),
        next_cursor,
    })
}

/// Deletes an unused catalog record (admins only).
pub(super) async fn remove(
    s: &AppState,
    caller: &Caller,
    key: CatalogKey,
) -> Result<StatusCode, Problem> {
    caller.must_administer()?;
    s.services
        .catalog()
        .delete(caller.tenant(), key, &caller.by())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Writes a catalog record through the use case, as the caller.
pub(super) async fn put(
    s: &AppState,
    caller: &Caller,
    record: CatalogRecord,
    mode: PutMode,
) -> Result<(), Problem> {
    s.services
        .catalog()
        .put(&record, mode, &caller.by())
        .await?;
    Ok(())
}

/// Creates `record` and returns it as stored: the record itself, or — for
/// a retried request whose first attempt made it (its answer lost) — what
/// that attempt made, as it is now.
pub(super) async fn create(
    s: &AppState,
    caller: &Caller,
    record: CatalogRecord,
) -> Result<CatalogRecord, Problem> {
    let before = s
        .services
        .catalog()
        .put(&record, PutMode::Create, &caller.by())
        .await?;
    Ok(before.unwrap_or(record))
}
