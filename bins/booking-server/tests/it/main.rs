//! The `booking-server` binary as an operator runs it, in one test binary:
//! the admin commands and first run (`cli.rs`), telemetry (`telemetry.rs`),
//! TLS to both services (`tls.rs`), and a node under attack by clients
//! without a key (`attack.rs`).

mod attack;
mod cli;
mod common;
mod telemetry;
mod tls;
