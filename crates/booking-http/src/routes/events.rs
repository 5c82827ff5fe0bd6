//! The audit log: `GET /v1/events?since=&type=&entity_id=&actor_key_id=&limit=`
//! and one catalog item's history (`GET /v1/{branches|resources|services|
//! products}/{id}/events`, served from the catalog's routes through
//! [`item_history`]).

use axum::Json;
use axum::extract::{Query, State};
use booking_core::{ApiKeyId, CatalogKey, Event, EventQuery, EventType, Seq};
use uuid::Uuid;

use crate::auth::Caller;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{EventPage, EventView};

/// Events per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 1000;

/// A log query's parameters as sent: repeated keys kept (`type=A&type=B`).
pub(crate) type Params = Query<Vec<(String, String)>>;

/// The filters of `GET /v1/events`, as documented (they are parsed by hand
/// from [`Params`], so that `type` may repeat and an unknown parameter is
/// refused).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only documented
pub(crate) struct LogParams {
    /// Only events after this sequence number (0: from the start).
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    since: Option<u64>,
    /// The previous page's `next_cursor` (the same as `since`).
    cursor: Option<String>,
    /// Only events of these types, e.g. `ReservationCreated,StockChanged`.
    r#type: Option<String>,
    /// Only events about this record: a reservation, branch, resource,
    /// service, product or key.
    entity_id: Option<String>,
    /// Only events made with this API key.
    actor_key_id: Option<String>,
    /// At most this many (1 to 1000, default 500).
    limit: Option<u32>,
}

/// The filters of an item's history, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only documented
pub(crate) struct ItemLogParams {
    /// Only events after this sequence number (0: from the start).
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    since: Option<u64>,
    /// The previous page's `next_cursor` (the same as `since`).
    cursor: Option<String>,
    /// Only events of these types, e.g. `StockChanged`.
    r#type: Option<String>,
    /// Only events made with this API key.
    actor_key_id: Option<String>,
    /// At most this many (1 to 1000, default 500).
    limit: Option<u32>,
}

/// Parses the parameters of a log query; `entity_id` only where `entity`
/// is allowed. Unknown parameters are refused, not ignored: a misspelt
/// filter must not return the whole log.
fn parse(params: &[(String, String)], entity_allowed: bool) -> Result<EventQuery, Problem> {
    let mut query = EventQuery::since(Seq::ZERO, DEFAULT_LIMIT);
    let mut position: Option<(&str, u64)> = None;
    for (name, value) in params {
        match name.as_str() {
            "since" | "cursor" => {
                let seq = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n <= Seq::MAX.0)
                    .ok_or_else(|| {
                        Problem::invalid(name, "use the last sequence number seen (0 for all)")
                    })?;
                if let Some((other, before)) = position
                    && before != seq
                {
                    return Err(Problem::invalid(
                        name,
                        format!("{other} says {before}; send one position"),
                    ));
                }
                position = Some((name, seq));
                query.after = Seq(seq);
            }
            "type" => {
                for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    let t = t.parse::<EventType>().map_err(|_| {
                        Problem::invalid(
                            "type",
                            format!(
                                "unknown event type {t:?}; use one of {}",
                                EventType::ALL
                                    .iter()
                                    .map(|t| t.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?;
                    if !query.types.contains(&t) {
                        query.types.push(t);
                    }
                }
            }
            "entity_id" if entity_allowed => {
                query.entity = Some(
                    value
                        .parse::<Uuid>()
                        .map_err(|_| Problem::invalid("entity_id", "not a UUID"))?,
                );
            }
            "actor_key_id" => {
                query.actor_key = Some(
                    value
                        .parse::<ApiKeyId>()
                        .map_err(|_| Problem::invalid("actor_key_id", "not a UUID"))?,
                );
            }
            "limit" => {
                query.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| Problem::invalid("limit", format!("use 1 to {MAX_LIMIT}")))?;
            }
            other => {
                return Err(Problem::invalid(
                    other,
                    "unknown parameter; use since, cursor, type, entity_id, actor_key_id or limit",
                ));
            }
        }
    }
    Ok(query)
}

fn page(events: Vec<Event>, query: &EventQuery, head: Seq) -> EventPage {
    let last_seq = events.last().map_or(query.after.0, |e| e.seq.0);
    EventPage {
        head_seq: head.0.max(last_seq),
        next_cursor: (events.len() == query.limit).then(|| last_seq.to_string()),
        items: events.into_iter().map(EventView).collect(),
        last_seq,
    }
}

#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    summary = "The tenant's audit log",
    description = "Every change of the tenant — reservations, stock, the catalog, and (for admin \
                   keys) tenants and keys — in sequence order, with who made it. Filters combine; \
                   `type` may repeat or list types separated by commas. Page with `next_cursor`.",
    params(LogParams),
    responses(
        (status = 200, description = "Success", body = EventPage),
        crate::views::Problems,
    )
)]
pub(crate) async fn since(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Params,
) -> Result<Json<EventPage>, Problem> {
    let query = parse(&params, true)?;
    let head = s.services.events().head(caller.tenant()).await?;
    let events = s
        .services
        .events()
        .visible(caller.tenant(), caller.role(), query.clone())
        .await?;
    Ok(Json(page(events, &query, head)))
}

/// One catalog item's history: its own events and those of its links,
/// branch prices and stock, readable after it is deleted.
pub(crate) async fn item_history(
    s: &AppState,
    caller: &Caller,
    item: CatalogKey,
    params: &[(String, String)],
) -> Result<Json<EventPage>, Problem> {
    let query = parse(params, false)?;
    let head = s.services.events().head(caller.tenant()).await?;
    let events = s
        .services
        .events()
        .of_item(caller.tenant(), caller.role(), item, query.clone())
        .await?;
    Ok(Json(page(events, &query, head)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn types_repeat_or_come_as_a_list() {
        let q = parse(
            &pairs(&[
                ("type", "ReservationCreated,StockChanged"),
                ("type", "BranchCreated"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            q.types,
            [
                EventType::ReservationCreated,
                EventType::StockChanged,
                EventType::BranchCreated
            ]
        );
    }

    #[test]
    fn unknown_types_and_parameters_are_refused_by_name() {
        for (params, field) in [
            (pairs(&[("type", "Created")]), "type"),
            (pairs(&[("entity", "x")]), "entity"),
            (pairs(&[("limit", "0")]), "limit"),
            (pairs(&[("since", "-1")]), "since"),
            (pairs(&[("since", "9223372036854775808")]), "since"),
            (pairs(&[("since", "3"), ("cursor", "4")]), "cursor"),
            (pairs(&[("actor_key_id", "me")]), "actor_key_id"),
        ] {
            let problem = parse(&params, true).unwrap_err();
            assert_eq!(
                problem.status(),
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            );
            assert_eq!(problem.field(), Some(field), "{params:?}");
        }
        assert!(
            parse(&pairs(&[("entity_id", &Uuid::nil().to_string())]), false).is_err(),
            "an item's history names its item in the path"
        );
    }
}
