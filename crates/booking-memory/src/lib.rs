//! # booking-memory
//!
//! In-memory implementations of every `booking-core` port. They keep the
//! same atomicity and refusals as the real adapters and pass the same
//! contract suites (`booking-testkit`); they are first-class adapters, not
//! mocks:
//!
//! - [`InMemoryLocks`]: the lock for one process — what the server uses
//!   when no Valkey is configured.
//! - [`InMemoryBroadcaster`]: fans committed events out inside one process.
//! - [`InMemoryStore`]: the whole store, for embedding and tests.
//! - [`ManualClock`]: a clock that moves only when told to (tests).
//!
//! ## Layout
//!
//! One file per port: `lock.rs`, `broadcast.rs`, `clock.rs`; the store in
//! `store/` (`mod.rs` the state and its transaction, `catalog.rs`,
//! `reservations.rs`, `access.rs` the reads, `write.rs` the transaction's
//! primitives).

#![forbid(unsafe_code)]

mod broadcast;
mod clock;
mod lock;
mod store;

pub use broadcast::InMemoryBroadcaster;
pub use clock::ManualClock;
pub use lock::InMemoryLocks;
pub use store::InMemoryStore;
