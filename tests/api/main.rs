//! The HTTP API on real stores (SQLite files and fresh PostgreSQL
//! databases), driven over real HTTP. One binary; `main.rs` only declares
//! modules.

mod helpers;

mod atomic;
mod audit;
mod availability;
mod bookings;
mod calendar;
mod cluster;
mod concurrency;
mod dropped;
mod holds;
mod hostile;
mod idempotency;
mod isolation;
mod keys;
mod lock_flow;
mod openapi;
mod stream;
