use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ApiKey, Claim, IdempotencyKey, KeyHash, StoreError, TenantId};

/// API keys and idempotency records.
#[async_trait]
pub trait AccessStore: Send + Sync + std::fmt::Debug {
    /// Whether any tenant exists (a fresh store gets the demo clinic).
    ///
    /// # Errors
    /// Backend failures only.
    async fn has_tenants(&self) -> Result<bool, StoreError>;

    /// Stores a key's record under the hash of its secret.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the tenant does not exist.
    async fn insert_api_key(&self, key: &ApiKey, hash: &KeyHash) -> Result<(), StoreError>;

    /// The key whose secret hashes to `hash`, if any.
    ///
    /// # Errors
    /// Backend failures only.
    async fn api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError>;

    /// Claims `key` for a request with `fingerprint` (a hash of method, path
    /// and body), atomically: of concurrent claims with one key exactly one
    /// gets [`Claim::New`].
    ///
    /// # Errors
    /// Backend failures only.
    async fn claim_idempotency(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;

    /// Stores the response of a claimed request; later claims replay it.
    ///
    /// # Errors
    /// Backend failures only.
    async fn finish_idempotency(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;

    /// Drops an unfinished claim (the request failed in a way a retry may
    /// fix), so the next claim is new again.
    ///
    /// # Errors
    /// Backend failures only.
    async fn abandon_idempotency(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError>;

    /// Forgets every idempotency record (of every tenant) claimed before
    /// `before`, finished or not, so the table does not grow forever; a key
    /// older than that is new again. Returns how many were removed.
    ///
    /// # Errors
    /// Backend failures only.
    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
