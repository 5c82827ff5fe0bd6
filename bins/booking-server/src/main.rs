//! # booking-server
//!
//! Parses configuration and wires adapters; all behaviour lives in the
//! libraries. `booking-server` serves the API; `booking-server tenant
//! create` and `booking-server key create` manage tenants and keys.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // the CLI prints keys and the first-run banner

mod config;
mod demo;
mod wiring;

use clap::Parser;

use crate::config::{Cli, Command, KeyCommand, TenantCommand};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let telemetry = wiring::telemetry(&cli.telemetry)?;
    let store = wiring::store(&cli.database).await?;
    match cli.command {
        None => {
            let metrics = (!cli.telemetry.no_metrics).then(|| wiring::Metrics {
                prometheus: telemetry.prometheus(),
                listen: cli.telemetry.metrics_listen,
            });
            let served = wiring::run(cli.server, cli.database, store, metrics).await;
            telemetry.shutdown();
            served
        }
        Some(Command::Tenant(TenantCommand::Create { name })) => {
            let (tenant, secret) = demo::create_tenant(&*store, &name).await?;
            println!(
                "{}",
                serde_json::json!({ "tenant_id": tenant, "api_key": secret })
            );
            Ok(())
        }
        Some(Command::Key(KeyCommand::Create {
            tenant,
            role,
            actor,
        })) => {
            let (key, secret) = demo::create_key(&*store, tenant, role, &actor).await?;
            println!(
                "{}",
                serde_json::json!({ "key_id": key.id, "tenant_id": key.tenant_id, "role": key.role, "actor": key.actor, "api_key": secret })
            );
            Ok(())
        }
    }
}
