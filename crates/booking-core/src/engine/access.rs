//! Tenants and API keys: created, revoked, given another role — each
//! recorded by an event in the same transaction (never the secret or its
//! hash). The rule: a tenant always keeps one active admin key, so an
//! administrator cannot lock the tenant out by revoking or demoting the
//! last one ([`plan_key_change`]).

use chrono::{DateTime, Utc};

use super::{Attempt, retrying};
use crate::event::payload::{KeyChange, TenantCreated};
use crate::time::to_micros;
use crate::{
    ApiKey, ApiKeyId, Attribution, Busy, CatalogRecord, Entity, Event, EventPayload, InvalidInput,
    KeyHash, NewEvent, Refusal, Role, StoreError, Tenant, TenantId, TenantSettings, TxError,
    WriteStore,
};

/// A change of an existing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUpdate {
    /// Stop it working, at once and for good.
    Revoke,
    /// Give it another role.
    Role(Role),
}

/// Why a key change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The tenant has no such key.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The change would leave the tenant without an active admin key.
    #[error("key {0} is the tenant's last active admin key; create another admin key first")]
    LastAdmin(ApiKeyId),
    /// A revoked key cannot be changed.
    #[error("key {0} is revoked")]
    Revoked(ApiKeyId),
    /// A value of the request is refused.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Concurrent writes kept the change from completing.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// A backend failure.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for KeyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::NotFound(entity),
            other => Self::Store(other),
        }
    }
}

fn failed<E: From<StoreError>>(e: TxError) -> Attempt<E> {
    Attempt::Done(E::from(match e {
        TxError::Retry(why) => return Attempt::Again(why),
        TxError::Store(e) => e,
        TxError::Refused(Refusal::NotFound(entity)) => StoreError::NotFound(entity),
        TxError::Refused(other) => {
            StoreError::Internal(format!("unexpected refusal of an access write: {other}"))
        }
    }))
}

fn event(by: &Attribution, at: DateTime<Utc>, payload: EventPayload) -> NewEvent {
    NewEvent {
        at: to_micros(at),
        by: by.clone(),
        payload,
    }
}

fn created(key: &ApiKey, by: &Attribution) -> NewEvent {
    event(
        by,
        key.created_at,
        EventPayload::ApiKeyCreated(KeyChange {
            before: None,
            after: key.into(),
        }),
    )
}

/// Creates a tenant with the default settings and its first keys,
/// atomically (a tenant never exists without a way in), recording
/// `TenantCreated` (with the settings) and an `ApiKeyCreated` per key as
/// the tenant's first events.
///
/// # Errors
/// Backend failures only.
pub async fn insert_tenant(
    store: &dyn WriteStore,
    tenant: &Tenant,
    keys: &[(ApiKey, KeyHash)],
    by: &Attribution,
    at: DateTime<Utc>,
) -> Result<Vec<Event>, StoreError> {
    let settings = TenantSettings::defaults(tenant.id);
    let mut events = vec![event(
        by,
        at,
        EventPayload::TenantCreated(TenantCreated::of(tenant, &settings)),
    )];
    events.extend(keys.iter().map(|(key, _)| created(key, by)));
    let events = &events;
    retrying(
        || {
            Box::pin(async move {
                let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
                tx.insert_tenant(tenant).await.map_err(failed)?;
                tx.put_catalog_record(&CatalogRecord::Settings(settings))
                    .await
                    .map_err(failed)?;
                for (key, hash) in keys {
                    tx.insert_api_key(key, hash).await.map_err(failed)?;
                }
                let events = tx.append(tenant.id, events.clone()).await.map_err(failed)?;
                tx.commit().await.map_err(failed)?;
                Ok(events)
            })
        },
        StoreError::Unavailable("the store stayed busy".into()),
    )
    .await
}

/// Stores a new API key of an existing tenant, recording `ApiKeyCreated`.
///
/// # Errors
/// [`StoreError::NotFound`] if the tenant does not exist.
pub async fn insert_api_key(
    store: &dyn WriteStore,
    key: &ApiKey,
    hash: &KeyHash,
    by: &Attribution,
) -> Result<Vec<Event>, StoreError> {
    let events = vec![created(key, by)];
    let events = &events;
    retrying(
        || {
            Box::pin(async move {
                let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
                tx.insert_api_key(key, hash).await.map_err(|e| match e {
                    TxError::Refused(Refusal::NotFound(_)) => {
                        Attempt::Done(StoreError::NotFound(Entity::Tenant(key.tenant_id)))
                    }
                    other => failed(other),
                })?;
                let events = tx
                    .append(key.tenant_id, events.clone())
                    .await
                    .map_err(failed)?;
                tx.commit().await.map_err(failed)?;
                Ok(events)
            })
        },
        StoreError::Unavailable("the store stayed busy".into()),
    )
    .await
}

/// The key `id` after `update` at `at`, given all the tenant's keys, or
/// `None` when nothing changes (revoking a revoked key, the same role).
///
/// # Errors
/// [`KeyError::NotFound`], [`KeyError::Revoked`] for a new role of a
/// revoked key, [`KeyError::LastAdmin`] when no other active admin key
/// would be left.
pub fn plan_key_change(
    keys: &[ApiKey],
    id: ApiKeyId,
    update: KeyUpdate,
    at: DateTime<Utc>,
) -> Result<Option<ApiKey>, KeyError> {
    let key = keys
        .iter()
        .find(|k| k.id == id)
        .ok_or(KeyError::NotFound(Entity::ApiKey(id)))?;
    let mut after = key.clone();
    match update {
        KeyUpdate::Revoke if key.revoked_at.is_some() => return Ok(None),
        KeyUpdate::Revoke => after.revoked_at = Some(to_micros(at)),
        KeyUpdate::Role(_) if key.revoked_at.is_some() => return Err(KeyError::Revoked(id)),
        KeyUpdate::Role(role) if role == key.role => return Ok(None),
        KeyUpdate::Role(role) => after.role = role,
    }
    let admin = |k: &ApiKey| k.role == Role::Admin && k.is_active(at);
    let others_admin = keys.iter().any(|k| k.id != id && admin(k));
    if admin(key) && !admin(&after) && !others_admin {
        return Err(KeyError::LastAdmin(id));
    }
    Ok(Some(after))
}

/// Revokes a key or changes its role ([`plan_key_change`]), recording
/// `ApiKeyRevoked` or `ApiKeyRoleChanged`; returns the key as it is now
/// and the events (none if nothing changed).
///
/// # Errors
/// As [`plan_key_change`]; [`KeyError::Busy`] when concurrent writers kept
/// it from completing; [`KeyError::Store`] for backend failures.
pub async fn change_key(
    store: &dyn WriteStore,
    tenant: TenantId,
    id: ApiKeyId,
    update: KeyUpdate,
    by: &Attribution,
    at: DateTime<Utc>,
) -> Result<(ApiKey, Vec<Event>), KeyError> {
    retrying(
        || {
            Box::pin(async move {
                let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
                let keys = tx.lock_api_keys(tenant).await.map_err(failed)?;
                let Some(after) = plan_key_change(&keys, id, update, at).map_err(Attempt::Done)?
                else {
                    let unchanged = keys.into_iter().find(|k| k.id == id);
                    return unchanged
                        .map(|k| (k, Vec::new()))
                        .ok_or(Attempt::Done(KeyError::NotFound(Entity::ApiKey(id))));
                };
                tx.update_api_key(&after).await.map_err(failed)?;
                let before = keys.iter().find(|k| k.id == id).map(Into::into);
                let change = KeyChange {
                    before,
                    after: (&after).into(),
                };
                let payload = match update {
                    KeyUpdate::Revoke => EventPayload::ApiKeyRevoked(change),
                    KeyUpdate::Role(_) => EventPayload::ApiKeyRoleChanged(change),
                };
                let events = tx
                    .append(tenant, vec![event(by, at, payload)])
                    .await
                    .map_err(failed)?;
                tx.commit().await.map_err(failed)?;
                Ok((after, events))
            })
        },
        KeyError::Busy(Busy::Store),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Actor;

    fn key(role: Role) -> ApiKey {
        ApiKey {
            id: ApiKeyId::generate(),
            tenant_id: TenantId::generate(),
            role,
            actor: Actor::new("someone").unwrap(),
            created_at: Utc::now(),
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn the_last_active_admin_key_can_be_neither_revoked_nor_demoted() {
        let now = Utc::now();
        let admin = key(Role::Admin);
        let mut expired_admin = key(Role::Admin);
        expired_admin.expires_at = Some(now - chrono::Duration::minutes(1));
        let keys = [admin.clone(), expired_admin, key(Role::Staff)];
        for update in [KeyUpdate::Revoke, KeyUpdate::Role(Role::Viewer)] {
            assert_eq!(
                plan_key_change(&keys, admin.id, update, now),
                Err(KeyError::LastAdmin(admin.id))
            );
        }
        let second = key(Role::Admin);
        let keys = [admin.clone(), second];
        let revoked = plan_key_change(&keys, admin.id, KeyUpdate::Revoke, now)
            .unwrap()
            .unwrap();
        assert!(!revoked.is_active(now));
    }

    #[test]
    fn revoking_twice_or_setting_the_same_role_changes_nothing() {
        let now = Utc::now();
        let mut staff = key(Role::Staff);
        assert_eq!(
            plan_key_change(
                std::slice::from_ref(&staff),
                staff.id,
                KeyUpdate::Role(Role::Staff),
                now
            ),
            Ok(None)
        );
        staff.revoked_at = Some(now);
        assert_eq!(
            plan_key_change(
                std::slice::from_ref(&staff),
                staff.id,
                KeyUpdate::Revoke,
                now
            ),
            Ok(None)
        );
        assert_eq!(
            plan_key_change(
                std::slice::from_ref(&staff),
                staff.id,
                KeyUpdate::Role(Role::Admin),
                now
            ),
            Err(KeyError::Revoked(staff.id))
        );
    }

    #[test]
    fn another_tenants_key_is_not_found() {
        let id = ApiKeyId::generate();
        assert_eq!(
            plan_key_change(&[key(Role::Admin)], id, KeyUpdate::Revoke, Utc::now()),
            Err(KeyError::NotFound(Entity::ApiKey(id)))
        );
    }
}
