//! A fresh database file per test.

use std::path::PathBuf;
use std::sync::Arc;

use booking_sqlite::{SqliteSettings, SqliteStore};

/// A new file in its own temporary directory (kept: a failing test's file
/// can be inspected; the OS clears the temp dir).
pub(crate) fn fresh_path() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("booking-sqlite-test-")
        .tempdir()
        .expect("create a temporary directory")
        .keep();
    dir.join("booking.db")
}

pub(crate) async fn open(path: &PathBuf) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(&SqliteSettings::new(path))
            .await
            .expect("open the SQLite test database"),
    )
}

pub(crate) async fn fresh_store() -> Arc<SqliteStore> {
    open(&fresh_path()).await
}
