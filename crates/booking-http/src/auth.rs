//! API keys: `Authorization: Bearer bk_<64 hex>`, checked by the access use
//! case (only the SHA-256 of a key is stored).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use booking_core::{ApiKey, OverrideHours, Role};

use crate::problem::Problem;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller(pub ApiKey);

impl Caller {
    /// Refuses unless the key may change the catalog and keys.
    ///
    /// # Errors
    /// 403.
    pub fn must_administer(&self) -> Result<(), Problem> {
        if self.0.role.may_administer() {
            Ok(())
        } else {
            Err(Problem::forbidden(self.0.role, "change the catalog"))
        }
    }

    /// Refuses unless the key may make and change reservations.
    ///
    /// # Errors
    /// 403.
    pub fn must_book(&self) -> Result<(), Problem> {
        if self.0.role.may_book() {
            Ok(())
        } else {
            Err(Problem::forbidden(
                self.0.role,
                "make or change reservations",
            ))
        }
    }

    /// The key's role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Permission to book outside working hours, if the request asks for it.
    ///
    /// # Errors
    /// 403 if it asks and the role may not.
    pub fn override_hours(&self, asked: bool) -> Result<Option<OverrideHours>, Problem> {
        if !asked {
            return Ok(None);
        }
        OverrideHours::for_role(self.0.role)
            .map(Some)
            .ok_or_else(|| Problem::forbidden(self.0.role, "book outside working hours"))
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
        Ok(Self(key))
    }
}
