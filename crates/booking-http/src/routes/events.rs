//! The tenant's event log: `GET /v1/events?since=N&limit=M`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use booking_core::Seq;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    summary = "The tenant's event log after a sequence number",
    params(("since" = Option<u64>, Query), ("limit" = Option<u32>, Query)),
    responses(
        (status = 200, description = "Success", body = Object),
        crate::views::Problems,
    )
)]
pub(crate) async fn since(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let since = match params.get("since") {
        None => 0,
        Some(v) => v.parse::<u64>().map_err(|_| {
            Problem::invalid("since", "use the last sequence number seen (0 for all)")
        })?,
    };
    let limit = super::limit(&params, 500, 1000)?;
    let events = s
        .services
        .bookings()
        .events_since(caller.0.tenant_id, Seq(since), limit)
        .await?;
    let last = events.last().map_or(since, |e| e.seq.0);
    Ok(Json(json!({ "items": events, "last_seq": last })))
}
