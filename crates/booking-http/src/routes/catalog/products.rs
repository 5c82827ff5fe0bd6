//! Products, and their stock and price at each branch.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use booking_core::{
    CatalogKey, CatalogRecord, Product, ProductId, PutMode, Quantity, StockChange, StockOp,
};

use super::super::created;
use super::{branch_id, product_id, put, remove};
use crate::auth::Caller;
use crate::dto::{self, ProductBody, RestockBody, StockBody};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{ItemPage, ProductView, StockChangedView};

#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "catalog",
    summary = "Create a product",
    request_body = ProductBody,
    responses(
        (status = 201, description = "Success", body = ProductView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create_product(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ProductBody>,
) -> Result<Response, Problem> {
    caller.must_administer()?;
    let product = Product {
        id: ProductId::from_uuid(caller.created_uuid()),
        tenant_id: caller.tenant(),
        name: dto::name("name", &b.name)?,
        price: b.price.parse("price")?,
    };
    let product = match super::create(&s, &caller, CatalogRecord::Product(product)).await? {
        CatalogRecord::Product(stored) => stored,
        other => return Err(Problem::internal(&format!("a product id holds {other:?}"))),
    };
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
        crate::views::Problems,
    )
)]
pub(crate) async fn update_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ProductBody>,
) -> Result<Json<ProductView>, Problem> {
    caller.must_administer()?;
    // Every field is in the body; the write refuses an unknown id.
    let product = Product {
        id: product_id(&raw)?,
        tenant_id: caller.tenant(),
        name: dto::name("name", &b.name)?,
        price: b.price.parse("price")?,
    };
    put(
        &s,
        &caller,
        CatalogRecord::Product(product.clone()),
        PutMode::Update,
    )
    .await?;
    Ok(Json(ProductView::from(&product)))
}

#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "catalog",
    summary = "List products, by id, a page at a time",
    params(super::PageParams),
    responses(
        (status = 200, description = "Success", body = ItemPage<ProductView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn list_products(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<ItemPage<ProductView>>, Problem> {
    let page = super::page_of(
        &s,
        &caller,
        booking_core::CatalogList::Products,
        &params,
        |r| match r {
            CatalogRecord::Product(item) => Some(ProductView::from(item)),
            _ => None,
        },
    )
    .await?;
    Ok(Json(page))
}

#[utoipa::path(
    get,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Get a product",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ProductView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ProductView>, Problem> {
    Ok(Json(
        (&s.services
            .catalog()
            .product(caller.tenant(), product_id(&raw)?)
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
        crate::views::Problems,
    )
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
        crate::views::Problems,
    )
)]
pub(crate) async fn restock(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw_product, raw_branch)): Path<(String, String)>,
    Body(b): Body<RestockBody>,
) -> Result<Json<StockChangedView>, Problem> {
    caller.must_administer()?;
    let quantity = Quantity::new(b.quantity).map_err(|e| Problem::invalid("quantity", e))?;
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
        tenant_id: caller.tenant(),
        product_id: product_id(raw_product)?,
        branch_id: branch_id(raw_branch)?,
        op,
        by: caller.by(),
        at: s.services.catalog().now(),
    };
    let (record, events) = s.services.catalog().adjust_stock(&change).await?;
    Ok(Json(StockChangedView::new(
        &record,
        events.last().map(|e| e.seq.0),
    )))
}

#[utoipa::path(
    delete,
    path = "/v1/products/{id}",
    tag = "catalog",
    summary = "Delete a product no reservation uses, with its links",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`in-use`: reservations refer to it", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn delete_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    remove(&s, &caller, CatalogKey::Product(product_id(&raw)?)).await
}

#[utoipa::path(
    delete,
    path = "/v1/products/{id}/branches/{branch_id}",
    tag = "catalog",
    summary = "Stop selling a product at a branch, removing its stock there (refused while reservations refer to it)",
    params(("id" = String, Path, description = "The id"), ("branch_id" = String, Path, description = "The branch")),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`in-use`: reservations refer to it", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn stop_selling(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, raw_branch)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    remove(
        &s,
        &caller,
        CatalogKey::Stock(booking_core::StockKey {
            product_id: product_id(&raw)?,
            branch_id: branch_id(&raw_branch)?,
        }),
    )
    .await
}
