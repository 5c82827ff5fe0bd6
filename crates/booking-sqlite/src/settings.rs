use std::path::PathBuf;
use std::time::Duration;

/// Where the database file lives and how it is accessed.
#[derive(Clone, Debug)]
pub struct SqliteSettings {
    /// The database file (created if missing).
    pub path: PathBuf,
    /// Read connections beside the single writer.
    pub readers: u32,
    /// How long a statement waits for another process's write lock.
    pub busy_timeout: Duration,
    /// How long a request waits for a free connection before the store
    /// reports itself unavailable.
    pub acquire_timeout: Duration,
}

impl SqliteSettings {
    /// Settings for a file with 4 readers and 5 s timeouts.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}
