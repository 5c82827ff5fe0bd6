//! PostgreSQL store tests, each against a fresh database on a real server.

mod contract;
mod db;
mod legacy;
mod schema;
mod tls;
