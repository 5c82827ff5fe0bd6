//! API keys and idempotency records, in memory.

#[allow(clippy::wildcard_imports)]
use super::*;

/// One idempotency record.
#[derive(Debug)]
pub(super) struct Idempotency {
    fingerprint: String,
    outcome: Option<String>,
    claimed_at: DateTime<Utc>,
}

/// The tenant's keys, by id.
pub(super) fn keys_of(s: &State, tenant: TenantId) -> Vec<ApiKey> {
    let mut keys: Vec<ApiKey> = s
        .api_keys
        .values()
        .filter(|k| k.tenant_id == tenant)
        .cloned()
        .collect();
    keys.sort_by_key(|k| k.id);
    keys
}

#[async_trait]
impl AccessStore for InMemoryStore {
    async fn has_tenants(&self) -> Result<bool, StoreError> {
        Ok(!self.read().await.tenants.is_empty())
    }

    async fn api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.read().await.api_keys.get(hash.as_str()).cloned())
    }

    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(keys_of(&*self.read().await, tenant))
    }

    async fn claim_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut s = self.read().await;
        let slot = (scope, key.as_str().to_owned());
        let claim = match s.idempotency.get_mut(&slot) {
            None => {
                s.idempotency.insert(
                    slot,
                    Idempotency {
                        fingerprint: fingerprint.to_owned(),
                        outcome: None,
                        claimed_at: at,
                    },
                );
                Claim::New
            }
            Some(r) if r.fingerprint != fingerprint => Claim::Mismatch,
            Some(r) if r.outcome.is_none() && r.claimed_at < stale_before => {
                r.claimed_at = at;
                Claim::New
            }
            Some(Idempotency { outcome: None, .. }) => Claim::InProgress,
            Some(Idempotency {
                outcome: Some(outcome),
                ..
            }) => Claim::Replay {
                outcome: outcome.clone(),
            },
        };
        // The claim is made, but its answer lost on the way.
        s.fault("claim_idempotency_answer")?;
        Ok(claim)
    }

    async fn finish_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.read().await;
        s.fault("finish_idempotency")?;
        if let Some(r) = s
            .idempotency
            .get_mut(&(scope, key.as_str().to_owned()))
            .filter(|r| r.claimed_at == claimed_at)
        {
            r.outcome = Some(outcome.to_owned());
        }
        Ok(())
    }

    async fn abandon_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut s = self.read().await;
        s.fault("abandon_idempotency")?;
        let slot = (scope, key.as_str().to_owned());
        if s.idempotency
            .get(&slot)
            .is_some_and(|r| r.outcome.is_none() && r.claimed_at == claimed_at)
        {
            s.idempotency.remove(&slot);
        }
        Ok(())
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = self.read().await;
        let was = s.idempotency.len();
        s.idempotency.retain(|_, r| r.claimed_at >= before);
        Ok(u64::try_from(was - s.idempotency.len()).unwrap_or(u64::MAX))
    }
}
