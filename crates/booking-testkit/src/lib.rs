//! # booking-testkit
//!
//! Everything needed to test and embed `booking-core` without external
//! services:
//!
//! - [`memory`]: in-memory implementations of every port — store, lock,
//!   broadcaster, clock — with the same atomicity and refusals as the real
//!   adapters. They are first-class implementations, not mocks.
//! - [`contract`]: the port contract suites every adapter must pass
//!   unchanged ([`store_contract_tests!`], [`lock_contract_tests!`]).
//! - [`invariants`]: a checker for every DESIGN.md invariant, reading a
//!   store through the port only.
//! - [`strategies`]: proptest strategies for the domain types.
//! - [`fixture`]: a small clinic chain to test against.
//! - [`engine`]: a `BookingService` wired to the in-memory adapters.
//!
//! ## Layout
//!
//! `src/memory/` one file per port; `src/contract/` one suite per port;
//! `tests/` this crate's own tests (contracts on the in-memory adapters,
//! the state-machine and concurrency property tests, service tests);
//! `examples/embed.rs` shows embedding.

#![forbid(unsafe_code)]

#[cfg(feature = "testing")]
pub mod contract;
pub mod engine;
#[cfg(feature = "testing")]
pub mod fixture;
#[cfg(feature = "testing")]
pub mod invariants;
pub mod memory;
#[cfg(feature = "testing")]
pub mod strategies;

/// Re-exported for the contract macros.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub use booking_core::{BookingStore, LockService};
