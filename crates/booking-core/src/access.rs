//! Who may do what: API keys with a role and an actor name, and the
//! idempotency records that make retried requests safe. The secret key is
//! never stored — only its hash, computed at the edge.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Actor, ApiKeyId, TenantId};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: catalog, keys, bookings, reads.
    Admin,
    /// Bookings and reads.
    Staff,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Whether the role may change the catalog and manage keys.
    #[must_use]
    pub const fn may_administer(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Whether the role may create and change reservations.
    #[must_use]
    pub const fn may_book(self) -> bool {
        matches!(self, Self::Admin | Self::Staff)
    }

    /// Whether the role may book outside working hours (an override):
    /// a permission of its own, not every role that books has it. Like
    /// booking outside the notice and horizon, it is an administrator's
    /// call (squeezing a patient in after hours).
    #[must_use]
    pub const fn may_override_hours(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Whether the role may read events of this type: events about
    /// tenants and keys are for administrators only.
    #[must_use]
    pub const fn may_read(self, event: crate::EventType) -> bool {
        !event.is_access() || self.may_administer()
    }

    /// The role's name as stored and shown.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Admin, Self::Staff, Self::Viewer]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; use admin, staff or viewer"))
    }
}

/// A new secret API key: `bk_` and 32 random bytes from the operating
/// system, in hex. Only its [`KeyHash`] is ever stored.
///
/// # Panics
/// If the operating system has no randomness to give.
#[must_use]
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator");
    format!("bk_{}", hex::encode(bytes))
}

/// Permission to book outside a resource's working hours, which only some
/// roles have: the use cases take this token instead of a flag, so a
/// request can only carry it once its role was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverrideHours(());

impl OverrideHours {
    /// The permission, if `role` has it.
    #[must_use]
    pub const fn for_role(role: Role) -> Option<Self> {
        if role.may_override_hours() {
            Some(Self(()))
        } else {
            None
        }
    }
}

/// Permission to book a start the tenant's settings would refuse (in the
/// past, sooner than the minimum notice, beyond the horizon): only
/// administrators have it, e.g. to enter an appointment after the fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverrideStart(());

impl OverrideStart {
    /// The permission, if `role` has it.
    #[must_use]
    pub const fn for_role(role: Role) -> Option<Self> {
        if role.may_administer() {
            Some(Self(()))
        } else {
            None
        }
    }
}

/// The hex SHA-256 of a secret key: what stores keep and look keys up by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    /// Wraps a hash given as 64 lowercase hex digits.
    ///
    /// # Errors
    /// A message if it is not 64 lowercase hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, String> {
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(hex.to_owned()))
        } else {
            Err("a key hash is 64 lowercase hex digits".into())
        }
    }

    /// The stored form of a secret key: its SHA-256, in hex.
    #[must_use]
    pub fn of_secret(secret: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    /// The hash as hex.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyHash {
    // Hashes are not secrets, but there is no reason to spread them in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({}…)", &self.0[..8])
    }
}

/// An API key's record (without the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The tenant it acts for.
    pub tenant_id: TenantId,
    /// What it may do.
    pub role: Role,
    /// The name recorded on every event it causes.
    pub actor: Actor,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working by itself, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When an administrator revoked it; it works no more.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key lets its holder in at `now`: not revoked, not
    /// expired.
    #[must_use]
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| now < t)
    }
}

/// A client's `Idempotency-Key`: 1–255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key.
    ///
    /// # Errors
    /// A message saying what a valid key looks like.
    pub fn new(key: &str) -> Result<Self, String> {
        if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(key.to_owned()))
        } else {
            Err("an Idempotency-Key is 1 to 255 visible ASCII characters".into())
        }
    }

    /// The key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose idempotency records: each API key has its own, so one key's
/// requests never meet another's (a read-only key cannot spoil a staff
/// member's retries, nor read their answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyScope {
    /// The key's tenant.
    pub tenant: crate::TenantId,
    /// The API key the request came with.
    pub api_key: crate::ApiKeyId,
}

/// What claiming an idempotency key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new and now claimed: run the request, then finish it.
    New,
    /// The same request already ran: answer with its stored outcome.
    Replay {
        /// What [`crate::AccessStore::finish_idempotency`] stored.
        outcome: String,
    },
    /// The same request is running right now elsewhere: wait and claim again.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_administer_and_viewers_cannot_book() {
        assert!(Role::Admin.may_administer() && Role::Admin.may_book());
        assert!(!Role::Staff.may_administer() && Role::Staff.may_book());
        assert!(!Role::Viewer.may_administer() && !Role::Viewer.may_book());
        assert_eq!("staff".parse::<Role>(), Ok(Role::Staff));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::new("order-42").is_ok());
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("has space").is_err());
        assert!(IdempotencyKey::new(&"k".repeat(256)).is_err());
    }

    #[test]
    fn secrets_are_random_and_hash_to_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("bk_") && a.len() == 67);
        assert_eq!(KeyHash::of_secret(&a), KeyHash::of_secret(&a));
        assert_ne!(KeyHash::of_secret(&a), KeyHash::of_secret(&b));
    }

    #[test]
    fn only_administrators_may_override_working_hours() {
        assert!(OverrideHours::for_role(Role::Admin).is_some());
        assert!(
            OverrideHours::for_role(Role::Staff).is_none(),
            "booking is not enough"
        );
        assert!(OverrideHours::for_role(Role::Viewer).is_none());
    }

    #[test]
    fn key_hashes_are_64_lowercase_hex_digits() {
        assert!(KeyHash::from_hex(&"ab".repeat(32)).is_ok());
        assert!(KeyHash::from_hex("AB").is_err());
    }
}
