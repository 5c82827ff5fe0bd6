//! Valkey lock tests against a real valkey-server (and a real PostgreSQL
//! where the booking flow is involved).

mod contract;
mod flow;
mod outage;
mod server;
