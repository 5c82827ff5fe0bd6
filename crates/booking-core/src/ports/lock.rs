use std::fmt::{self, Debug};
use std::time::Duration;

use async_trait::async_trait;

use crate::{BranchId, ProductId, ResourceId, TenantId};

/// One lockable thing. Keys carry the tenant as a `{hash tag}` so all keys
/// of one booking land on one cluster slot and can be taken in one script.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockKey(String);

impl LockKey {
    /// The key for a resource's whole calendar (bookings lock the hours
    /// they occupy instead: [`LockKey::resource_time`]).
    #[must_use]
    pub fn resource(tenant: TenantId, resource: ResourceId) -> Self {
        Self(format!("booking:{{{tenant}}}:resource:{resource}"))
    }

    /// The keys for the time `occupied` on a resource's calendar (the
    /// booking's range widened by its buffers): one per hour (UTC) the
    /// range touches. Two bookings that could overlap share at least the
    /// hour where they would, so they queue; disjoint slots of one busy
    /// resource in different hours are written side by side (the database's
    /// exclusion constraint decides in any case). A day-long booking takes
    /// 25 keys; the longest a tenant allows bounds it.
    #[must_use]
    pub fn resource_time(
        tenant: TenantId,
        resource: ResourceId,
        occupied: &crate::TimeRange,
    ) -> Vec<Self> {
        const HOUR_MICROS: i64 = 3_600_000_000;
        let first = occupied.start().timestamp_micros().div_euclid(HOUR_MICROS);
        // Half-open: a range ending on the hour does not touch the next.
        let last = (occupied.end().timestamp_micros() - 1).div_euclid(HOUR_MICROS);
        (first..=last.max(first))
            .map(|hour| Self(format!("booking:{{{tenant}}}:resource:{resource}:h{hour}")))
            .collect()
    }

    /// The key for a product's stock at a branch.
    #[must_use]
    pub fn stock(tenant: TenantId, product: ProductId, branch: BranchId) -> Self {
        Self(format!("booking:{{{tenant}}}:stock:{product}:{branch}"))
    }

    /// The key for the holds one API key makes (they are counted against
    /// its quota one at a time).
    #[must_use]
    pub fn holds_of(tenant: TenantId, key: crate::ApiKeyId) -> Self {
        Self(format!("booking:{{{tenant}}}:holds:{key}"))
    }

    /// The key as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request for a set of keys, taken together or not at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRequest {
    keys: Vec<LockKey>,
    /// How long the lock lives if its holder never releases it.
    pub ttl: Duration,
    /// How long to keep trying while another holder has a key.
    pub wait: Duration,
}

impl LockRequest {
    /// Builds a request; keys are sorted and deduplicated.
    #[must_use]
    pub fn new(mut keys: Vec<LockKey>, ttl: Duration, wait: Duration) -> Self {
        keys.sort();
        keys.dedup();
        Self { keys, ttl, wait }
    }

    /// The keys, sorted and distinct.
    #[must_use]
    pub fn keys(&self) -> &[LockKey] {
        &self.keys
    }
}

/// The random token that proves ownership of an acquisition. 128 bits, so
/// it cannot be guessed or collide.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockToken(pub u128);

impl LockToken {
    /// A fresh token from the operating system's CSPRNG.
    ///
    /// # Panics
    /// If the operating system has no random number generator.
    #[must_use]
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random number generator");
        Self(u128::from_le_bytes(bytes))
    }
}

impl Debug for LockToken {
    // The token is a capability; keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockToken(..)")
    }
}

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Proof of a successful acquisition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockGuard {
    /// The keys held.
    pub keys: Vec<LockKey>,
    /// The owner's token; release and extend check it.
    pub token: LockToken,
    /// How long acquisition waited.
    pub waited: Duration,
}

/// Why no lock was obtained.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Another holder kept a key past the wait deadline.
    #[error("lock busy after waiting {waited:?}")]
    Busy {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The lock service cannot be reached; callers continue on the store
    /// alone (degraded), which stays correct.
    #[error("lock service unavailable: {0}")]
    Unavailable(String),
}

/// Mutual exclusion across every node: a booking takes the keys of all it
/// touches (its resource and each product-at-branch) before checking and
/// writing. The store stays the authority; the lock keeps contention and
/// needless failed transactions out of it and gives clean answers.
#[async_trait]
pub trait LockService: Send + Sync + Debug {
    /// Takes all keys of `request` atomically (all or none), waiting up to
    /// `request.wait` with backoff while any is held by someone else.
    ///
    /// # Errors
    /// - [`LockError::Busy`] if a key was still held at the deadline; no key
    ///   is left held by this call.
    /// - [`LockError::Unavailable`] if the service cannot be reached, within
    ///   a bounded time (implementations MUST NOT hang).
    async fn acquire(&self, request: &LockRequest) -> Result<LockGuard, LockError>;

    /// Releases the keys if, and only if, they are still held with the
    /// guard's token. Returns whether they were: `false` means the TTL ran
    /// out (and maybe someone else holds them now, which MUST stay intact).
    ///
    /// # Errors
    /// [`LockError::Unavailable`] if the service cannot be reached.
    async fn release(&self, guard: &LockGuard) -> Result<bool, LockError>;

    /// Releases like [`LockService::release`] without waiting for the
    /// answer, for a holder that is going away: the core calls it when the
    /// request holding the keys is dropped midway (a client that
    /// disconnected), so the keys do not block others for the whole TTL.
    /// It is called from `Drop`, so it MUST NOT block; an implementation
    /// that needs I/O hands the release to a background task, and one that
    /// cannot (no runtime) leaves the keys to expire by TTL.
    fn release_detached(&self, guard: LockGuard);

    /// Resets the TTL of the keys if, and only if, they are still held with
    /// the guard's token. Returns whether they were.
    ///
    /// # Errors
    /// [`LockError::Unavailable`] if the service cannot be reached.
    async fn extend(&self, guard: &LockGuard, ttl: Duration) -> Result<bool, LockError>;
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::{RangeLimits, TimeRange};

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2031, 1, 6, 0, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn span(from: i64, to: i64) -> TimeRange {
        TimeRange::new(
            at(from),
            at(to),
            &RangeLimits::with_max(chrono::Duration::days(31)),
        )
        .unwrap()
    }

    fn keys(from: i64, to: i64) -> Vec<LockKey> {
        let tenant = TenantId::from_uuid(uuid::Uuid::nil());
        let resource = ResourceId::from_uuid(uuid::Uuid::nil());
        LockKey::resource_time(tenant, resource, &span(from, to))
    }

    #[test]
    fn a_booking_locks_the_hours_it_touches() {
        assert_eq!(keys(600, 630).len(), 1, "10:00–10:30");
        assert_eq!(keys(600, 660).len(), 1, "10:00–11:00 ends on the hour");
        assert_eq!(keys(630, 690).len(), 2, "10:30–11:30");
        assert_eq!(keys(0, 24 * 60).len(), 24, "a day");
        assert!(
            keys(600, 660).iter().all(|k| !keys(660, 720).contains(k)),
            "touching bookings in different hours do not queue"
        );
    }

    proptest! {
        /// Two ranges that overlap always share a key: the lock never lets
        /// two writers that could conflict run side by side.
        #[test]
        fn overlapping_ranges_share_a_key(
            a in 0i64..3000, la in 1i64..600, b in 0i64..3000, lb in 1i64..600,
        ) {
            let (ka, kb) = (keys(a, a + la), keys(b, b + lb));
            let overlap = a < b + lb && b < a + la;
            let shared = ka.iter().any(|k| kb.contains(k));
            if overlap {
                prop_assert!(shared, "{a}+{la} and {b}+{lb} overlap but share no key");
            }
            if !shared {
                prop_assert!(!overlap);
            }
        }
    }
}
