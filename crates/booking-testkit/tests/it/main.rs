//! One test binary for the testkit (one link step, shared helpers).

mod concurrent;
mod contract_memory;
mod rules;
mod service;
mod spans;
mod state_machine;
