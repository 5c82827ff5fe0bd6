//! Logs, traces and metrics, installed first so every adapter built later
//! records on the installed meter.

use booking_telemetry::{LogFormat, Telemetry};

use crate::AnyError;
use crate::config::{LogFormatArg, TelemetryArgs};

pub(crate) fn install(args: &TelemetryArgs) -> Result<Telemetry, AnyError> {
    let format = match args.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
        LogFormatArg::Off => LogFormat::Off,
    };
    let telemetry = Telemetry::builder()
        .log_format(format)
        .log_filter(
            "info,sqlx=warn,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn",
        )
        .install()?;
    if telemetry.exporting() {
        tracing::info!("exporting traces and metrics over OTLP/HTTP");
        let protocol = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_default();
        if !protocol.is_empty() && protocol != "http/protobuf" {
            tracing::warn!(
                %protocol,
                "only OTLP over HTTP with protobuf is built in: point OTEL_EXPORTER_OTLP_ENDPOINT \
                 at the collector's HTTP port (usually 4318)"
            );
        }
    }
    Ok(telemetry)
}
