//! # booking-load
//!
//! The load, fault and invariant-checking harness. Speed goals live here,
//! not in tests: each subcommand prints its figures next to a baseline
//! measured in the same run on the same machine.
//!
//! - `store-bench`: store `apply` throughput on PostgreSQL with N concurrent
//!   writers, next to `pgbench` running the same SQL transaction.
//! - `push-bench`: commit-to-receipt latency of live updates with many
//!   WebSocket clients over two nodes, node B (via Valkey) next to node A
//!   (local hub).
//! - `trace-bench`: booking throughput of the real server through HTTP with
//!   OTLP export on vs off.
//! - `availability-bench`: free-slot questions through HTTP on SQLite and
//!   PostgreSQL, through the use case, and of the pure computation, next
//!   to the HTTP floor of the same node.
//! - `idle-streams`: a real server's resident memory with N idle
//!   `/v1/stream` clients open, per stream.
//! - `worst-case`: the most a client may make a node hold: its peak memory
//!   under the largest availability questions allowed, and whether
//!   `/healthz` answers while thousands of half-sent requests hold on.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

mod availability_bench;
mod check;
mod http_bench;
mod idle_streams;
mod nodes;
mod proxy;
mod push_bench;
mod store_bench;
mod trace_bench;
mod worst_case;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(about = "Load and invariant-checking harness for the booking engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// The variants are the subcommand names (`store-bench`, …).
#[allow(clippy::enum_variant_names)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Store apply throughput on PostgreSQL vs pgbench running the same
    /// transaction, in one run on one database server.
    StoreBench(store_bench::Args),
    /// Commit-to-receipt latency of live updates with many WebSocket
    /// clients over two nodes sharing PostgreSQL and Valkey.
    PushBench(push_bench::Args),
    /// Booking throughput of the real server with OTLP export on vs off.
    TraceBench(trace_bench::Args),
    /// Free-slot questions (20 resources × 14 days, 5,000 reservations)
    /// through HTTP on SQLite and PostgreSQL, through the use case, and of
    /// the pure computation alone, next to the HTTP floor.
    AvailabilityBench(availability_bench::Args),
    /// A Jepsen-style run: N real server nodes sharing PostgreSQL and
    /// Valkey, concurrent clients, seeded faults, a recorded history and
    /// checkers over the database and the streams (exit 1 on a violation).
    Check(check::Args),
    /// Create throughput through HTTP on real nodes over PostgreSQL and
    /// Valkey: disjoint slots over many resources against one hot
    /// resource, on 1 and 3 nodes, with false refusals and CPU per booking.
    HttpBench(http_bench::Args),
    /// What idle live-update streams cost a node: N WebSocket clients of
    /// one tenant on a real server, its resident memory before and after.
    IdleStreams(idle_streams::Args),
    /// The most a client may make a real node hold: peak memory under the
    /// largest availability questions allowed, and `/healthz` under
    /// thousands of half-open connections on a 1,024-descriptor node.
    WorstCase(worst_case::Args),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::StoreBench(args) => store_bench::run(args).await,
        Command::PushBench(args) => push_bench::run(args).await,
        Command::TraceBench(args) => trace_bench::run(args).await,
        Command::AvailabilityBench(args) => availability_bench::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::HttpBench(args) => http_bench::run(args).await,
        Command::IdleStreams(args) => idle_streams::run(args).await,
        Command::WorstCase(args) => worst_case::run(args).await,
    }
}
