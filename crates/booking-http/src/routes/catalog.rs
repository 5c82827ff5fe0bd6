//! Catalog administration (admin keys) and the branch catalog staff see.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use booking_core::{
    Branch, BranchId, CatalogItem, CatalogRecord, Entity, Product, ProductId, PutMode, Resource,
    ResourceBranch, ResourceId, ResourceKind, ServiceId, ServiceItem, ServiceItemBranch,
    StockChange, StockOp,
};
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
use crate::views::{
    BranchView, Items, OfferView, ProductView, ResourceView, ScheduleLinkView, ServicePriceView,
    ServiceView, StockChangedView,
};

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
        (status = 201, description = "Success", body = BranchView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
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
    put(&s, CatalogRecord::Branch(branch.clone()), PutMode::Create).await?;
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
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<BranchBody>,
) -> Result<Json<BranchView>, Problem> {
    caller.must_administer()?;
    let current = s
        .services
        .catalog()
        .branch(caller.0.tenant_id, branch_id(&raw)?)
        .await?;
    let branch = Branch {
        name: dto::name("name", &b.name)?,
        time_zone: b.time_zone()?,
        ..current
    };
    put(&s, CatalogRecord::Branch(branch.clone()), PutMode::Update).await?;
    Ok(Json(BranchView::from(&branch)))
}

#[utoipa::path(
    get,
    path = "/v1/branches",
    tag = "catalog",
    summary = "List branches",
    responses(
        (status = 200, description = "Success", body = Items<BranchView>),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_branches(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<BranchView>>, Problem> {
    Ok(Json(Items {
        items: s
            .services
            .catalog()
            .branches(caller.0.tenant_id)
            .await?
            .iter()
            .map(Into::into)
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Get a branch",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = BranchView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_branch(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<BranchView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .branch(caller.0.tenant_id, branch_id(&raw)?)
            .await?)
            .into(),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/resources",
    tag = "catalog",
    summary = "Create a resource",
    request_body = ResourceBody,
    responses(
        (status = 201, description = "Success", body = ResourceView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
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
    put(
        &s,
        CatalogRecord::Resource(resource.clone()),
        PutMode::Create,
    )
    .await?;
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
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
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
        .resource(caller.0.tenant_id, resource_id(&raw)?)
        .await?;
    let resource = Resource {
        name: dto::name("name", &b.name)?,
        kind: b.kind.unwrap_or(current.kind),
        ..current
    };
    put(
        &s,
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
    summary = "List resources",
    responses(
        (status = 200, description = "Success", body = Items<ResourceView>),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_resources(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<ResourceView>>, Problem> {
    Ok(Json(Items {
        items: s
            .services
            .catalog()
            .resources(caller.0.tenant_id)
            .await?
            .iter()
            .map(Into::into)
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/resources/{id}",
    tag = "catalog",
    summary = "Get a resource",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ResourceView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ResourceView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .resource(caller.0.tenant_id, resource_id(&raw)?)
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
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn link_resource(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_resource, raw_branch)): Path<(String, String)>,
    Body(b): Body<ScheduleBody>,
) -> Result<Json<ScheduleLinkView>, Problem> {
    caller.must_administer()?;
    let link = ResourceBranch {
        tenant_id: caller.0.tenant_id,
        resource_id: resource_id(&raw_resource)?,
        branch_id: branch_id(&raw_branch)?,
        schedule: b.parse()?,
    };
    put(&s, CatalogRecord::Schedule(link.clone()), PutMode::Upsert).await?;
    Ok(Json((&link).into()))
}

#[utoipa::path(
    post,
    path = "/v1/services",
    tag = "catalog",
    summary = "Create a service",
    request_body = ServiceBody,
    responses(
        (status = 201, description = "Success", body = ServiceView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
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
    put(&s, CatalogRecord::Service(service.clone()), PutMode::Create).await?;
    Ok(created(&ServiceView::from(&service)))
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
        (status = 200, description = "Success", body = ServiceView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ServiceBody>,
) -> Result<Json<ServiceView>, Problem> {
    caller.must_administer()?;
    let current = s
        .services
        .catalog()
        .service(caller.0.tenant_id, service_id(&raw)?)
        .await?;
    let service = service_from(current.id, &caller, &b)?;
    put(&s, CatalogRecord::Service(service.clone()), PutMode::Update).await?;
    Ok(Json(ServiceView::from(&service)))
}

#[utoipa::path(
    get,
    path = "/v1/services",
    tag = "catalog",
    summary = "List services",
    responses(
        (status = 200, description = "Success", body = Items<ServiceView>),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_services(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<ServiceView>>, Problem> {
    Ok(Json(Items {
        items: s
            .services
            .catalog()
            .services(caller.0.tenant_id)
            .await?
            .iter()
            .map(Into::into)
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/services/{id}",
    tag = "catalog",
    summary = "Get a service",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ServiceView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_service(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ServiceView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .service(caller.0.tenant_id, service_id(&raw)?)
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
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn price_service(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_service, raw_branch)): Path<(String, String)>,
    Body(b): Body<PriceBody>,
) -> Result<Json<ServicePriceView>, Problem> {
    caller.must_administer()?;
    let price = ServiceItemBranch {
        tenant_id: caller.0.tenant_id,
        service_id: service_id(&raw_service)?,
        branch_id: branch_id(&raw_branch)?,
        price: b.price.parse("price")?,
    };
    put(
        &s,
        CatalogRecord::ServicePrice(price.clone()),
        PutMode::Upsert,
    )
    .await?;
    Ok(Json((&price).into()))
}

#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "catalog",
    summary = "Create a product",
    request_body = ProductBody,
    responses(
        (status = 201, description = "Success", body = ProductView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
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
    put(&s, CatalogRecord::Product(product.clone()), PutMode::Create).await?;
    Ok(created(&ProductView::from(&product)))
}

#[utoipa::path(
    put,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Update a product",
    params(("id" = String, Path, description = "The id")),
    request_body = ProductBody,
    responses(
        (status = 200, description = "Success", body = ProductView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn update_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ProductBody>,
) -> Result<Json<ProductView>, Problem> {
    caller.must_administer()?;
    let current = s
        .services
        .catalog()
        .product(caller.0.tenant_id, product_id(&raw)?)
        .await?;
    let product = Product {
        name: dto::name("name", &b.name)?,
        price: b.price.parse("price")?,
        ..current
    };
    put(&s, CatalogRecord::Product(product.clone()), PutMode::Update).await?;
    Ok(Json(ProductView::from(&product)))
}

#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "catalog",
    summary = "List products",
    responses(
        (status = 200, description = "Success", body = Items<ProductView>),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_products(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<ProductView>>, Problem> {
    Ok(Json(Items {
        items: s
            .services
            .catalog()
            .products(caller.0.tenant_id)
            .await?
            .iter()
            .map(Into::into)
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Get a product",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ProductView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn get_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ProductView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .product(caller.0.tenant_id, product_id(&raw)?)
            .await?)
            .into(),
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
        (status = 200, description = "Success", body = StockChangedView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn set_stock(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_product, raw_branch)): Path<(String, String)>,
    Body(b): Body<StockBody>,
) -> Result<Json<StockChangedView>, Problem> {
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
        (status = 200, description = "Success", body = StockChangedView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn restock(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_product, raw_branch)): Path<(String, String)>,
    Body(b): Body<RestockBody>,
) -> Result<Json<StockChangedView>, Problem> {
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
) -> Result<Json<StockChangedView>, Problem> {
    let change = StockChange {
        tenant_id: caller.0.tenant_id,
        product_id: product_id(raw_product)?,
        branch_id: branch_id(raw_branch)?,
        op,
        actor: caller.0.actor.clone(),
        at: s.services.catalog().now(),
    };
    let (record, event) = s.services.catalog().adjust_stock(&change).await?;
    Ok(Json(StockChangedView::new(&record, event.seq.0)))
}

#[utoipa::path(
    delete,
    path = "/v1/branches/{id}",
    tag = "catalog",
    summary = "Delete a branch no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = crate::views::ProblemView),
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
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = crate::views::ProblemView),
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
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = crate::views::ProblemView),
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
        (status = "4XX", description = "A refusal, as problem+json (409 in-use)", content_type = "application/problem+json", body = crate::views::ProblemView),
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
    s.services
        .catalog()
        .delete(caller.0.tenant_id, item)
        .await?;
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
        (status = 200, description = "Success", body = OfferView),
        (status = "4XX", description = "A refusal, as problem+json", content_type = "application/problem+json", body = crate::views::ProblemView),
        (status = "5XX", description = "A failure, as problem+json with the request id", content_type = "application/problem+json", body = crate::views::ProblemView),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn branch_catalog(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<OfferView>, Problem> {
    let offer = s
        .services
        .catalog()
        .branch_offer(caller.0.tenant_id, branch_id(&raw)?)
        .await?;
    Ok(Json((&offer).into()))
}

/// Writes a catalog record through the use case.
async fn put(s: &AppState, record: CatalogRecord, mode: PutMode) -> Result<(), Problem> {
    s.services.catalog().put(&record, mode).await?;
    Ok(())
}
