//! One catalog item's history: `GET /v1/{branches|resources|services|
//! products}/{id}/events` — the item's own events and those of its links,
//! branch prices and stock, readable after the item is deleted.

use axum::Json;
use axum::extract::{Path, Query, State};
use booking_core::CatalogKey;

use super::{branch_id, product_id, resource_id, service_id};
use crate::auth::Caller;
use crate::problem::Problem;
use crate::routes::events::{ItemLogParams, Params, item_history};
use crate::state::AppState;
use crate::views::EventPage;

/// A history route: its handler, path, summary and how its path names the
/// item.
macro_rules! history {
    ($name:ident, $path:tt, $summary:tt, $key:expr) => {
        #[utoipa::path(
            get,
            path = $path,
            tag = "catalog",
            summary = $summary,
            params(("id" = String, Path, description = "The id"), ItemLogParams),
            responses(
                (status = 200, description = "Its events, also once it is deleted", body = EventPage),
                crate::views::Problems,
            )
        )]
        pub(crate) async fn $name(
            State(s): State<AppState>,
            caller: Caller,
            Path(raw): Path<String>,
            Query(params): Params,
        ) -> Result<Json<EventPage>, Problem> {
            let item: fn(&str) -> Result<CatalogKey, Problem> = $key;
            item_history(&s, &caller, item(&raw)?, &params).await
        }
    };
}

history!(
    branch_events,
    "/v1/branches/{id}/events",
    "A branch's history: it, who works there, its prices and stock",
    |raw| Ok(CatalogKey::Branch(branch_id(raw)?))
);
history!(
    resource_events,
    "/v1/resources/{id}/events",
    "A resource's history: it, and where and when it works",
    |raw| Ok(CatalogKey::Resource(resource_id(raw)?))
);
history!(
    service_events,
    "/v1/services/{id}/events",
    "A service's history: it, and its branch prices",
    |raw| Ok(CatalogKey::Service(service_id(raw)?))
);
history!(
    product_events,
    "/v1/products/{id}/events",
    "A product's history: it, its stock and branch prices",
    |raw| Ok(CatalogKey::Product(product_id(raw)?))
);
