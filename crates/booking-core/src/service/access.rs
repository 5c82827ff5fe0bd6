//! [`AccessService`]: tenants, API keys (made, listed, revoked, given
//! another role — each an audited event) and the idempotency records of
//! retried requests. Secrets are made here and shown once; only their hash
//! is stored.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Shared, publish};
use crate::engine::{KeyError, KeyUpdate};
use crate::{
    Actor, ApiKey, ApiKeyId, Attribution, Claim, Entity, IdempotencyKey, IdempotencyScope,
    InvalidInput, KeyHash, Name, Role, StoreError, Tenant, TenantId, access, engine,
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

/// What a new key is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// What it may do.
    pub role: Role,
    /// The name recorded on its events.
    pub actor: Actor,
    /// When it stops working by itself (must be in the future), if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl AccessService {
    fn new_key(&self, tenant: TenantId, spec: KeySpec) -> (NewKey, KeyHash) {
        let secret = access::new_secret();
        let hash = KeyHash::of_secret(&secret);
        let key = ApiKey {
            id: ApiKeyId::generate(),
            tenant_id: tenant,
            role: spec.role,
            actor: spec.actor,
            created_at: crate::time::to_micros(self.0.ports.clock.now()),
            expires_at: spec.expires_at.map(crate::time::to_micros),
            revoked_at: None,
        };
        (NewKey { key, secret }, hash)
    }

    /// Creates a tenant with an admin key (acting as `admin_actor`), in one
    /// transaction, recorded as `TenantCreated` and `ApiKeyCreated`.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn provision_tenant(
        &self,
        name: Name,
        admin_actor: Actor,
        by: &Attribution,
    ) -> Result<Provisioned, StoreError> {
        let tenant = Tenant {
            id: TenantId::generate(),
            name,
        };
        let spec = KeySpec {
            role: Role::Admin,
            actor: admin_actor,
            expires_at: None,
        };
        let (admin, hash) = self.new_key(tenant.id, spec);
        let events = engine::insert_tenant(
            self.0.ports.store.as_ref(),
            &tenant,
            &[(admin.key.clone(), hash)],
            by,
            self.0.ports.clock.now(),
        )
        .await?;
        publish(&self.0, &events).await;
        Ok(Provisioned { tenant, admin })
    }

    /// Creates a key for an existing tenant, recorded as `ApiKeyCreated`.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] for an expiry that is not in the future;
    /// [`KeyError::NotFound`] if the tenant does not exist.
    pub async fn create_key(
        &self,
        tenant: TenantId,
        spec: KeySpec,
        by: &Attribution,
    ) -> Result<NewKey, KeyError> {
        if spec
            .expires_at
            .is_some_and(|t| t <= self.0.ports.clock.now())
        {
            return Err(KeyError::Invalid(InvalidInput::new(
                "expires_at",
                "must be in the future",
            )));
        }
        let (new, hash) = self.new_key(tenant, spec);
        let events =
            engine::insert_api_key(self.0.ports.store.as_ref(), &new.key, &hash, by).await?;
        publish(&self.0, &events).await;
        Ok(new)
    }

    /// The tenant's keys (revoked and expired ones too), by id; never
    /// their secrets.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.0.ports.store.api_keys(tenant).await
    }

    /// One of the tenant's keys.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if absent or another tenant's.
    pub async fn key(&self, tenant: TenantId, id: ApiKeyId) -> Result<ApiKey, StoreError> {
        self.keys(tenant)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or(StoreError::NotFound(Entity::ApiKey(id)))
    }

    /// Revokes a key at once, recorded as `ApiKeyRevoked` and pushed to the
    /// tenant's streams (so every node closes the key's open streams); the
    /// key gets 401 from its next request on. Revoking a revoked key
    /// changes nothing.
    ///
    /// # Errors
    /// [`KeyError::NotFound`], or [`KeyError::LastAdmin`] for the tenant's
    /// last active admin key.
    pub async fn revoke_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        by: &Attribution,
    ) -> Result<ApiKey, KeyError> {
        self.change_key(tenant, id, KeyUpdate::Revoke, by).await
    }

    /// Gives a key another role, recorded as `ApiKeyRoleChanged`.
    ///
    /// # Errors
    /// [`KeyError::NotFound`], [`KeyError::Revoked`], or
    /// [`KeyError::LastAdmin`] when demoting the last active admin key.
    pub async fn change_role(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        role: Role,
        by: &Attribution,
    ) -> Result<ApiKey, KeyError> {
        self.change_key(tenant, id, KeyUpdate::Role(role), by).await
    }

    async fn change_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        update: KeyUpdate,
        by: &Attribution,
    ) -> Result<ApiKey, KeyError> {
        let now = self.0.ports.clock.now();
        let (key, events) =
            engine::change_key(self.0.ports.store.as_ref(), tenant, id, update, by, now).await?;
        publish(&self.0, &events).await;
        Ok(key)
    }

    /// The active key whose secret this is, if any: a revoked or expired
    /// key is refused like an unknown one.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        let key = self
            .0
            .ports
            .store
            .api_key(&KeyHash::of_secret(secret))
            .await?;
        let now = self.0.ports.clock.now();
        Ok(key.filter(|k| k.is_active(now)))
    }

    /// Whether any tenant exists (a fresh store may get the demo clinic).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn has_tenants(&self) -> Result<bool, StoreError> {
        self.0.ports.store.has_tenants().await
    }

    /// The service's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.0.ports.clock.now()
    }

    /// Claims an idempotency key for a request at `at` (see
    /// [`crate::AccessStore::claim_idempotency`]; [`AccessService::now`]).
    /// An unfinished claim older than `lease` is taken over: its request
    /// died with its node, and the retry runs. When this fails the claim
    /// may still have been made: `at` names it to
    /// [`AccessService::abandon_idempotency`].
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn claim_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Claim, StoreError> {
        self.0
            .ports
            .store
            .claim_idempotency(scope, key, fingerprint, at, at - lease)
            .await
    }

    /// Stores the outcome of the claim made at `claimed_at` for its
    /// retries.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn finish_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &str,
    ) -> Result<(), StoreError> {
        self.0
            .ports
            .store
            .finish_idempotency(scope, key, claimed_at, outcome)
            .await
    }

    /// Drops the unfinished claim of `key` made at `claimed_at` (see
    /// [`crate::AccessStore::abandon_idempotency`]), so a retry runs again.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn abandon_idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0
            .ports
            .store
            .abandon_idempotency(scope, key, claimed_at)
            .await
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
