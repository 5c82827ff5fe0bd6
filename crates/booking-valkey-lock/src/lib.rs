//! # booking-valkey-lock
//!
//! The lock port ([`booking_core::LockService`]) on Valkey, shared by every
//! server node.
//!
//! - **All or nothing.** One Lua script takes every key a booking touches
//!   (its resource and each product-at-branch) or none, so two bookings can
//!   never hold halves of each other's keys and deadlock. Keys carry the
//!   tenant as a `{hash tag}`, so one script works on a Valkey cluster.
//! - **Owned.** Each acquisition stores a random 128-bit token with a TTL;
//!   release and extend are compare-and-delete / compare-and-expire
//!   scripts, so a holder whose TTL ran out can never release or extend the
//!   next holder's lock. Scripts run by SHA and are reloaded on `NOSCRIPT`.
//! - **Bounded waits.** A busy key is retried with exponential backoff and
//!   full jitter (backon's schedule, jittered uniformly in `[0, delay)`) up
//!   to the request's deadline; past it the caller hears "busy".
//! - **Degraded, not down.** If Valkey cannot be reached, every call answers
//!   `Unavailable` within [`ValkeyLockSettings::unavailable_after`] (250 ms by
//!   default), and the booking service continues on the store alone. The
//!   client reconnects by itself in the background.
//!
//! The store stays the authority: a holder paused past its TTL (GC, CPU
//! starvation) may write after another node took the lock, and the store
//! then refuses it. The lock keeps contention out of the database and gives
//! the loser a clean answer.
//!
//! ## Layout
//!
//! `settings.rs` configuration; `scripts.rs` the Lua scripts; this file the
//! port implementation.

#![forbid(unsafe_code)]

mod scripts;
mod settings;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use booking_core::{LockError, LockGuard, LockRequest, LockService, LockToken};
use fred::prelude::{Builder, Client, ClientLike, Config, ReconnectPolicy};
pub use settings::ValkeyLockSettings;

use crate::scripts::Scripts;

/// The lock service on Valkey.
#[derive(Clone)]
pub struct ValkeyLocks {
    client: Client,
    scripts: Scripts,
    settings: ValkeyLockSettings,
}

impl std::fmt::Debug for ValkeyLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValkeyLocks")
            .field("settings", &self.settings)
            .field("connected", &self.client.is_connected())
            .finish_non_exhaustive()
    }
}

/// The settings could not be turned into a client.
#[derive(Debug, thiserror::Error)]
#[error("invalid Valkey configuration: {0}")]
pub struct SetupError(#[source] fred::error::Error);

/// One try at taking the keys.
#[derive(Debug)]
enum Attempt {
    /// Someone else holds a key.
    Busy,
    /// Valkey did not answer in time.
    Unavailable(String),
}

impl ValkeyLocks {
    /// Builds the client and starts connecting in the background. It does
    /// not wait: if Valkey is down, calls answer `Unavailable` until it
    /// comes back, and the client reconnects by itself.
    ///
    /// # Errors
    /// [`SetupError`] if the URL is not a valid Valkey URL.
    pub fn connect(settings: ValkeyLockSettings) -> Result<Self, SetupError> {
        let mut config = Config::from_url(settings.url()).map_err(SetupError)?;
        // Run the reconnect logic for the first connection too, instead of
        // failing: a node may start while Valkey is still down.
        config.fail_fast = false;
        let bound = settings.unavailable_after;
        let client = Builder::from_config(config)
            .with_performance_config(|p| p.default_command_timeout = bound)
            .with_connection_config(|c| {
                c.connection_timeout = bound;
                c.internal_command_timeout = bound;
                // A command either runs once within the bound or fails.
                c.max_command_attempts = 1;
            })
            .set_policy(ReconnectPolicy::new_exponential(
                0, // retry forever
                50,
                u32::try_from(settings.reconnect_max_delay.as_millis()).unwrap_or(u32::MAX),
                2,
            ))
            .build()
            .map_err(SetupError)?;
        let _connection = client.connect();
        Ok(Self {
            client,
            scripts: Scripts::new(),
            settings,
        })
    }

    /// Waits until the first connection is up, at most `timeout`. Returns
    /// whether it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.client.wait_for_connect()).await,
            Ok(Ok(()))
        )
    }

    /// Whether Valkey answers a `PING` within the bound (for readiness).
    pub async fn ping(&self) -> bool {
        self.client.ping::<String>(None).await.is_ok()
    }

    async fn try_take(&self, request: &LockRequest, token: LockToken) -> Result<(), Attempt> {
        let ttl_ms = u64::try_from(request.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let taken: i64 = self
            .scripts
            .acquire
            .evalsha_with_reload(
                &self.client,
                keys(request.keys()),
                vec![token.to_string(), ttl_ms.to_string()],
            )
            .await
            .map_err(|e| Attempt::Unavailable(e.to_string()))?;
        if taken == 1 {
            Ok(())
        } else {
            Err(Attempt::Busy)
        }
    }

    /// Compare-and-delete: releases the keys only if `guard` still owns them.
    async fn release_owned(&self, guard: &LockGuard) -> Result<bool, LockError> {
        let released: i64 = self
            .scripts
            .release
            .evalsha_with_reload(
                &self.client,
                keys(&guard.keys),
                vec![guard.token.to_string()],
            )
            .await
            .map_err(|e| Self::unavailable(&e))?;
        Ok(usize::try_from(released).is_ok_and(|n| n == guard.keys.len()))
    }

    fn unavailable(e: &fred::error::Error) -> LockError {
        LockError::Unavailable(format!("Valkey: {e}"))
    }
}

fn keys(keys: &[booking_core::LockKey]) -> Vec<String> {
    keys.iter().map(|k| k.as_str().to_owned()).collect()
}

/// Full jitter: a uniform pick in `[0, delay)`, so waiters spread out
/// instead of retrying in step.
fn full_jitter(delay: Duration) -> Duration {
    delay.mul_f64(fastrand::f64())
}

#[async_trait]
impl LockService for ValkeyLocks {
    async fn acquire(&self, request: &LockRequest) -> Result<LockGuard, LockError> {
        let started = Instant::now();
        let deadline = started + request.wait;
        let token = LockToken::random();
        let schedule = ExponentialBuilder::default()
            .with_min_delay(self.settings.backoff_min)
            .with_max_delay(self.settings.backoff_max)
            .without_max_times();
        let outcome = (|| self.try_take(request, token))
            .retry(schedule)
            .sleep(tokio::time::sleep)
            .when(|e| matches!(e, Attempt::Busy) && Instant::now() < deadline)
            .adjust(|_, delay| {
                let left = deadline.saturating_duration_since(Instant::now());
                delay.map(|d| full_jitter(d).min(left))
            })
            .await;
        match outcome {
            Ok(()) => Ok(LockGuard {
                keys: request.keys().to_vec(),
                token,
                waited: started.elapsed(),
            }),
            Err(Attempt::Busy) => Err(LockError::Busy {
                waited: started.elapsed(),
            }),
            Err(Attempt::Unavailable(reason)) => Err(LockError::Unavailable(reason)),
        }
    }

    async fn release(&self, guard: &LockGuard) -> Result<bool, LockError> {
        self.release_owned(guard).await
    }

    fn release_detached(&self, guard: LockGuard) {
        // Dropped outside a runtime (at process exit): the TTL frees the keys.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let locks = self.clone();
            runtime.spawn(async move {
                // Best effort: an unreachable Valkey leaves the keys to the TTL.
                let _released = locks.release_owned(&guard).await;
            });
        }
    }
    async fn extend(&self, guard: &LockGuard, ttl: Duration) -> Result<bool, LockError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let extended: i64 = self
            .scripts
            .extend
            .evalsha_with_reload(
                &self.client,
                keys(&guard.keys),
                vec![guard.token.to_string(), ttl_ms.to_string()],
            )
            .await
            .map_err(|e| Self::unavailable(&e))?;
        Ok(extended == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_below_the_delay() {
        for _ in 0..1000 {
            assert!(full_jitter(Duration::from_millis(100)) < Duration::from_millis(100));
        }
    }
}
