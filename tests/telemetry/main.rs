//! Traces of the booking flow, read back through the OpenTelemetry SDK's
//! in-memory exporter: the HTTP request span (request id, continued
//! `traceparent`) and, under it, the booking span with its lock, check,
//! store and broadcast children and their attributes.
//!
//! Its own test binary: telemetry is a process-wide subscriber, installed
//! once here and shared by these tests (each finds its own spans by
//! request id and trace id).

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod spans;
