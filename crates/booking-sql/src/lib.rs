//! # booking-sql
//!
//! What the SQL stores (`booking-postgres`, `booking-sqlite`) have in common,
//! written once: the schema is the same on both, so the catalog's table
//! layout and its queries, and the decoding of rows into domain types, live
//! here. What differs stays in each store: the driver, placeholders
//! ([`Dialect`]), row locks, time and range types, and the reservation
//! queries that use them.
//!
//! - [`Columns`]: a row as a store reads it (each store implements it for
//!   its driver's row type). [`decode`] turns rows into domain types and
//!   re-validates every value through the domain constructors; a value that
//!   fails is reported as corrupt, never coerced.
//! - [`catalog`]: for a [`booking_core::CatalogKey`] or
//!   [`booking_core::CatalogList`], the SQL to select, upsert, delete or
//!   find references, with the arguments to bind ([`Arg`]).
//!
//! ## Layout
//!
//! `columns.rs` the row reader and [`Arg`]; `decode.rs` rows → domain
//! types; `catalog.rs` the catalog's queries.

#![forbid(unsafe_code)]

pub mod catalog;
mod columns;
pub mod decode;

pub use columns::{Arg, Columns, Dialect, JsonRow, corrupt, int};

/// The columns [`decode::api_key`] reads.
pub const API_KEY_COLUMNS: &str = "id, tenant_id, role, actor, created_at, expires_at, revoked_at";

/// The columns [`decode::reservation`] reads, in order.
pub const RESERVATION_COLUMNS: &str = "id, tenant_id, branch_id, resource_id, service_id, \
    starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, lines, price, status, \
    hold_expires_at, note, version, created_by, created_by_key, created_at, updated_at";
