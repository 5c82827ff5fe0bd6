//! Services, their price at each branch, and the resources that perform
//! them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use booking_core::{
    CatalogKey, CatalogRecord, PutMode, ServiceId, ServiceItem, ServiceItemBranch, ServiceResource,
};

use super::super::created;
use super::{branch_id, put, remove, resource_id, service_id};
use crate::auth::Caller;
use crate::dto::{self, PriceBody, ServiceBody};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{ItemPage, Items, ServicePriceView, ServiceResourceView, ServiceView};

#[utoipa::path(
    post,
    path = "/v1/services",
    tag = "catalog",
    summary = "Create a service",
    request_body = ServiceBody,
    responses(
        (status = 201, description = "Success", body = ServiceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create_service(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ServiceBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let service = service_from(ServiceId::from_uuid(caller.created_uuid()), &caller, &b)?;
    let service = match super::create(&s, &caller, CatalogRecord::Service(service)).await? {
        CatalogRecord::Service(stored) => stored,
        other => return Err(Problem::internal(&format!("a service id holds {other:?}"))),
    };
    Ok(created(&ServiceView::from(&service)))
}

fn service_from(id: ServiceId, caller: &Caller, b: &ServiceBody) -> Result<ServiceItem, Problem> {
    Ok(ServiceItem {
        id,
        tenant_id: caller.tenant(),
        name: dto::name("name", &b.name)?,
        duration: dto::minutes("duration_minutes", b.duration_minutes)?,
        price: b.price.parse("price")?,
        buffer_before: dto::minutes(
            "buffer_before_minutes",
            b.buffer_before_minutes.unwrap_or(0),
        )?,
        buffer_after: dto::minutes("buffer_after_minutes", b.buffer_after_minutes.unwrap_or(0))?,
    })
}

#[utoipa::path(
    put,
    path = "/v1/services/{id}",
    tag = "catalog",
    summary = "Update a service",
    params(("id" = String, Path, description = "The id")),
    request_body = ServiceBody,
    responses(
        (status = 200, description = "Success", body = ServiceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn update_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ServiceBody>,
) -> Result<Json<ServiceView>, Problem> {
    caller.must_administer()?;
    // Every field is in the body; the write refuses an unknown id.
    let service = service_from(service_id(&raw)?, &caller, &b)?;
    put(
        &s,
        &caller,
        CatalogRecord::Service(service.clone()),
        PutMode::Update,
    )
    .await?;
    Ok(Json(ServiceView::from(&service)))
}

#[utoipa::path(
    get,
    path = "/v1/services",
    tag = "catalog",
    summary = "List services, by id, a page at a time",
    params(super::PageParams),
    responses(
        (status = 200, description = "Success", body = ItemPage<ServiceView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn list_services(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<ItemPage<ServiceView>>, Problem> {
    let page = super::page_of(
        &s,
        &caller,
        booking_core::CatalogList::Services,
        &params,
        |r| match r {
            CatalogRecord::Service(item) => Some(ServiceView::from(item)),
            _ => None,
        },
    )
    .await?;
    Ok(Json(page))
}

#[utoipa::path(
    get,
    path = "/v1/services/{id}",
    tag = "catalog",
    summary = "Get a service",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ServiceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ServiceView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .service(caller.tenant(), service_id(&raw)?)
            .await?)
            .into(),
    ))
}

#[utoipa::path(
    put,
    path = "/v1/services/{id}/branches/{branch_id}",
    tag = "catalog",
    summary = "Set a branch price for a service",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    request_body = PriceBody,
    responses(
        (status = 200, description = "Success", body = ServicePriceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn price_service(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_service, raw_branch)): Path<(String, String)>,
    Body(b): Body<PriceBody>,
) -> Result<Json<ServicePriceView>, Problem> {
    caller.must_administer()?;
    let price = ServiceItemBranch {
        tenant_id: caller.tenant(),
        service_id: service_id(&raw_service)?,
        branch_id: branch_id(&raw_branch)?,
        price: b.price.parse("price")?,
    };
    put(
        &s,
        &caller,
        CatalogRecord::ServicePrice(price.clone()),
        PutMode::Upsert,
    )
    .await?;
    Ok(Json((&price).into()))
}

#[utoipa::path(
    delete,
    path = "/v1/services/{id}",
    tag = "catalog",
    summary = "Delete a service no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`in-use`: reservations refer to it", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn delete_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogKey::Service(service_id(&raw)?)).await
}

#[utoipa::path(
    delete,
    path = "/v1/services/{id}/branches/{branch_id}",
    tag = "catalog",
    summary = "Clear a branch's own price for a service (the base price applies again)",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    responses(
        (status = 204, description = "Removed"),
        crate::views::Problems,
    )
)]
pub(crate) async fn clear_service_price(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, raw_branch)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    remove(
        &s,
        &caller,
        CatalogKey::ServicePrice(service_id(&raw)?, branch_id(&raw_branch)?),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/services/{id}/resources",
    tag = "catalog",
    summary = "The resources that perform a service (none listed: any resource may)",
    params(("id" = String, Path, description = "The service")),
    responses(
        (status = 200, description = "Success", body = Items<ServiceResourceView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn list_service_resources(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Items<ServiceResourceView>>, Problem> {
    let service = service_id(&raw)?;
    let listed = s
        .services
        .catalog()
        .service_resources(caller.tenant(), service)
        .await?;
    Ok(Json(Items {
        items: listed
            .into_iter()
            .map(|r| ServiceResourceView {
                service_id: service.as_uuid(),
                resource_id: r.as_uuid(),
            })
            .collect(),
    }))
}

#[utoipa::path(
    put,
    path = "/v1/services/{id}/resources/{resource_id}",
    tag = "catalog",
    summary = "Say that a resource performs a service (then only listed resources are offered for it)",
    params(("id" = String, Path, description = "The service"), ("resource_id" = String, Path, description = "The resource")),
    responses(
        (status = 200, description = "Success", body = ServiceResourceView),
        crate::views::Problems,
    )
)]
pub(crate) async fn add_service_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, raw_resource)): Path<(String, String)>,
) -> Result<Json<ServiceResourceView>, Problem> {
    caller.must_administer()?;
    let link = ServiceResource {
        tenant_id: caller.tenant(),
        service_id: service_id(&raw)?,
        resource_id: resource_id(&raw_resource)?,
    };
    put(
        &s,
        &caller,
        CatalogRecord::ServiceResource(link),
        PutMode::Upsert,
    )
    .await?;
    Ok(Json(ServiceResourceView {
        service_id: link.service_id.as_uuid(),
        resource_id: link.resource_id.as_uuid(),
    }))
}

#[utoipa::path(
    delete,
    path = "/v1/services/{id}/resources/{resource_id}",
    tag = "catalog",
    summary = "Say that a resource no longer performs a service",
    params(("id" = String, Path, description = "The service"), ("resource_id" = String, Path, description = "The resource")),
    responses(
        (status = 204, description = "Removed"),
        crate::views::Problems,
    )
)]
pub(crate) async fn remove_service_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, raw_resource)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    remove(
        &s,
        &caller,
        CatalogKey::ServiceResource(service_id(&raw)?, resource_id(&raw_resource)?),
    )
    .await
}
