//! Branches, and what a branch offers.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use booking_core::{Branch, BranchId, CatalogKey, CatalogList, CatalogRecord, PutMode};

use super::super::created;
use super::{branch_id, put, remove};
use crate::auth::Caller;
use crate::dto::{self, BranchBody};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{BranchView, ItemPage, OfferView};

#[utoipa::path(
    post,
    path = "/v1/branches",
    tag = "catalog",
    summary = "Create a branch",
    request_body = BranchBody,
    responses(
        (status = 201, description = "Success", body = BranchView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create_branch(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<BranchBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let branch = Branch {
        id: BranchId::from_uuid(caller.created_uuid()),
        tenant_id: caller.tenant(),
        name: dto::name("name", &b.name)?,
        time_zone: b.time_zone()?,
    };
    let branch = match super::create(&s, &caller, CatalogRecord::Branch(branch)).await? {
        CatalogRecord::Branch(stored) => stored,
        other => return Err(Problem::internal(&format!("a branch id holds {other:?}"))),
    };
    Ok(created(&BranchView::from(&branch)))
}

#[utoipa::path(
    put,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Update a branch",
    params(("id" = String, Path, description = "The id")),
    request_body = BranchBody,
    responses(
        (status = 200, description = "Success", body = BranchView),
        crate::views::Problems,
    )
)]
pub(crate) async fn update_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<BranchBody>,
) -> Result<Json<BranchView>, Problem> {
    caller.must_administer()?;
    // The body names every field, so there is nothing to read first: an
    // update of an id the tenant does not have is refused by the write.
    let branch = Branch {
        id: branch_id(&raw)?,
        tenant_id: caller.tenant(),
        name: dto::name("name", &b.name)?,
        time_zone: b.time_zone()?,
    };
    put(
        &s,
        &caller,
        CatalogRecord::Branch(branch.clone()),
        PutMode::Update,
    )
    .await?;
    Ok(Json(BranchView::from(&branch)))
}

#[utoipa::path(
    get,
    path = "/v1/branches",
    tag = "catalog",
    summary = "List branches, by id, a page at a time",
    params(super::PageParams),
    responses(
        (status = 200, description = "Success", body = ItemPage<BranchView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn list_branches(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<ItemPage<BranchView>>, Problem> {
    let page = super::page_of(&s, &caller, CatalogList::Branches, &params, |r| match r {
        CatalogRecord::Branch(item) => Some(BranchView::from(item)),
        _ => None,
    })
    .await?;
    Ok(Json(page))
}

#[utoipa::path(
    get,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Get a branch",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = BranchView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<BranchView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .branch(caller.tenant(), branch_id(&raw)?)
            .await?)
            .into(),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Delete a branch no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`in-use`: reservations refer to it", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn delete_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogKey::Branch(branch_id(&raw)?)).await
}

/// What staff see after picking a branch: who works there (with hours),
/// services at the branch's price, products with the branch's stock and
/// price.
#[utoipa::path(
    get,
    path = "/v1/branches/{id}/catalog",
    tag = "catalog",
    summary = "What a branch offers: resources, services and products at its prices",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = OfferView),
        crate::views::Problems,
    )
)]
pub(crate) async fn branch_catalog(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<OfferView>, Problem> {
    let offer = s
        .services
        .catalog()
        .branch_offer(caller.tenant(), branch_id(&raw)?)
        .await?;
    Ok(Json((&offer).into()))
}
