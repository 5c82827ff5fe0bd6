//! The use cases and rules of booking-core, run on the in-memory adapters
//! (`booking-memory`) through `booking-testkit`. One test binary; this file
//! only declares modules.

mod concurrent;
mod rules;
mod service;
mod spans;
mod state_machine;
