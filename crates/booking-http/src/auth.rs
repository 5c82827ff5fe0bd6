//! API keys: `Authorization: Bearer bk_<64 hex>`, checked by the access use
//! case (only the SHA-256 of a key is stored; a revoked or expired key is
//! refused like an unknown one, on every node, from its next request).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use booking_core::{ApiKey, Attribution, OverrideHours, OverrideStart, RequestId, Role, TenantId};

use crate::middleware::REQUEST_ID;
use crate::problem::Problem;
use crate::state::AppState;

/// The authenticated caller: an active key, and the request it sent.
#[derive(Clone, Debug)]
pub struct Caller {
    key: ApiKey,
    request_id: Option<RequestId>,
    /// What an idempotent request (one sent with an `Idempotency-Key`)
    /// creates is named from its key, the same on every retry.
    seed: Option<uuid::Uuid>,
}

impl Caller {
    /// The caller's key.
    #[must_use]
    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    /// The tenant the key acts for: every read and write is scoped to it.
    #[must_use]
    pub fn tenant(&self) -> TenantId {
        self.key.tenant_id
    }

    /// Who the changes of this request are recorded as made by: the key's
    /// actor name and id, and the request id.
    #[must_use]
    pub fn by(&self) -> Attribution {
        Attribution::key(&self.key, self.request_id.clone())
    }

    /// This request sent with an `Idempotency-Key` whose claim derived
    /// `seed` from the key and what the request asks.
    pub(crate) fn idempotent(mut self, seed: uuid::Uuid) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The id what this request creates gets (a reservation, branch,
    /// resource, service or product): the same on every retry of an
    /// idempotent request (so a retry after a lost answer finds the first
    /// attempt's record), fresh otherwise.
    #[must_use]
    pub fn created_uuid(&self) -> uuid::Uuid {
        self.seed.unwrap_or_else(uuid::Uuid::now_v7)
    }

    /// Refuses unless the key may change the catalog and keys.
    ///
    /// # Errors
    /// 403.
    pub fn must_administer(&self) -> Result<(), Problem> {
        if self.key.role.may_administer() {
            Ok(())
        } else {
            Err(Problem::forbidden(self.key.role, "change the catalog"))
        }
    }

    /// Refuses unless the key may make and change reservations.
    ///
    /// # Errors
    /// 403.
    pub fn must_book(&self) -> Result<(), Problem> {
        if self.key.role.may_book() {
            Ok(())
        } else {
            Err(Problem::forbidden(
                self.key.role,
                "make or change reservations",
            ))
        }
    }

    /// The key's role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.key.role
    }

    /// Permission to book starts the tenant's settings refuse (in the past,
    /// too soon, beyond the horizon): administrators have it.
    #[must_use]
    pub fn override_start(&self) -> Option<OverrideStart> {
        OverrideStart::for_role(self.key.role)
    }

    /// Permission to book outside working hours, if the request asks for it.
    ///
    /// # Errors
    /// 403 if it asks and the role may not.
    pub fn override_hours(&self, asked: bool) -> Result<Option<OverrideHours>, Problem> {
        if !asked {
            return Ok(None);
        }
        OverrideHours::for_role(self.key.role)
            .map(Some)
            .ok_or_else(|| Problem::forbidden(self.key.role, "book outside working hours"))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already authenticated by a middleware of this request (the
        // idempotency one): do not look the key up twice.
        if let Some(caller) = parts.extensions.get::<Self>() {
            return Ok(caller.clone());
        }
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(Problem::unauthorized)?;
        let key = state
            .services
            .access()
            .authenticate(secret)
            .await?
            .ok_or_else(Problem::unauthorized)?;
        // Set (or generated) by the request-id layer before any handler;
        // one that is not short visible ASCII is not recorded.
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| RequestId::new(v).ok());
        Ok(Self {
            key,
            request_id,
            seed: None,
        })
    }
}
