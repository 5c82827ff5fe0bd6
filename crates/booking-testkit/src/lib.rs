//! # booking-testkit
//!
//! Everything needed to test `booking-core` and its adapters (a
//! dev-dependency only; the in-memory adapters themselves are the
//! production crate `booking-memory`):
//!
//! - [`contract`]: the port contract suites every adapter must pass
//!   unchanged ([`store_contract_tests!`], [`store_race_tests!`] over
//!   several handles on one database, [`lock_contract_tests!`]).
//! - [`invariants`]: a checker for every DESIGN.md invariant, reading a
//!   store through the port only; [`catalog_log`]: the catalog as its
//!   events tell it, which the checker compares with the store's.
//! - [`strategies`]: proptest strategies for the domain types.
//! - [`fixture`]: a small clinic chain to test against; [`legacy`]: event
//!   rows as production wrote them before the audit log, which every store
//!   must still read.
//! - [`tracing_capture`]: a test's own subscriber that sibling tests cannot
//!   blind.
//!
//! ## Layout
//!
//! `src/contract/` one suite per port (`store/races.rs` the race suite).
//! The suites run in each adapter's own tests; the use-case tests and
//! property tests of the core are in `booking-core/tests`.

#![forbid(unsafe_code)]

pub mod catalog_log;
pub mod contract;
pub mod fixture;
pub mod invariants;
pub mod legacy;
pub mod strategies;
pub mod tracing_capture;

/// Re-exported for the contract macros.
#[doc(hidden)]
pub use booking_core::{BookingStore, LockService};
