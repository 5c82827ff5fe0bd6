//! Port contract suites: the behaviour every adapter of a port must show.
//! The in-memory adapters pass them; so must PostgreSQL, SQLite and Valkey.

pub mod lock;
pub mod store;
