//! Handlers: parse at the edge, call the use cases or the store port,
//! answer JSON. No SQL and no business rules here.

pub(crate) mod availability;
pub(crate) mod catalog;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod holds;
pub(crate) mod keys;
pub(crate) mod reservations;

use std::str::FromStr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use booking_core::Entity;
use serde::Serialize;

use crate::problem::Problem;

/// Parses a path id. A malformed id names nothing, so it is "not found".
pub(crate) fn id<T: FromStr>(
    raw: &str,
    entity: impl Fn(T) -> Entity,
    nil: T,
) -> Result<T, Problem> {
    match raw.parse::<T>() {
        Ok(id) => Ok(id),
        Err(_) => Err(Problem::not_found(entity(nil))),
    }
}

/// 201 with the created object.
pub(crate) fn created<T: Serialize>(value: &T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// The `limit` query parameter: `default` when absent, else 1 to `max`.
pub(crate) fn limit(
    params: &std::collections::HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, Problem> {
    match params.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Problem::invalid("limit", format!("use 1 to {max}"))),
    }
}

/// Refuses a query parameter that is not one of `known` (a typo such as
/// `?branch=` must not be silently ignored and answered unfiltered).
///
/// # Errors
/// 422 naming the parameter.
pub(crate) fn only_known(
    params: &std::collections::HashMap<String, String>,
    known: &[&str],
) -> Result<(), Problem> {
    let mut unknown: Vec<&String> = params
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(name) => Err(Problem::invalid(
            name.as_str(),
            format!("unknown parameter; use {}", known.join(", ")),
        )),
    }
}
