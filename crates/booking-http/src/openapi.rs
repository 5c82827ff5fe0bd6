//! The OpenAPI document's frame: title, security scheme and the request
//! types. The operations are added with their routes (`crate::api`), so
//! the document lists exactly what is routed; it is served at
//! `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    BranchBody, LineBody, MoneyBody, MoveBody, PriceBody, ProductBody, ReservationBody,
    ResourceBody, RestockBody, ScheduleBody, ServiceBody, StockBody,
};

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

/// What the document says besides its operations (which come with their
/// routes, see `crate::api`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Booking engine API",
        description = "Multi-tenant booking of resources with per-branch stock and prices. \
                       Refusals are RFC 9457 problem+json with a stable `type`."
    ),
    components(schemas(
        BranchBody, ResourceBody, ScheduleBody, ServiceBody, PriceBody, ProductBody, StockBody,
        RestockBody, MoneyBody, ReservationBody, LineBody, MoveBody
    )),
    // Every documented operation needs a key.
    security(("api_key" = [])),
    modifiers(&BearerKey)
)]
struct ApiDoc;

/// The document before operations are added.
pub(crate) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
