//! The event log is kept forever: rows written before every change became
//! an event (schema of migrations 0001–0003, real rows from the code that
//! ran then) read through today's code once the database is migrated.

use std::path::Path;

use booking_postgres::{MIGRATOR, PgStore};
use booking_test_services::{migrations, postgres};
use booking_testkit::legacy;

#[tokio::test]
async fn events_written_before_the_audit_log_read_back_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let before = migrations::first(&dir, 3).await;
    let (pool, _) = postgres::scratch_database(&before, 2).await;
    let (tenant, rows) = legacy::rows();
    let last = rows.last().map_or(0, |r| r.seq);
    sqlx::query("INSERT INTO tenants (id, name, last_event_seq) VALUES ($1, $2, $3)")
        .bind(tenant.tenant_id)
        .bind(&tenant.name)
        .bind(last)
        .execute(&pool)
        .await
        .unwrap();
    for row in &rows {
        sqlx::query(
            "INSERT INTO reservation_events (tenant_id, seq, at, actor, type, reservation_id, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        )
        .bind(tenant.tenant_id)
        .bind(row.seq)
        .bind(row.at)
        .bind(&row.actor)
        .bind(&row.event_type)
        .bind(row.reservation_id)
        .bind(&row.payload)
        .execute(&pool)
        .await
        .unwrap();
    }
    MIGRATOR.run(&pool).await.expect("today's migrations");
    legacy::check(&PgStore::from_pool(pool)).await;
}
