//! The use cases and rules of booking-core, run on the in-memory adapters
//! (`booking-memory`, wired in `engine.rs`) with `booking-testkit`'s
//! fixture and checkers. One test binary; this file only declares modules.

mod availability;
mod concurrent;
mod engine;
mod events;
mod holds;
mod rules;
mod service;
mod spans;
mod state_machine;
