//! API keys and idempotency records.

use async_trait::async_trait;
use booking_core::{
    AccessStore, ApiKey, Claim, IdempotencyKey, IdempotencyScope, KeyHash, StoreError, TenantId,
};
use booking_sql::{API_KEY_COLUMNS, decode};
use chrono::{DateTime, Utc};

use crate::SqliteStore;
use crate::error::store_error;
use crate::rows::{Row, all, micros};

#[async_trait]
impl AccessStore for SqliteStore {
    async fn has_tenants(&self) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants)")
            .fetch_one(&self.reader)
            .await
            .map_err(store_error)
    }

    async fn api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?"
        ))
        .bind(hash.as_str().to_owned())
        .fetch_optional(&self.reader)
        .await
        .map_err(store_error)?;
        row.map(|row| decode::api_key(&Row(&row))).transpose()
    }

    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY id"
        ))
        .bind(tenant.as_uuid())
        .fetch_all(&self.reader)
        .await
        .map_err(store_error)?;
        all(&rows, |r| decode::api_key(r))
    }

    async fn claim_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        // One writer: the read and the write below cannot interleave with
        // another claim.
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT fingerprint, outcome, created_at FROM idempotency_keys
             WHERE tenant_id = ? AND api_key_id = ? AND key = ?",
        )
        .bind(scope.tenant.as_uuid())
        .bind(scope.api_key.as_uuid())
        .bind(key.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let claim = match row {
            Some((stored, _, _)) if stored != fingerprint => Claim::Mismatch,
            Some((_, Some(outcome), _)) => Claim::Replay { outcome },
            Some((_, None, claimed)) if claimed >= micros(stale_before) => Claim::InProgress,
            // New, or the same request's claim whose lease ran out.
            _ => {
                sqlx::query(
                    "INSERT OR REPLACE INTO idempotency_keys
                     (tenant_id, api_key_id, key, fingerprint, created_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(scope.tenant.as_uuid())
                .bind(scope.api_key.as_uuid())
                .bind(key.as_str().to_owned())
                .bind(fingerprint.to_owned())
                .bind(micros(at))
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                Claim::New
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(claim)
    }

    async fn finish_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET outcome = ?
             WHERE tenant_id = ? AND api_key_id = ? AND key = ? AND created_at = ?",
        )
        .bind(outcome.to_owned())
        .bind(scope.tenant.as_uuid())
        .bind(scope.api_key.as_uuid())
        .bind(key.as_str().to_owned())
        .bind(micros(claimed_at))
        .execute(&self.writer)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn abandon_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys
             WHERE tenant_id = ? AND api_key_id = ? AND key = ?
               AND outcome IS NULL AND created_at = ?",
        )
        .bind(scope.tenant.as_uuid())
        .bind(scope.api_key.as_uuid())
        .bind(key.as_str().to_owned())
        .bind(micros(claimed_at))
        .execute(&self.writer)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(micros(before))
            .execute(&self.writer)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected())
    }
}
