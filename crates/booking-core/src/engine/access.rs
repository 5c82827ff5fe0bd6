//! Tenants and API keys.

use super::{Attempt, retrying};
use crate::{ApiKey, Entity, KeyHash, Refusal, StoreError, Tenant, TxError, WriteStore};

fn failed(e: TxError) -> Attempt<StoreError> {
    Attempt::Done(match e {
        TxError::Retry(why) => return Attempt::Again(why),
        TxError::Store(e) => e,
        TxError::Refused(Refusal::NotFound(entity)) => StoreError::NotFound(entity),
        TxError::Refused(other) => {
            StoreError::Internal(format!("unexpected refusal of an access write: {other}"))
        }
    })
}

/// Creates a tenant together with its first keys, atomically: a tenant
/// never exists without a way in.
///
/// # Errors
/// Backend failures only.
pub async fn insert_tenant(
    store: &dyn WriteStore,
    tenant: &Tenant,
    keys: &[(ApiKey, KeyHash)],
) -> Result<(), StoreError> {
    retrying(
        || {
            Box::pin(async move {
                let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
                tx.insert_tenant(tenant).await.map_err(failed)?;
                for (key, hash) in keys {
                    tx.insert_api_key(key, hash).await.map_err(failed)?;
                }
                tx.commit().await.map_err(failed)
            })
        },
        StoreError::Unavailable("the store stayed busy".into()),
    )
    .await
}

/// Stores a new API key of an existing tenant.
///
/// # Errors
/// [`StoreError::NotFound`] if the tenant does not exist.
pub async fn insert_api_key(
    store: &dyn WriteStore,
    key: &ApiKey,
    hash: &KeyHash,
) -> Result<(), StoreError> {
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
                tx.commit().await.map_err(failed)
            })
        },
        StoreError::Unavailable("the store stayed busy".into()),
    )
    .await
}
