//! How much one API key and one tenant may ask of a node: requests a
//! second (a token bucket each, `governor`) and requests in flight.
//! Over a limit the answer is 429 problem+json with `Retry-After`, before
//! anything is read or written for the request.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;
use booking_core::tally::Tally;
use booking_core::{ApiKey, ApiKeyId, TenantId};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::problem::Problem;

/// The limits, per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Requests a second one API key may make (bursts of twice that).
    pub per_key: u32,
    /// Requests a second all keys of one tenant may make together (bursts
    /// of twice that).
    pub per_tenant: u32,
    /// Requests of one API key being answered at once.
    pub in_flight_per_key: usize,
    /// Requests of all keys of one tenant being answered at once.
    pub in_flight_per_tenant: usize,
    /// Failed authentications (401s) a second one peer address may cause
    /// (bursts of five times that); past them its requests get 429 unless
    /// their key authenticated recently. 0: no limit.
    pub auth_failures_per_address: u32,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            per_key: 100,
            per_tenant: 1_000,
            in_flight_per_key: 64,
            in_flight_per_tenant: 256,
            auth_failures_per_address: 10,
        }
    }
}

/// The limiters' state.
pub(crate) struct Limiter {
    limits: RequestLimits,
    keys: DefaultKeyedRateLimiter<ApiKeyId>,
    tenants: DefaultKeyedRateLimiter<TenantId>,
    in_flight: Mutex<InFlightCounts>,
    checks: AtomicU64,
}

/// Requests being answered, per key and per tenant.
#[derive(Default)]
struct InFlightCounts {
    keys: Tally<ApiKeyId>,
    tenants: Tally<TenantId>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A request being answered; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct InFlight {
    limiter: Arc<Limiter>,
    key: ApiKeyId,
    tenant: TenantId,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut in_flight = self.limiter.in_flight();
        in_flight.keys.give_back(&self.key);
        in_flight.tenants.give_back(&self.tenant);
    }
}

fn quota(per_second: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
    Quota::per_second(rate).allow_burst(burst)
}

impl Limiter {
    pub(crate) fn new(limits: RequestLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            keys: DefaultKeyedRateLimiter::keyed(quota(limits.per_key)),
            tenants: DefaultKeyedRateLimiter::keyed(quota(limits.per_tenant)),
            in_flight: Mutex::new(InFlightCounts::default()),
            checks: AtomicU64::new(0),
        })
    }

    fn in_flight(&self) -> MutexGuard<'_, InFlightCounts> {
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a request of `key`, or says when to come back.
    pub(crate) fn admit(self: &Arc<Self>, key: &ApiKey) -> Result<InFlight, Problem> {
        // Forget idle buckets now and then (a bucket full again is the
        // same as none).
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.keys.retain_recent();
            self.tenants.retain_recent();
        }
        // The limiter's own clock: a new one calibrates itself (cpuid) each time,
        // about 2 % of a node's CPU under load.
        let now = self.keys.clock().now();
        let refuse = |who: &str, per_second: u32, wait: std::time::Duration| {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!(
                    "{who} may make {per_second} requests a second (bursts of twice that); \
                     retry after {} s",
                    seconds.max(1)
                ),
            )
            .retry_after(seconds.max(1))
        };
        self.keys.check_key(&key.id).map_err(|until| {
            refuse(
                "this API key",
                self.limits.per_key,
                until.wait_time_from(now),
            )
        })?;
        self.tenants.check_key(&key.tenant_id).map_err(|until| {
            refuse(
                "this tenant",
                self.limits.per_tenant,
                until.wait_time_from(now),
            )
        })?;
        let mut in_flight = self.in_flight();
        let busy = |who: &str, n: usize| {
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-in-flight",
                "Too many requests at once",
                format!(
                    "{who} has {n} requests being answered, as many as it may; retry after 1 s"
                ),
            )
            .retry_after(1)
        };
        in_flight
            .keys
            .take(key.id, self.limits.in_flight_per_key)
            .map_err(|n| busy("this API key", n))?;
        if let Err(n) = in_flight
            .tenants
            .take(key.tenant_id, self.limits.in_flight_per_tenant)
        {
            in_flight.keys.give_back(&key.id);
            return Err(busy("this tenant", n));
        }
        Ok(InFlight {
            limiter: Arc::clone(self),
            key: key.id,
            tenant: key.tenant_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_core::{Actor, Role};

    fn key(tenant: TenantId) -> ApiKey {
        ApiKey {
            id: ApiKeyId::generate(),
            tenant_id: tenant,
            role: Role::Staff,
            actor: Actor::new("front desk").unwrap(),
            created_at: chrono::Utc::now(),
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_key_past_its_rate_waits_and_others_do_not() {
        let limiter = Limiter::new(RequestLimits {
            per_key: 5,
            per_tenant: 1_000,
            in_flight_per_key: 100,
            in_flight_per_tenant: 100,
            ..RequestLimits::default()
        });
        let tenant = TenantId::generate();
        let (busy, calm) = (key(tenant), key(tenant));
        let mut held = Vec::new();
        for _ in 0..10 {
            held.push(limiter.admit(&busy).expect("within the burst"));
        }
        let refused = limiter.admit(&busy).unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limiter.admit(&calm).is_ok(), "another key has its own");
    }

    #[test]
    fn a_tenant_past_its_rate_waits_whichever_key_asks() {
        let limiter = Limiter::new(RequestLimits {
            per_key: 1_000,
            per_tenant: 3,
            in_flight_per_key: 100,
            in_flight_per_tenant: 100,
            ..RequestLimits::default()
        });
        let (t, other) = (TenantId::generate(), TenantId::generate());
        for _ in 0..6 {
            drop(limiter.admit(&key(t)).expect("within the tenant's burst"));
        }
        assert!(limiter.admit(&key(t)).is_err());
        assert!(limiter.admit(&key(other)).is_ok());
    }

    #[test]
    fn in_flight_requests_of_a_key_are_capped_and_freed() {
        let limiter = Limiter::new(RequestLimits {
            per_key: 1_000,
            per_tenant: 1_000,
            in_flight_per_key: 2,
            in_flight_per_tenant: 3,
            ..RequestLimits::default()
        });
        let tenant = TenantId::generate();
        let (k, other) = (key(tenant), key(tenant));
        let a = limiter.admit(&k).unwrap();
        let _b = limiter.admit(&k).unwrap();
        assert!(limiter.admit(&k).is_err(), "the key's cap");
        let _c = limiter.admit(&other).unwrap();
        assert!(limiter.admit(&other).is_err(), "the tenant's cap");
        assert!(
            limiter.admit(&key(TenantId::generate())).is_ok(),
            "another tenant's own"
        );
        drop(a);
        assert!(
            limiter.admit(&k).is_ok(),
            "a finished request frees its place"
        );
    }
}
