//! Holds: a slot (and its stock) kept for someone filling in a booking.
//! `POST /v1/holds` places one (the reservation body; it lasts the tenant's
//! `hold_minutes` unless `hold_minutes` says otherwise), `POST
//! /v1/holds/{id}/confirm` turns it into a booking, `POST
//! /v1/holds/{id}/extend` gives it more time, `DELETE /v1/holds/{id}` lets
//! it go at once. Each answers the reservation with its `expires_at`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use booking_core::Booked;

use super::reservations::{Change, etagged, make_change, new_reservation, reservation_id};
use crate::auth::Caller;
use crate::dto::ReservationBody;
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::HoldView;

fn hold(status: StatusCode, b: &Booked) -> Response {
    etagged(
        status,
        Json(HoldView::new(&b.reservation, b.degraded)),
        &b.reservation,
        b.degraded,
    )
}

#[utoipa::path(
    post,
    path = "/v1/holds",
    tag = "holds",
    summary = "Hold a slot (and its stock) while a booking is filled in",
    description = "Blocks the slot and reserves the stock like a booking until `expires_at` \
                   (the tenant's `hold_minutes`, or `hold_minutes` in the body). A key keeps at \
                   most the tenant's `max_active_holds_per_key` unexpired holds (429 \
                   `hold-quota`).",
    request_body = ReservationBody,
    responses(
        (status = 201, description = "Held; `Location` names it", body = HoldView),
        (status = 429, description = "`hold-quota`: the key keeps as many holds as allowed", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create_hold(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ReservationBody>,
) -> Result<Response, Problem> {
    let request = new_reservation(&s, &caller, &b)?;
    let held = s.services.bookings().hold(request).await?;
    let mut response = hold(StatusCode::CREATED, &held);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/holds/{}", held.reservation.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/v1/holds/{id}/confirm",
    tag = "holds",
    summary = "Turn a hold into a booking",
    params(("id" = String, Path, description = "The hold")),
    responses(
        (status = 200, description = "Booked", body = HoldView),
        (status = 409, description = "`hold-expired`: it ran out; `invalid-transition`: not a hold", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn confirm_hold(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let booked = make_change(&s, &caller, &raw, &headers, Change::Confirm).await?;
    Ok(hold(StatusCode::OK, &booked))
}

#[utoipa::path(
    post,
    path = "/v1/holds/{id}/extend",
    tag = "holds",
    summary = "Give a hold the tenant's hold_minutes more, from now",
    params(("id" = String, Path, description = "The hold")),
    responses(
        (status = 200, description = "Extended: the new `expires_at`", body = HoldView),
        (status = 409, description = "`hold-expired`: it ran out; `invalid-transition`: not a hold", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn extend_hold(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let extended = make_change(&s, &caller, &raw, &headers, Change::Extend).await?;
    Ok(hold(StatusCode::OK, &extended))
}

#[utoipa::path(
    delete,
    path = "/v1/holds/{id}",
    tag = "holds",
    summary = "Let a hold go at once (its slot and stock are free)",
    params(("id" = String, Path, description = "The hold")),
    responses(
        (status = 204, description = "Released (or it had run out or been released already)"),
        (status = 409, description = "`invalid-transition`: a booking, not a hold (cancel it instead)", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn release_hold(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.must_book()?;
    s.services
        .bookings()
        .release(caller.tenant(), reservation_id(&raw)?, caller.by())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
