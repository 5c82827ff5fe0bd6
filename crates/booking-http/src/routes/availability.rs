//! `GET /v1/availability`: a branch's free slots; `GET|PUT /v1/settings`:
//! the tenant's booking settings that shape them.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse as _;
use booking_core::service::{MAX_SLOTS, MIN_STEP_MINUTES};
use booking_core::{
    AvailabilityRequest, BranchId, CatalogRecord, Minutes, PutMode, RangeLimits, ResourceId,
    ServiceId, SlotKind, TenantSettings, TimeRange,
};
use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::dto::SettingsBody;
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{AvailabilityView, SettingsView};

/// The question's parameters, as documented (parsed by hand from the raw
/// pairs, so `resource_id` may repeat and an unknown parameter is refused).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only documented
pub(crate) struct AvailabilityParams {
    /// The branch.
    branch_id: String,
    /// The first start asked for (RFC 3339).
    from: DateTime<Utc>,
    /// Starts before this (RFC 3339); at most 31 days after `from`.
    to: DateTime<Utc>,
    /// The service: its duration, buffers and the resources that perform
    /// it. Give this or `duration_minutes`.
    service_id: Option<String>,
    /// A plain duration (1 to 1440 minutes), without buffers.
    duration_minutes: Option<u32>,
    /// Only this resource; repeat for several (at most 100). Without it,
    /// every resource at the branch that can serve (at most 100).
    resource_id: Option<String>,
    /// The grid, in local minutes of the day (5 to 1440, default 15).
    step_minutes: Option<u32>,
    /// The most slots in the answer (1 to 10000, the default): the rest
    /// start at its `next_from`. The slots of one start are never split.
    limit: Option<u32>,
}

fn uuid<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, Problem> {
    value
        .parse()
        .map_err(|_| Problem::invalid(field, "not a UUID"))
}

fn minutes(field: &str, value: &str, min: u32) -> Result<Minutes, Problem> {
    value
        .parse::<u32>()
        .ok()
        .filter(|m| *m >= min)
        .and_then(|m| Minutes::new(m).ok())
        .ok_or_else(|| Problem::invalid(field, format!("use {min} to 1440 minutes")))
}

fn slot_limit(value: &str) -> Result<usize, Problem> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_SLOTS).contains(n))
        .ok_or_else(|| Problem::invalid("limit", format!("use 1 to {MAX_SLOTS}")))
}

fn instant(field: &str, value: &str) -> Result<DateTime<Utc>, Problem> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Problem::invalid(
                field,
                "use an RFC 3339 time, e.g. 2031-03-10T00:00:00+01:00",
            )
        })
}

/// Parses the question; every refusal names its parameter.
fn parse(caller: &Caller, pairs: &[(String, String)]) -> Result<AvailabilityRequest, Problem> {
    let (mut branch, mut from, mut to, mut service, mut duration, mut step) =
        (None, None, None, None, None, None);
    let mut limit = None;
    let mut resources: Vec<ResourceId> = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "branch_id" => branch = Some(uuid::<BranchId>(name, value)?),
            "from" => from = Some(instant(name, value)?),
            "to" => to = Some(instant(name, value)?),
            "service_id" => service = Some(uuid::<ServiceId>(name, value)?),
            "duration_minutes" => duration = Some(minutes(name, value, 1)?),
            "step_minutes" => step = Some(minutes(name, value, MIN_STEP_MINUTES)?),
            "limit" => limit = Some(slot_limit(value)?),
            "resource_id" => {
                let id = uuid::<ResourceId>(name, value)?;
                if !resources.contains(&id) {
                    resources.push(id);
                }
            }
            other => {
                return Err(Problem::invalid(
                    other,
                    "unknown parameter; use branch_id, from, to, service_id, duration_minutes, \
                     resource_id, step_minutes or limit",
                ));
            }
        }
    }
    let required = |field: &str| Problem::invalid(field, "required");
    let (from, to) = (
        from.ok_or_else(|| required("from"))?,
        to.ok_or_else(|| required("to"))?,
    );
    let max_days = booking_core::service::MAX_WINDOW.num_days();
    let window = TimeRange::new(
        from,
        to,
        &RangeLimits::with_max(booking_core::service::MAX_WINDOW),
    )
    .map_err(|e| match e {
        booking_core::RangeError::TooLong { .. } => {
            Problem::invalid("to", format!("at most {max_days} days after from"))
        }
        other => Problem::invalid("to", other),
    })?;
    if resources.len() > booking_core::service::MAX_RESOURCES {
        return Err(Problem::invalid(
            "resource_id",
            format!("at most {} resources", booking_core::service::MAX_RESOURCES),
        ));
    }
    let kind = match (service, duration) {
        (Some(s), None) => SlotKind::Service(s),
        (None, Some(d)) => SlotKind::Duration(d),
        (Some(_), Some(_)) => {
            return Err(Problem::invalid(
                "duration_minutes",
                "give a service_id or a duration_minutes, not both",
            ));
        }
        (None, None) => {
            return Err(Problem::invalid(
                "service_id",
                "give a service_id or a duration_minutes",
            ));
        }
    };
    Ok(AvailabilityRequest {
        tenant_id: caller.tenant(),
        branch_id: branch.ok_or_else(|| required("branch_id"))?,
        kind,
        resources,
        window,
        step: step.unwrap_or(Minutes::new(15).map_err(|e| Problem::invalid("step_minutes", e))?),
        limit: limit.unwrap_or(MAX_SLOTS),
    })
}

#[utoipa::path(
    get,
    path = "/v1/availability",
    tag = "availability",
    summary = "A branch's free slots for a service or a duration",
    description = "Starts on the step grid in the branch's local time where the slot and its \
                   buffers fit the resource's hours and overlap nothing active of it at any \
                   branch (unexpired holds included), no sooner than the tenant's minimum notice \
                   and no later than its horizon. Across DST: a local time that does not exist \
                   starts no slot, one that happens twice starts two; durations are elapsed time.",
    params(AvailabilityParams),
    responses(
        (status = 200, description = "The free slots, by start, then by resource (at most `limit`; the rest from `next_from`)", body = AvailabilityView<'_>),
        crate::views::Problems,
    )
)]
pub(crate) async fn availability(
    State(s): State<AppState>,
    caller: Caller,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<axum::response::Response, Problem> {
    let request = parse(&caller, &pairs)?;
    let found = s.services.bookings().availability(&request).await?;
    Ok(Json(AvailabilityView::from(&found)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/settings",
    tag = "settings",
    summary = "The tenant's booking settings (admin keys)",
    responses(
        (status = 200, description = "Success", body = SettingsView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get_settings(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<SettingsView>, Problem> {
    caller.must_administer()?;
    let settings = s.services.catalog().settings(caller.tenant()).await?;
    Ok(Json((&settings).into()))
}

#[utoipa::path(
    put,
    path = "/v1/settings",
    tag = "settings",
    summary = "Replace the tenant's booking settings (admin keys; recorded as SettingsChanged)",
    request_body = SettingsBody,
    responses(
        (status = 200, description = "Success", body = SettingsView),
        crate::views::Problems,
    )
)]
pub(crate) async fn put_settings(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<SettingsBody>,
) -> Result<Json<SettingsView>, Problem> {
    caller.must_administer()?;
    let settings = TenantSettings::new(
        caller.tenant(),
        b.min_notice_minutes,
        b.horizon_days,
        b.hold_minutes,
        b.max_active_holds_per_key,
    )?;
    s.services
        .catalog()
        .put(
            &CatalogRecord::Settings(settings),
            PutMode::Update,
            &caller.by(),
        )
        .await?;
    Ok(Json((&settings).into()))
}
