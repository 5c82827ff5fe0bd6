//! API keys as administrators see them: never the secret, except once in
//! the answer that creates it.

use booking_core::ApiKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An API key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyView {
    /// The key's id: what events name as `actor_key_id`.
    id: Uuid,
    /// `admin`, `staff` or `viewer`.
    role: &'static str,
    /// The name recorded on its events as `actor`.
    actor: String,
    created_at: DateTime<Utc>,
    /// When it stops working by itself; `null`: never.
    expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    status: &'static str,
}

impl KeyView {
    pub(crate) fn new(k: &ApiKey, now: DateTime<Utc>) -> Self {
        let status = if k.revoked_at.is_some() {
            "revoked"
        } else if k.is_active(now) {
            "active"
        } else {
            "expired"
        };
        Self {
            id: k.id.as_uuid(),
            role: k.role.as_str(),
            actor: k.actor.as_str().to_owned(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            status,
        }
    }
}

/// A key just created, with its secret: shown this once, never stored
/// (only its SHA-256 is).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NewKeyView {
    #[serde(flatten)]
    pub(crate) key: KeyView,
    /// The secret, to send as `Authorization: Bearer …`.
    pub(crate) api_key: String,
}
