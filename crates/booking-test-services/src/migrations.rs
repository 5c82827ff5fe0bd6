//! A schema as it was: the first migrations of a directory, for tests that
//! write rows with an old schema and then migrate them (the event log is
//! never rewritten, so old rows must read through new code).

use std::path::Path;

use sqlx::migrate::Migrator;

/// The migrator of the first `count` migrations in `dir` (e.g.
/// `migrations/postgres`). Their checksums are the files', so running the
/// full migrator later applies only the rest.
///
/// # Panics
/// If the directory cannot be read (a broken checkout).
pub async fn first(dir: &Path, count: usize) -> Migrator {
    let kept = tempfile::tempdir().expect("a temporary directory");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the migrations directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(
        files.len() >= count,
        "{dir:?} has fewer than {count} migrations"
    );
    for file in &files[..count] {
        std::fs::copy(
            file,
            kept.path().join(file.file_name().expect("a file name")),
        )
        .expect("copy a migration");
    }
    Migrator::new(kept.path())
        .await
        .expect("the first migrations")
}
