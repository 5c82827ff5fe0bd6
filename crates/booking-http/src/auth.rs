//! API keys: `Authorization: Bearer bk_<64 hex>`. Only the SHA-256 of a key
//! is stored; a request's key is hashed and looked up.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use booking_core::{ApiKey, KeyHash, Role};

use crate::problem::Problem;
use crate::state::AppState;

/// A new secret key: `bk_` and 32 random bytes in hex.
///
/// # Panics
/// If the operating system has no randomness to give.
#[must_use]
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator");
    format!("bk_{}", hex::encode(bytes))
}

/// The stored form of a secret.
#[must_use]
pub fn hash_secret(secret: &str) -> KeyHash {
    KeyHash::of_secret(secret)
}

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
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(Problem::unauthorized)?;
        let key = state
            .store
            .api_key(&hash_secret(secret))
            .await?
            .ok_or_else(Problem::unauthorized)?;
        Ok(Self(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hash_to_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("bk_") && a.len() == 67);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }
}
