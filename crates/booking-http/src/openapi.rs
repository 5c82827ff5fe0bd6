//! The OpenAPI document, generated from the handlers' annotations and the
//! request types, served at `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    BranchBody, LineBody, MoneyBody, MoveBody, PriceBody, ProductBody, ReservationBody,
    ResourceBody, RestockBody, ScheduleBody, ServiceBody, StockBody,
};
use crate::routes::{catalog, events, reservations};

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bk_…")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Booking engine API",
        description = "Multi-tenant booking of resources with per-branch stock and prices. \
                       Refusals are RFC 9457 problem+json with a stable `type`."
    ),
    paths(
        catalog::create_branch, catalog::list_branches, catalog::get_branch, catalog::update_branch,
        catalog::branch_catalog,
        catalog::create_resource, catalog::list_resources, catalog::get_resource, catalog::update_resource,
        catalog::link_resource,
        catalog::create_service, catalog::list_services, catalog::get_service, catalog::update_service,
        catalog::price_service,
        catalog::create_product, catalog::list_products, catalog::get_product, catalog::update_product,
        catalog::set_stock, catalog::restock,
        catalog::delete_branch, catalog::delete_resource, catalog::delete_service, catalog::delete_product,
        reservations::create, reservations::list, reservations::get, reservations::move_reservation,
        reservations::confirm, reservations::cancel, reservations::complete, reservations::history,
        events::since,
    ),
    components(schemas(
        BranchBody, ResourceBody, ScheduleBody, ServiceBody, PriceBody, ProductBody, StockBody,
        RestockBody, MoneyBody, ReservationBody, LineBody, MoveBody
    )),
    modifiers(&BearerKey)
)]
pub(crate) struct ApiDoc;

pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
