//! API keys and idempotency records.

use async_trait::async_trait;
use booking_core::{
    AccessStore, ApiKey, Claim, IdempotencyKey, IdempotencyScope, KeyHash, StoreError, TenantId,
};
use booking_sql::{API_KEY_COLUMNS, decode};
use chrono::{DateTime, Utc};

use crate::PgStore;
use crate::error::store_error;
use crate::rows::{Row, all};

#[async_trait]
impl AccessStore for PgStore {
    async fn has_tenants(&self) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants)")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)
    }

    async fn api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(hash.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(|row| decode::api_key(&Row(&row))).transpose()
    }

    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(tenant.as_uuid())
        .fetch_all(&self.pool)
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
        // A claim that vanishes between the insert and the read was
        // abandoned: try again a few times, then report it as in progress.
        for _ in 0..3 {
            // New, or the same request's claim whose lease ran out taken
            // over, in one statement.
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, api_key_id, key, fingerprint, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, api_key_id, key) DO UPDATE SET created_at = EXCLUDED.created_at
                 WHERE idempotency_keys.outcome IS NULL
                   AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
                   AND idempotency_keys.created_at < $6",
            )
            .bind(scope.tenant.as_uuid())
            .bind(scope.api_key.as_uuid())
            .bind(key.as_str())
            .bind(fingerprint)
            .bind(at)
            .bind(stale_before)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            if claimed.rows_affected() == 1 {
                return Ok(Claim::New);
            }
            let row: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT fingerprint, outcome FROM idempotency_keys
                 WHERE tenant_id = $1 AND api_key_id = $2 AND key = $3",
            )
            .bind(scope.tenant.as_uuid())
            .bind(scope.api_key.as_uuid())
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
            match row {
                None => {}
                Some((stored, _)) if stored != fingerprint => return Ok(Claim::Mismatch),
                Some((_, Some(outcome))) => return Ok(Claim::Replay { outcome }),
                Some((_, None)) => return Ok(Claim::InProgress),
            }
        }
        Ok(Claim::InProgress)
    }

    async fn finish_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET outcome = $5
             WHERE tenant_id = $1 AND api_key_id = $2 AND key = $3 AND created_at = $4",
        )
        .bind(scope.tenant.as_uuid())
        .bind(scope.api_key.as_uuid())
        .bind(key.as_str())
        .bind(claimed_at)
        .bind(outcome)
        .execute(&self.pool)
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
             WHERE tenant_id = $1 AND api_key_id = $2 AND key = $3
               AND outcome IS NULL AND created_at = $4",
        )
        .bind(scope.tenant.as_uuid())
        .bind(scope.api_key.as_uuid())
        .bind(key.as_str())
        .bind(claimed_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected())
    }
}
