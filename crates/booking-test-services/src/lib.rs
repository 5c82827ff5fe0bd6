//! # booking-test-services
//!
//! Real services for the tests of every crate, so no adapter needs another
//! adapter (or a `testing` module in its production API) to be tested. A
//! missing service fails the test with instructions; it never skips it.
//!
//! - [`valkey::ValkeyServer`]: a `valkey-server` process on a free port,
//!   killed when dropped.
//! - [`postgres::scratch_database`]: a fresh database on a real PostgreSQL
//!   server, cloned from a template migrated once per schema version.
//! - [`migrations::first`]: a schema as it was, to write old rows with.
//! - [`cluster::PgCluster`]: a PostgreSQL cluster of one's own (initdb on a
//!   free port), to crash and start again without touching the shared
//!   server.
//!
//! ## Layout
//!
//! One file per service: `valkey.rs`, `postgres.rs`, `cluster.rs`;
//! `migrations.rs`.

#![forbid(unsafe_code)]

pub mod cluster;
pub mod migrations;
pub mod postgres;
pub mod tls;
pub mod valkey;
