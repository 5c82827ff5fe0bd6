//! [`AccessService`]: tenants, API keys and the idempotency records of
//! retried requests. Secrets are made here and shown once; only their hash
//! is stored.

use std::sync::Arc;

use super::Shared;
use crate::{
    Actor, ApiKey, ApiKeyId, Claim, IdempotencyKey, KeyHash, Name, Role, StoreError, Tenant,
    TenantId, access, engine,
};

/// The access use cases.
#[derive(Clone, Debug)]
pub struct AccessService(pub(super) Arc<Shared>);

/// A key just made: its record and its secret, which is never stored and
/// cannot be shown again.
#[derive(Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The key's record.
    pub key: ApiKey,
    /// The secret to present as `Authorization: Bearer …`.
    pub secret: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("key", &self.key)
            .field("secret", &"…")
            .finish()
    }
}

/// A tenant just made, with its first (admin) key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The tenant.
    pub tenant: Tenant,
    /// Its admin key.
    pub admin: NewKey,
}

impl AccessService {
    fn new_key(&self, tenant: TenantId, role: Role, actor: Actor) -> (NewKey, KeyHash) {
        let secret = access::new_secret();
        let hash = KeyHash::of_secret(&secret);
        let key = ApiKey {
            id: ApiKeyId::generate(),
            tenant_id: tenant,
            role,
            actor,
            created_at: self.0.ports.clock.now(),
        };
        (NewKey { key, secret }, hash)
    }

    /// Creates a tenant with an admin key (acting as `admin_actor`), in one
    /// transaction.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn provision_tenant(
        &self,
        name: Name,
        admin_actor: Actor,
    ) -> Result<Provisioned, StoreError> {
        let tenant = Tenant {
            id: TenantId::generate(),
            name,
        };
        let (admin, hash) = self.new_key(tenant.id, Role::Admin, admin_actor);
        engine::insert_tenant(
            self.0.ports.store.as_ref(),
            &tenant,
            &[(admin.key.clone(), hash)],
        )
        .await?;
        Ok(Provisioned { tenant, admin })
    }

    /// Creates a key for an existing tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the tenant does not exist.
    pub async fn create_key(
        &self,
        tenant: TenantId,
        role: Role,
        actor: Actor,
    ) -> Result<NewKey, StoreError> {
        let (new, hash) = self.new_key(tenant, role, actor);
        engine::insert_api_key(self.0.ports.store.as_ref(), &new.key, &hash).await?;
        Ok(new)
    }

    /// The key whose secret this is, if any.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        self.0
            .ports
            .store
            .api_key(&KeyHash::of_secret(secret))
            .await
    }

    /// Whether any tenant exists (a fresh store may get the demo clinic).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn has_tenants(&self) -> Result<bool, StoreError> {
        self.0.ports.store.has_tenants().await
    }

    /// Claims an idempotency key for a request (see
    /// [`crate::AccessStore::claim_idempotency`]).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn claim_idempotency(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Claim, StoreError> {
        let now = self.0.ports.clock.now();
        self.0
            .ports
            .store
            .claim_idempotency(tenant, key, fingerprint, now)
            .await
    }

    /// Stores the outcome of a claimed request for its retries.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn finish_idempotency(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
        outcome: &str,
    ) -> Result<(), StoreError> {
        self.0
            .ports
            .store
            .finish_idempotency(tenant, key, outcome)
            .await
    }

    /// Drops an unfinished claim, so a retry runs again.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn abandon_idempotency(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        self.0.ports.store.abandon_idempotency(tenant, key).await
    }

    /// Forgets idempotency records older than `retention` (by the
    /// service's clock); returns how many.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn purge_idempotency(&self, retention: chrono::Duration) -> Result<u64, StoreError> {
        let before = self.0.ports.clock.now() - retention;
        self.0.ports.store.purge_idempotency(before).await
    }
}
