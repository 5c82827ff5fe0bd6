use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ApiKey, Claim, IdempotencyKey, IdempotencyScope, KeyHash, StoreError, TenantId};

/// API keys (looked up by the hash of their secret; keys are written in
/// transactions, [`crate::WriteTx::insert_api_key`]) and idempotency
/// records.
#[async_trait]
pub trait AccessStore: Send + Sync + std::fmt::Debug {
    /// Whether any tenant exists (a fresh store gets the demo clinic).
    ///
    /// # Errors
    /// Backend failures only.
    async fn has_tenants(&self) -> Result<bool, StoreError>;

    /// The key whose secret hashes to `hash`, if any (whether or not it is
    /// still active: the caller judges).
    ///
    /// # Errors
    /// Backend failures only.
    async fn api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError>;

    /// The tenant's keys (revoked and expired ones included), by id.
    ///
    /// # Errors
    /// Backend failures only.
    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError>;

    /// Claims `key` in `scope` at `at` for a request with `fingerprint` (a
    /// hash of what the request asks), atomically: of concurrent claims
    /// with one key exactly one gets [`Claim::New`]. An unfinished claim
    /// of the same request made before `stale_before` is taken over (its
    /// request died with its node: the lease ran out): it is made again at
    /// `at` and is [`Claim::New`], and its old maker can no longer finish
    /// or abandon it.
    ///
    /// # Errors
    /// Backend failures only.
    async fn claim_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;

    /// Stores the outcome of the claim of `key` made at `claimed_at`
    /// (opaque to the store: what the caller needs to answer a retry the
    /// same way); later claims replay it. A claim taken over since (made
    /// at another instant) is left alone.
    ///
    /// # Errors
    /// Backend failures only.
    async fn finish_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &str,
    ) -> Result<(), StoreError>;

    /// Drops the unfinished claim of `key` made at exactly `claimed_at`, if
    /// there is one, so the next claim is new again: the request failed in
    /// a way a retry may fix, or the claim's answer was lost on the way
    /// (the connection cut after the commit), so its maker cannot know it
    /// made it. The claim time is the claim's token: another's claim of the
    /// key, made at another instant, stays, and a finished one always does.
    ///
    /// # Errors
    /// Backend failures only.
    async fn abandon_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Forgets every idempotency record (of every tenant) claimed before
    /// `before`, finished or not, so the table does not grow forever; a key
    /// older than that is new again. Returns how many were removed.
    ///
    /// # Errors
    /// Backend failures only.
    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
