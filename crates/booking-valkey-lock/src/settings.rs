use std::fmt;
use std::time::Duration;

/// How to reach Valkey and how long to wait for it. The URL may hold a
/// password, so `Debug` shows only its host part.
#[derive(Clone)]
pub struct ValkeyLockSettings {
    url: String,
    /// The longest any call takes when Valkey is unreachable before it
    /// answers `Unavailable` (the booking then continues on the store).
    pub unavailable_after: Duration,
    /// The longest pause between reconnection attempts.
    pub reconnect_max_delay: Duration,
    /// First retry delay while a key is busy (before jitter).
    pub backoff_min: Duration,
    /// Longest retry delay while a key is busy (before jitter).
    pub backoff_max: Duration,
}

impl ValkeyLockSettings {
    /// Settings for `url` (`redis://host:port` or `valkey://…`): 250 ms to
    /// report unavailability, reconnect at least every 2 s, retry a busy key
    /// after 5 ms growing to 200 ms.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            unavailable_after: Duration::from_millis(250),
            reconnect_max_delay: Duration::from_secs(2),
            backoff_min: Duration::from_millis(5),
            backoff_max: Duration::from_millis(200),
        }
    }

    /// The URL (secret: do not log).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for ValkeyLockSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match self.url.rsplit_once('@') {
            Some((scheme_user, host)) => {
                let scheme = scheme_user.split("://").next().unwrap_or("redis");
                format!("{scheme}://…@{host}")
            }
            None => self.url.clone(),
        };
        f.debug_struct("ValkeyLockSettings")
            .field("url", &shown)
            .field("unavailable_after", &self.unavailable_after)
            .field("reconnect_max_delay", &self.reconnect_max_delay)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!(
            "{:?}",
            ValkeyLockSettings::new("redis://:s3cret@cache:6380")
        );
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("cache:6380"), "{shown}");
    }
}
