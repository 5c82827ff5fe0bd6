//! # booking-server
//!
//! Parses configuration into a [`booking_app::Config`] and runs the node
//! ([`booking_app::App`]); all behaviour lives in the libraries.
//! `booking-server` serves the API; `booking-server tenant create` and
//! `booking-server key create` manage tenants and keys.
//!
//! ## Layout
//!
//! `config.rs` flags and environment; `telemetry.rs` logs, traces and
//! metrics; `banner.rs` what it prints; this file the commands.

#![forbid(unsafe_code)]

mod banner;
mod config;
mod telemetry;

use booking_app::App;
use booking_core::{Actor, Attribution, KeySpec, Name};
use booking_http::MetricsText;
use clap::Parser;

use crate::config::{Cli, Command, KeyCommand, TenantCommand};

type AnyError = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The message says what to fix (not a `Debug` dump).
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), AnyError> {
    let cli = Cli::parse();
    let telemetry = telemetry::install(&cli.telemetry)?;
    let result = match cli.command {
        None => serve(&cli, &telemetry).await,
        Some(Command::Tenant(TenantCommand::Create {
            ref name,
            ref admin_actor,
        })) => {
            let app = App::build(cli.database.config()).await?;
            let made = app
                .services()
                .access()
                .provision_tenant(Name::new(name)?, Actor::new(admin_actor)?, &operator()?)
                .await?;
            banner::say(
                &serde_json::json!({
                    "tenant_id": made.tenant.id,
                    "key_id": made.admin.key.id,
                    "api_key": made.admin.secret,
                })
                .to_string(),
            );
            Ok(())
        }
        Some(Command::Key(KeyCommand::Create {
            tenant,
            role,
            ref actor,
            expires_at,
        })) => {
            let app = App::build(cli.database.config()).await?;
            let spec = KeySpec {
                role,
                actor: Actor::new(actor)?,
                expires_at,
            };
            let made = app
                .services()
                .access()
                .create_key(tenant, spec, &operator()?)
                .await?;
            let key = &made.key;
            banner::say(
                &serde_json::json!({
                    "key_id": key.id,
                    "tenant_id": key.tenant_id,
                    "role": key.role,
                    "actor": key.actor,
                    "api_key": made.secret,
                })
                .to_string(),
            );
            Ok(())
        }
    };
    telemetry.shutdown();
    result
}

/// Who the command line's changes are recorded as made by: it has no key
/// (it bootstraps tenants and their first keys), so events name the
/// operator's account, or `cli`.
fn operator() -> Result<Attribution, AnyError> {
    let user = std::env::var("USER").unwrap_or_default();
    let name = if user.is_empty() {
        "cli".to_owned()
    } else {
        format!("cli ({user})")
    };
    Ok(Attribution::named(Actor::new(&name)?))
}

/// Serves the API until asked to stop.
async fn serve(cli: &Cli, telemetry: &booking_telemetry::Telemetry) -> Result<(), AnyError> {
    let config = cli.server.config(&cli.database);
    tracing::info!(?config, listen = %cli.server.listen, "starting");
    match booking_app::raise_descriptor_limit() {
        Ok(files) => tracing::info!(open_files = files, "file descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the file descriptor limit"),
    }
    let mut app = App::build(config).await?;
    let api = tokio::net::TcpListener::bind(cli.server.listen).await?;
    let address = api.local_addr()?;
    let metrics = metrics_listener(&cli.telemetry).await?;
    // Served on its own listener, or with the API only when asked to.
    if metrics.is_some() || cli.telemetry.metrics_on_api {
        let prometheus = telemetry.prometheus();
        app = app.with_metrics(MetricsText::new(move || prometheus.render()));
    }
    match app.seed_demo_if_empty().await? {
        Some(demo) => banner::demo(address, &demo),
        None => banner::say(&format!(
            "booking-server listening on http://{address} (the calendar: http://{address}/)"
        )),
    }
    app.serve(api, metrics, shutdown_signal()).await?;
    Ok(())
}

/// The listener `/metrics` gets of its own: none when it is off or served
/// with the API; with the default address taken (another node on this
/// machine), none and a warning, as metrics are not worth refusing to
/// start for unless an address was asked for.
async fn metrics_listener(
    t: &config::TelemetryArgs,
) -> Result<Option<tokio::net::TcpListener>, AnyError> {
    if t.no_metrics || t.metrics_on_api {
        return Ok(None);
    }
    match tokio::net::TcpListener::bind(t.metrics_listen).await {
        Ok(listener) => {
            tracing::info!(address = %listener.local_addr()?, "serving /metrics");
            Ok(Some(listener))
        }
        Err(e) if t.metrics_listen.to_string() == config::DEFAULT_METRICS_LISTEN => {
            tracing::warn!(
                error = %e,
                "/metrics is not served: {} is taken; set --metrics-listen",
                config::DEFAULT_METRICS_LISTEN
            );
            Ok(None)
        }
        Err(e) => Err(format!("cannot serve /metrics on {}: {e}", t.metrics_listen).into()),
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
