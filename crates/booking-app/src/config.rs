//! The node's configuration, typed. The server fills it from flags and the
//! environment; tests and embedders build it in code. Secrets in URLs never
//! reach `Debug` output or logs.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (the embedded default: one node, no external service).
    Sqlite(PathBuf),
    /// A PostgreSQL server, shared by every node.
    Postgres {
        /// `postgres://user:password@host/db`.
        url: String,
        /// Connections in the pool.
        pool: u32,
    },
}

impl Database {
    /// Reads a `--database-url`: `postgres://…`/`postgresql://…`, else a
    /// SQLite file (`sqlite://path` or a path).
    #[must_use]
    pub fn from_url(url: &str, pool: u32) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres {
                url: url.to_owned(),
                pool: pool.max(1),
            }
        } else {
            Self::Sqlite(PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url)))
        }
    }
}

/// `scheme://user:secret@host/…` → `scheme://…@host/…`; a `password=`
/// query parameter is hidden too.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let shown = match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_owned(),
    };
    match shown.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=…"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => shown,
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres { url, pool } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("pool", pool)
                .finish(),
        }
    }
}

/// Everything a node needs to run.
#[derive(Clone)]
pub struct Config {
    /// The store.
    pub database: Database,
    /// Valkey for the shared lock and the event backplane; `None` runs one
    /// node with an in-process lock and local push.
    pub valkey_url: Option<String>,
    /// The secret every node signs and checks the events it passes the
    /// others with (required with `valkey_url`; at least 16 bytes).
    pub backplane_secret: Option<String>,
    /// Create the demo clinic when the store has no tenant.
    pub demo: bool,
    /// Lock time-to-live.
    pub lock_ttl: Duration,
    /// How long a booking waits for a busy lock.
    pub lock_wait: Duration,
    /// How often expired holds are recorded (freeing slot and stock).
    pub hold_sweep: Duration,
    /// Most reservation writes in one transaction: the writes that arrive
    /// while `write_batches_in_flight` batches are being written go
    /// together in the next. 1 writes each in its own transaction.
    pub write_batch: usize,
    /// Batches written at the same time.
    pub write_batches_in_flight: usize,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_retention: chrono::Duration,
    /// Longest booking.
    pub max_booking: chrono::Duration,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// How long an unfinished `Idempotency-Key` claim holds before the
    /// same request's retry takes it over (its node died mid-request).
    pub idempotency_lease: Duration,
    /// WebSocket ping interval; a client silent for three is closed.
    pub stream_heartbeat: Duration,
    /// Requests a second per key and tenant, and at once per key.
    pub request_limits: booking_http::RequestLimits,
    /// What event streams may take on this node.
    pub stream_limits: booking_ws::StreamLimits,
    /// How connections are served: the header-read timeout and the caps on
    /// open connections ([`crate::App::serve`] lowers the node's cap to fit
    /// the process's descriptor limit).
    pub serve: booking_http::ServeSettings,
    /// Origins (`https://clinic.example`, scheme, host and port) whose pages
    /// may call the API and load the calendar's modules from a browser: the
    /// calendar embedded in another site. Empty: the server's own origin
    /// only. Keys travel in the `Authorization` header, never in cookies,
    /// so allowing an origin lets its pages use keys they already have and
    /// nothing more.
    pub allowed_origins: Vec<String>,
}

impl Config {
    /// The defaults, on `database`.
    #[must_use]
    pub fn new(database: Database) -> Self {
        Self {
            database,
            valkey_url: None,
            backplane_secret: None,
            demo: false,
            lock_ttl: Duration::from_secs(30),
            lock_wait: Duration::from_secs(5),
            hold_sweep: Duration::from_secs(15),
            write_batch: 16,
            write_batches_in_flight: 4,
            idempotency_retention: chrono::Duration::hours(24),
            max_booking: chrono::Duration::hours(24),
            request_timeout: Duration::from_secs(30),
            idempotency_lease: Duration::from_secs(120),
            stream_heartbeat: Duration::from_secs(15),
            request_limits: booking_http::RequestLimits::default(),
            stream_limits: booking_ws::StreamLimits::default(),
            serve: booking_http::ServeSettings::default(),
            allowed_origins: Vec::new(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("valkey_url", &self.valkey_url.as_deref().map(redact_url))
            .field(
                "backplane_secret",
                &self.backplane_secret.as_ref().map(|_| "…"),
            )
            .field("demo", &self.demo)
            .field("lock_ttl", &self.lock_ttl)
            .field("lock_wait", &self.lock_wait)
            .field("hold_sweep", &self.hold_sweep)
            .field("write_batch", &self.write_batch)
            .field("write_batches_in_flight", &self.write_batches_in_flight)
            .field("idempotency_retention", &self.idempotency_retention)
            .field("max_booking", &self.max_booking)
            .field("request_timeout", &self.request_timeout)
            .field("idempotency_lease", &self.idempotency_lease)
            .field("stream_heartbeat", &self.stream_heartbeat)
            .field("request_limits", &self.request_limits)
            .field("stream_limits", &self.stream_limits)
            .field("serve", &self.serve)
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_passwords() {
        let mut config = Config::new(Database::from_url(
            "postgres://booking:hunter2@db.internal:5432/booking?password=swordfish",
            8,
        ));
        config.valkey_url = Some("redis://:letmein@valkey:6379".into());
        let shown = format!("{config:?}");
        for secret in ["hunter2", "swordfish", "letmein"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("db.internal:5432"), "{shown}");
    }

    #[test]
    fn a_url_names_its_store() {
        assert_eq!(
            Database::from_url("sqlite://data/b.db", 4),
            Database::Sqlite("data/b.db".into())
        );
        assert!(matches!(
            Database::from_url("postgresql://h/db", 0),
            Database::Postgres { pool: 1, .. }
        ));
    }
}
