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
