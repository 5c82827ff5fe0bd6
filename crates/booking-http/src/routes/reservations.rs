//! Reservations: create, read, list, move (If-Match), confirm, cancel,
//! complete, history.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use booking_core::{
    Booked, BranchId, Entity, MoveReservation, NewReservation, RangeLimits, Reservation,
    ReservationCursor, ReservationId, ReservationQuery, ResourceId, ServiceId, TimeRange,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::id;
use crate::auth::Caller;
use crate::dto::{self, MoveBody, ReservationBody};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{EventView, Items, ReservationPage, ReservationView};

pub(super) fn reservation_id(raw: &str) -> Result<ReservationId, Problem> {
    id(
        raw,
        Entity::Reservation,
        ReservationId::from_uuid(Uuid::nil()),
    )
}

/// The reservation as the body, its version as the `ETag` (for
/// `If-Match`), and `Booking-Degraded: true` when the lock service was not
/// there to guard the write.
fn with_etag(status: StatusCode, r: &Reservation, degraded: bool) -> Response {
    etagged(status, Json(ReservationView::new(r, degraded)), r, degraded)
}

/// `body` with the reservation's version as the `ETag` and
/// `Booking-Degraded: true` when the lock service was not there.
pub(super) fn etagged(
    status: StatusCode,
    body: impl IntoResponse,
    r: &Reservation,
    degraded: bool,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", r.version)) {
        headers.insert(header::ETAG, tag);
    }
    if degraded {
        headers.insert("booking-degraded", HeaderValue::from_static("true"));
    }
    response
}

fn booked(status: StatusCode, b: &Booked) -> Response {
    with_etag(status, &b.reservation, b.degraded)
}

/// 201 with the new reservation and its `Location`.
fn created(b: &Booked) -> Response {
    let mut response = booked(StatusCode::CREATED, b);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/reservations/{}", b.reservation.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The version in `If-Match` (`"3"` or `3`), if sent.
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| Problem::invalid("If-Match", "send the reservation's ETag, e.g. \"3\""))
}

#[utoipa::path(
    post,
    path = "/v1/reservations",
    tag = "reservations",
    summary = "Book a resource (optionally with a service and products)",
    request_body = ReservationBody,
    responses(
        (status = 201, description = "Booked (or held); `Location` names it, `ETag` is its version", body = ReservationView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ReservationBody>,
) -> Result<Response, Problem> {
    let request = new_reservation(&s, &caller, &b)?;
    let result = s.services.bookings().create(request).await?;
    Ok(created(&result))
}

/// A booking or hold asked for by `caller` with body `b`.
pub(super) fn new_reservation(
    s: &AppState,
    caller: &Caller,
    b: &ReservationBody,
) -> Result<NewReservation, Problem> {
    caller.must_book()?;
    Ok(NewReservation {
        id: Some(ReservationId::from_uuid(caller.created_uuid())),
        tenant_id: caller.tenant(),
        branch_id: BranchId::from_uuid(b.branch_id),
        resource_id: ResourceId::from_uuid(b.resource_id),
        service_id: b.service_id.map(ServiceId::from_uuid),
        range: dto::range(b.starts_at, b.ends_at, &s.booking_limits)?,
        products: b.lines()?,
        note: b.note()?,
        hold_for: b
            .hold_minutes
            .map(|m| chrono::Duration::minutes(i64::from(m))),
        override_hours: caller.override_hours(b.allow_outside_hours.unwrap_or(false))?,
        override_start: caller.override_start(),
        by: caller.by(),
    })
}

#[utoipa::path(
    get,
    path = "/v1/reservations/{id}",
    tag = "reservations",
    summary = "Get a reservation (ETag = version)",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ReservationView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, Problem> {
    let r = s
        .services
        .bookings()
        .reservation(caller.tenant(), reservation_id(&raw)?)
        .await?;
    Ok(with_etag(StatusCode::OK, &r, false))
}

fn query_uuid(params: &HashMap<String, String>, name: &str) -> Result<Option<Uuid>, Problem> {
    params
        .get(name)
        .map(|v| {
            v.parse::<Uuid>()
                .map_err(|_| Problem::invalid(name, "not a UUID"))
        })
        .transpose()
}

fn query_instant(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, Problem> {
    params
        .get(name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Problem::invalid(name, "use an RFC 3339 time such as 2026-12-01T09:00:00Z")
                })
        })
        .transpose()
}

/// `GET /v1/reservations?branch_id&resource_id&from&to&limit&cursor`.
#[utoipa::path(
    get,
    path = "/v1/reservations",
    tag = "reservations",
    summary = "List reservations by branch, resource and time window",
    params(("branch_id" = Option<String>, Query), ("resource_id" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, description = "Success", body = ReservationPage),
        crate::views::Problems,
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    super::only_known(
        &params,
        &["branch_id", "resource_id", "from", "to", "limit", "cursor"],
    )?;
    let window = match (
        query_instant(&params, "from")?,
        query_instant(&params, "to")?,
    ) {
        (Some(from), Some(to)) => Some(
            TimeRange::new(from, to, &RangeLimits::queries())
                .map_err(|e| Problem::invalid("to", e))?,
        ),
        (None, None) => None,
        _ => {
            return Err(Problem::invalid(
                "from",
                "give both from and to, or neither",
            ));
        }
    };
    let limit = super::limit(&params, 100, 500)?;
    let after = match params.get("cursor") {
        None => None,
        Some(c) => Some(parse_cursor(c).ok_or_else(|| {
            Problem::invalid("cursor", "pass back the next_cursor of a previous page")
        })?),
    };
    let query = ReservationQuery {
        branch_id: query_uuid(&params, "branch_id")?.map(BranchId::from_uuid),
        resource_id: query_uuid(&params, "resource_id")?.map(ResourceId::from_uuid),
        window,
        after,
        limit,
    };
    let items = s
        .services
        .bookings()
        .reservations(caller.tenant(), &query)
        .await?;
    let next_cursor = (items.len() == limit)
        .then(|| {
            items
                .last()
                .map(|r| format!("{}_{}", r.range.start().timestamp_micros(), r.id))
        })
        .flatten();
    Ok(Json(ReservationPage {
        items: items
            .iter()
            .map(|r| ReservationView::new(r, false))
            .collect(),
        next_cursor,
    })
    .into_response())
}

fn parse_cursor(c: &str) -> Option<ReservationCursor> {
    let (micros, id) = c.split_once('_')?;
    Some(ReservationCursor {
        starts_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id: id.parse().ok()?,
    })
}

#[utoipa::path(
    patch,
    path = "/v1/reservations/{id}",
    tag = "reservations",
    summary = "Move to a new time and/or resource (If-Match: the ETag)",
    params(("id" = String, Path, description = "The id")),
    request_body = MoveBody,
    responses(
        (status = 200, description = "Success", body = ReservationView),
        crate::views::Problems,
    )
)]
pub(crate) async fn move_reservation(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    Body(b): Body<MoveBody>,
) -> Result<Response, Problem> {
    caller.must_book()?;
    let override_hours = caller.override_hours(b.allow_outside_hours.unwrap_or(false))?;
    let range = match (b.starts_at, b.ends_at) {
        (Some(start), Some(end)) => Some(dto::range(start, end, &s.booking_limits)?),
        (None, None) => None,
        _ => {
            return Err(Problem::invalid(
                "ends_at",
                "give both starts_at and ends_at to change the time",
            ));
        }
    };
    let result = s
        .services
        .bookings()
        .move_reservation(MoveReservation {
            tenant_id: caller.tenant(),
            id: reservation_id(&raw)?,
            range,
            resource_id: b.resource_id.map(ResourceId::from_uuid),
            expected_version: if_match(&headers)?,
            override_hours,
            override_start: caller.override_start(),
            by: caller.by(),
        })
        .await?;
    Ok(booked(StatusCode::OK, &result))
}

/// Which state change a `POST /v1/reservations/{id}/…` or `POST
/// /v1/holds/{id}/…` asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Change {
    Confirm,
    Cancel,
    Complete,
    Extend,
}

/// Makes the change for a booking key, with the `If-Match` version if sent.
pub(crate) async fn make_change(
    s: &AppState,
    caller: &Caller,
    raw: &str,
    headers: &HeaderMap,
    which: Change,
) -> Result<Booked, Problem> {
    caller.must_book()?;
    let (t, id, v, actor) = (
        caller.tenant(),
        reservation_id(raw)?,
        if_match(headers)?,
        caller.by(),
    );
    let bookings = s.services.bookings();
    Ok(match which {
        Change::Confirm => bookings.confirm(t, id, v, actor).await?,
        Change::Cancel => bookings.cancel(t, id, v, actor).await?,
        Change::Complete => bookings.complete(t, id, v, actor).await?,
        Change::Extend => bookings.extend(t, id, v, actor).await?,
    })
}

async fn change(
    s: AppState,
    caller: Caller,
    raw: String,
    headers: HeaderMap,
    which: Change,
) -> Result<Response, Problem> {
    let result = make_change(&s, &caller, &raw, &headers, which).await?;
    Ok(booked(StatusCode::OK, &result))
}

#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/confirm",
    tag = "reservations",
    summary = "Confirm a hold",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ReservationView),
        crate::views::Problems,
    )
)]
pub(crate) async fn confirm(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    change(s, caller, raw, headers, Change::Confirm).await
}

#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/cancel",
    tag = "reservations",
    summary = "Cancel; frees the slot and the stock",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ReservationView),
        crate::views::Problems,
    )
)]
pub(crate) async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    change(s, caller, raw, headers, Change::Cancel).await
}

#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/complete",
    tag = "reservations",
    summary = "Mark as completed",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success", body = ReservationView),
        crate::views::Problems,
    )
)]
pub(crate) async fn complete(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    change(s, caller, raw, headers, Change::Complete).await
}

#[utoipa::path(
    get,
    path = "/v1/reservations/{id}/events",
    tag = "reservations",
    summary = "The reservation's audited history",
    params(("id" = String, Path, description = "The id")),
    responses(
        (status = 200, description = "Success: its events, oldest first", body = Items<EventView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn history(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Items<EventView>>, Problem> {
    let events = s
        .services
        .bookings()
        .history(caller.tenant(), reservation_id(&raw)?)
        .await?;
    Ok(Json(Items {
        items: events.into_iter().map(EventView).collect(),
    }))
}
