use std::fmt;
use std::time::Duration;

/// How to reach PostgreSQL. The URL may hold a password, so `Debug` shows
/// only its host part.
#[derive(Clone)]
pub struct PgSettings {
    url: String,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long a request waits for a free connection before the store
    /// reports itself unavailable.
    pub acquire_timeout: Duration,
}

impl PgSettings {
    /// Settings for `url` with a pool of 10 and a 5 s acquire timeout.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }

    /// The connection URL (secret: do not log).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // postgres://user:password@host:port/db → postgres://…@host:port/db
        let shown = match self.url.rsplit_once('@') {
            Some((_, host)) => format!("postgres://…@{host}"),
            None => self.url.clone(),
        };
        f.debug_struct("PgSettings")
            .field("url", &shown)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let s = PgSettings::new("postgres://app:hunter2@db.internal:5432/booking");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal:5432/booking"), "{shown}");
    }
}
