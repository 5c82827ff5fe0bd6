//! Resources, and where (and when) they work.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use booking_core::{
    CatalogKey, CatalogRecord, PutMode, Resource, ResourceBranch, ResourceId, ResourceKind,
};

use super::super::created;
use super::{branch_id, put, remove, resource_id};
use crate::auth::Caller;
use crate::dto::{self, ResourceBody, ScheduleBody};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{ItemPage, ResourceView, ScheduleLinkView};

#[utoipa::path(
    post,
    path = "/v1/resources",
    tag = "catalog",
    summary = "Create a resource",
    request_body = ResourceBody,
    responses(
        (status = 201, description = "Success", body = ResourceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create_resource(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ResourceBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let resource = Resource {
        id: ResourceId::from_uuid(caller.created_uuid()),
        tenant_id: caller.tenant(),
        name: dto::name("name", &b.name)?,
        kind: b.kind.unwrap_or(ResourceKind::Staff),
    };
    let resource = match super::create(&s, &caller, CatalogRecord::Resource(resource)).await? {
        CatalogRecord::Resource(stored) => stored,
        other => return Err(Problem::internal(&format!("a resource id holds {other:?}"))),
    };
    Ok(created(&ResourceView::from(&resource)))
}

#[utoipa::path(
    put,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Update a resource",
    params(("id" = String, Path, description = "The id")),
    request_body = ResourceBody,
    responses(
        (status = 200, description = "Success", body = ResourceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn update_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ResourceBody>,
) -> Result<Json<ResourceView>, Problem> {
    caller.must_administer()?;
    let current = s
        .services
        .catalog()
        .resource(caller.tenant(), resource_id(&raw)?)
        .await?;
    let resource = Resource {
        name: dto::name("name", &b.name)?,
        kind: b.kind.unwrap_or(current.kind),
        ..current
    };
    put(
        &s,
        &caller,
        CatalogRecord::Resource(resource.clone()),
        PutMode::Update,
    )
    .await?;
    Ok(Json(ResourceView::from(&resource)))
}

#[utoipa::path(
    get,
    path = "/v1/resources",
    tag = "catalog",
    summary = "List resources, by id, a page at a time",
    params(super::PageParams),
    responses(
        (status = 200, description = "Success", body = ItemPage<ResourceView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn list_resources(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<ItemPage<ResourceView>>, Problem> {
    let page = super::page_of(
        &s,
        &caller,
        booking_core::CatalogList::Resources,
        &params,
        |r| match r {
            CatalogRecord::Resource(item) => Some(ResourceView::from(item)),
            _ => None,
        },
    )
    .await?;
    Ok(Json(page))
}

#[utoipa::path(
    get,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Get a resource",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ResourceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ResourceView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .resource(caller.tenant(), resource_id(&raw)?)
            .await?)
            .into(),
    ))
}

#[utoipa::path(
    put,
    path = "/v1/resources/{id}/branches/{branch_id}",
    tag = "catalog",
    summary = "Link a resource to a branch with working hours",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "Success", body = ScheduleLinkView),
        crate::views::Problems,
    )
)]
pub(crate) async fn link_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_resource, raw_branch)): Path<(String, String)>,
    Body(b): Body<ScheduleBody>,
) -> Result<Json<ScheduleLinkView>, Problem> {
    caller.must_administer()?;
    let link = ResourceBranch {
        tenant_id: caller.tenant(),
        resource_id: resource_id(&raw_resource)?,
        branch_id: branch_id(&raw_branch)?,
        schedule: b.parse()?,
    };
    put(
        &s,
        &caller,
        CatalogRecord::Schedule(link.clone()),
        PutMode::Upsert,
    )
    .await?;
    Ok(Json((&link).into()))
}

#[utoipa::path(
    delete,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Delete a resource no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`in-use`: reservations refer to it", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn delete_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogKey::Resource(resource_id(&raw)?)).await
}

#[utoipa::path(
    delete,
    path = "/v1/resources/{id}/branches/{branch_id}",
    tag = "catalog",
    summary = "Stop a resource working at a branch (refused while reservations there refer to it)",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`in-use`: reservations refer to it", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn unlink_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, raw_branch)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    remove(
        &s,
        &caller,
        CatalogKey::Schedule(resource_id(&raw)?, branch_id(&raw_branch)?),
    )
    .await
}
