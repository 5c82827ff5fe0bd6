//! The event log is kept forever: rows written before every change became
//! an event (schema of migrations 0001–0003, real rows from the code that
//! ran then) read through today's code once the database is migrated.

use std::path::Path;

use booking_test_services::migrations;
use booking_testkit::legacy;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::db::{fresh_path, open};

#[tokio::test]
async fn events_written_before_the_audit_log_read_back_unchanged() {
    let path = fresh_path();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    let before = migrations::first(&dir, 3).await;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
    before.run(&pool).await.expect("the old schema");
    let (tenant, rows) = legacy::rows();
    let last = rows.last().map_or(0, |r| r.seq);
    sqlx::query("INSERT INTO tenants (id, name, last_event_seq) VALUES (?1, ?2, ?3)")
        .bind(tenant.tenant_id)
        .bind(&tenant.name)
        .bind(last)
        .execute(&pool)
        .await
        .unwrap();
    for row in &rows {
        sqlx::query(
            "INSERT INTO reservation_events (tenant_id, seq, at, actor, type, reservation_id, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(tenant.tenant_id)
        .bind(row.seq)
        .bind(row.at.timestamp_micros())
        .bind(&row.actor)
        .bind(&row.event_type)
        .bind(row.reservation_id)
        .bind(&row.payload)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    // Opening the store applies today's migrations.
    legacy::check(&*open(&path).await).await;
}
