//! Catalog administration (admin keys) and the branch catalog staff see.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use booking_core::{
    Branch, BranchId, CatalogItem, Entity, Product, ProductId, Resource, ResourceBranch,
    ResourceId, ResourceKind, ServiceId, ServiceItem, ServiceItemBranch, StockChange, StockOp,
    pricing,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{created, id};
use crate::auth::Caller;
use crate::dto::{
    self, BranchBody, PriceBody, ProductBody, ResourceBody, RestockBody, ScheduleBody, ServiceBody,
    StockBody,
};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;

fn branch_id(raw: &str) -> Result<BranchId, Problem> {
    id(raw, Entity::Branch, BranchId::from_uuid(Uuid::nil()))
}
fn resource_id(raw: &str) -> Result<ResourceId, Problem> {
    id(raw, Entity::Resource, ResourceId::from_uuid(Uuid::nil()))
}
fn service_id(raw: &str) -> Result<ServiceId, Problem> {
    id(raw, Entity::Service, ServiceId::from_uuid(Uuid::nil()))
}
fn product_id(raw: &str) -> Result<ProductId, Problem> {
    id(raw, Entity::Product, ProductId::from_uuid(Uuid::nil()))
}

#[utoipa::path(
    post,
    path = "/v1/branches",
    tag = "catalog",
    summary = "Create a branch",
    request_body = BranchBody,
    responses(
        (status = 201, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create_branch(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<BranchBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let branch = Branch {
        id: BranchId::generate(),
        tenant_id: caller.0.tenant_id,
        name: dto::name("name", &b.name)?,
        time_zone: b.time_zone()?,
    };
    s.store.put_branch(&branch).await?;
    Ok(created(&branch))
}

#[utoipa::path(
    put,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Update a branch",
    params(("id" = String, Path, description = "The id")),
    request_body = BranchBody,
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<BranchBody>,
) -> Result<Json<Branch>, Problem> {
    caller.must_administer()?;
    let current = s.store.branch(caller.0.tenant_id, branch_id(&raw)?).await?;
    let branch = Branch {
        name: dto::name("name", &b.name)?,
        time_zone: b.time_zone()?,
        ..current
    };
    s.store.put_branch(&branch).await?;
    Ok(Json(branch))
}

#[utoipa::path(
    get,
    path = "/v1/branches",
    tag = "catalog",
    summary = "List branches",
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_branches(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    Ok(Json(
        json!({ "items": s.store.branches(caller.0.tenant_id).await? }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Get a branch",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Branch>, Problem> {
    Ok(Json(
        s.store.branch(caller.0.tenant_id, branch_id(&raw)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/resources",
    tag = "catalog",
    summary = "Create a resource",
    request_body = ResourceBody,
    responses(
        (status = 201, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create_resource(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ResourceBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let resource = Resource {
        id: ResourceId::generate(),
        tenant_id: caller.0.tenant_id,
        name: dto::name("name", &b.name)?,
        kind: b.kind.unwrap_or(ResourceKind::Staff),
    };
    s.store.put_resource(&resource).await?;
    Ok(created(&resource))
}

#[utoipa::path(
    put,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Update a resource",
    params(("id" = String, Path, description = "The id")),
    request_body = ResourceBody,
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ResourceBody>,
) -> Result<Json<Resource>, Problem> {
    caller.must_administer()?;
    let current = s
        .store
        .resource(caller.0.tenant_id, resource_id(&raw)?)
        .await?;
    let resource = Resource {
        name: dto::name("name", &b.name)?,
        kind: b.kind.unwrap_or(current.kind),
        ..current
    };
    s.store.put_resource(&resource).await?;
    Ok(Json(resource))
}

#[utoipa::path(
    get,
    path = "/v1/resources",
    tag = "catalog",
    summary = "List resources",
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_resources(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    Ok(Json(
        json!({ "items": s.store.resources(caller.0.tenant_id).await? }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Get a resource",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Resource>, Problem> {
    Ok(Json(
        s.store
            .resource(caller.0.tenant_id, resource_id(&raw)?)
            .await?,
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
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn link_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_resource, raw_branch)): Path<(String, String)>,
    Body(b): Body<ScheduleBody>,
) -> Result<Json<ResourceBranch>, Problem> {
    caller.must_administer()?;
    let link = ResourceBranch {
        tenant_id: caller.0.tenant_id,
        resource_id: resource_id(&raw_resource)?,
        branch_id: branch_id(&raw_branch)?,
        schedule: b.parse()?,
    };
    s.store.put_resource_branch(&link).await?;
    Ok(Json(link))
}

#[utoipa::path(
    post,
    path = "/v1/services",
    tag = "catalog",
    summary = "Create a service",
    request_body = ServiceBody,
    responses(
        (status = 201, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create_service(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ServiceBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let service = service_from(ServiceId::generate(), &caller, &b)?;
    s.store.put_service(&service).await?;
    Ok(created(&service))
}

fn service_from(id: ServiceId, caller: &Caller, b: &ServiceBody) -> Result<ServiceItem, Problem> {
    Ok(ServiceItem {
        id,
        tenant_id: caller.0.tenant_id,
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
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ServiceBody>,
) -> Result<Json<ServiceItem>, Problem> {
    caller.must_administer()?;
    let current = s
        .store
        .service(caller.0.tenant_id, service_id(&raw)?)
        .await?;
    let service = service_from(current.id, &caller, &b)?;
    s.store.put_service(&service).await?;
    Ok(Json(service))
}

#[utoipa::path(
    get,
    path = "/v1/services",
    tag = "catalog",
    summary = "List services",
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_services(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    Ok(Json(
        json!({ "items": s.store.services(caller.0.tenant_id).await? }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/services/{id}",
    tag = "catalog",
    summary = "Get a service",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ServiceItem>, Problem> {
    Ok(Json(
        s.store
            .service(caller.0.tenant_id, service_id(&raw)?)
            .await?,
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
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn price_service(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_service, raw_branch)): Path<(String, String)>,
    Body(b): Body<PriceBody>,
) -> Result<Json<ServiceItemBranch>, Problem> {
    caller.must_administer()?;
    let price = ServiceItemBranch {
        tenant_id: caller.0.tenant_id,
        service_id: service_id(&raw_service)?,
        branch_id: branch_id(&raw_branch)?,
        price: b.price.parse("price")?,
    };
    s.store.put_service_branch(&price).await?;
    Ok(Json(price))
}

#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "catalog",
    summary = "Create a product",
    request_body = ProductBody,
    responses(
        (status = 201, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create_product(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ProductBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let product = Product {
        id: ProductId::generate(),
        tenant_id: caller.0.tenant_id,
        name: dto::name("name", &b.name)?,
        price: b.price.parse("price")?,
    };
    s.store.put_product(&product).await?;
    Ok(created(&product))
}

#[utoipa::path(
    put,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Update a product",
    params(("id" = String, Path, description = "The id")),
    request_body = ProductBody,
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ProductBody>,
) -> Result<Json<Product>, Problem> {
    caller.must_administer()?;
    let current = s
        .store
        .product(caller.0.tenant_id, product_id(&raw)?)
        .await?;
    let product = Product {
        name: dto::name("name", &b.name)?,
        price: b.price.parse("price")?,
        ..current
    };
    s.store.put_product(&product).await?;
    Ok(Json(product))
}

#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "catalog",
    summary = "List products",
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_products(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    Ok(Json(
        json!({ "items": s.store.products(caller.0.tenant_id).await? }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Get a product",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Product>, Problem> {
    Ok(Json(
        s.store
            .product(caller.0.tenant_id, product_id(&raw)?)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v1/products/{id}/branches/{branch_id}",
    tag = "catalog",
    summary = "Set stock (and price) at a branch",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    request_body = StockBody,
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn set_stock(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_product, raw_branch)): Path<(String, String)>,
    Body(b): Body<StockBody>,
) -> Result<Json<Value>, Problem> {
    caller.must_administer()?;
    let price = b.price.as_ref().map(|p| p.parse("price")).transpose()?;
    let op = StockOp::Set {
        stock: b.stock()?,
        price,
    };
    adjust(&s, &caller, &raw_product, &raw_branch, op).await
}

#[utoipa::path(
    post,
    path = "/v1/products/{id}/branches/{branch_id}/restock",
    tag = "catalog",
    summary = "Add delivered units at a branch",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    request_body = RestockBody,
    responses(
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn restock(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_product, raw_branch)): Path<(String, String)>,
    Body(b): Body<RestockBody>,
) -> Result<Json<Value>, Problem> {
    caller.must_administer()?;
    let quantity =
        booking_core::Quantity::new(b.quantity).map_err(|e| Problem::invalid("quantity", e))?;
    adjust(
        &s,
        &caller,
        &raw_product,
        &raw_branch,
        StockOp::Restock { quantity },
    )
    .await
}

async fn adjust(
    s: &AppState,
    caller: &Caller,
    raw_product: &str,
    raw_branch: &str,
    op: StockOp,
) -> Result<Json<Value>, Problem> {
    let change = StockChange {
        tenant_id: caller.0.tenant_id,
        product_id: product_id(raw_product)?,
        branch_id: branch_id(raw_branch)?,
        op,
        actor: caller.0.actor.clone(),
        at: s.service.clock().now(),
    };
    let (record, event) = s.store.adjust_stock(&change).await?;
    s.service.publish(std::slice::from_ref(&event)).await;
    Ok(Json(json!({ "stock": record, "event_seq": event.seq })))
}

#[utoipa::path(
    delete,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Delete a branch no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn delete_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogItem::Branch(branch_id(&raw)?)).await
}

#[utoipa::path(
    delete,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Delete a resource no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn delete_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogItem::Resource(resource_id(&raw)?)).await
}

#[utoipa::path(
    delete,
    path = "/v1/services/{id}",
    tag = "catalog",
    summary = "Delete a service no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn delete_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogItem::Service(service_id(&raw)?)).await
}

#[utoipa::path(
    delete,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Delete a product no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn delete_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogItem::Product(product_id(&raw)?)).await
}

/// Deletes an unused catalog item (admins only).
async fn remove(s: &AppState, caller: &Caller, item: CatalogItem) -> Result<StatusCode, Problem> {
    caller.must_administer()?;
    s.store.delete_item(caller.0.tenant_id, item).await?;
    Ok(StatusCode::NO_CONTENT)
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
        (status = 200, description = "Success", body = Object),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = Object),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = Object),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn branch_catalog(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Value>, Problem> {
    let t = caller.0.tenant_id;
    let branch = s.store.branch(t, branch_id(&raw)?).await?;
    let mut resources = Vec::new();
    for link in s.store.branch_resources(t, branch.id).await? {
        let resource = s.store.resource(t, link.resource_id).await?;
        resources.push(json!({ "resource": resource, "schedule": link.schedule }));
    }
    let mut services = Vec::new();
    for service in s.store.services(t).await? {
        let at_branch = s.store.service_branch(t, service.id, branch.id).await?;
        let price = pricing::resolve_price(service.price, at_branch.map(|p| p.price));
        services.push(json!({ "service": service, "price": price }));
    }
    let mut products = Vec::new();
    for stock in s.store.branch_products(t, branch.id).await? {
        let product = s.store.product(t, stock.product_id).await?;
        let price = pricing::resolve_price(product.price, stock.price);
        products.push(json!({ "product": product, "stock": stock.stock, "price": price }));
    }
    Ok(Json(
        json!({ "branch": branch, "resources": resources, "services": services, "products": products }),
    ))
}
