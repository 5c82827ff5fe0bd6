//! [`InMemoryLocks`]: the lock port for one process (the embedded default).
//! Same semantics as the Valkey adapter: all-or-nothing multi-key
//! acquisition, random tokens, TTL, compare-and-delete release.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{LockError, LockGuard, LockKey, LockRequest, LockService, LockToken};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Locks held in this process. Waiters sleep until a release (or the
/// earliest expiry, or their deadline) instead of polling.
#[derive(Debug, Default)]
pub struct InMemoryLocks {
    held: Mutex<HashMap<LockKey, (LockToken, Instant)>>,
    released: Notify,
    down: AtomicBool,
}

impl InMemoryLocks {
    /// No locks held.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates an outage: while down, every call answers `Unavailable`
    /// (for degraded-mode tests and for embedders who want no locking).
    pub fn set_available(&self, available: bool) {
        self.down.store(!available, Ordering::SeqCst);
    }

    fn table(&self) -> MutexGuard<'_, HashMap<LockKey, (LockToken, Instant)>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check_up(&self) -> Result<(), LockError> {
        if self.down.load(Ordering::SeqCst) {
            Err(LockError::Unavailable(
                "in-memory lock service switched off".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// Takes every key or none. On failure returns when the earliest
    /// blocking key expires.
    fn try_take(&self, keys: &[LockKey], token: LockToken, ttl: Duration) -> Result<(), Instant> {
        let now = Instant::now();
        let mut held = self.table();
        let blocking = keys
            .iter()
            .filter_map(|k| {
                held.get(k)
                    .filter(|(_, exp)| *exp > now)
                    .map(|(_, exp)| *exp)
            })
            .min();
        if let Some(expiry) = blocking {
            return Err(expiry);
        }
        for key in keys {
            held.insert(key.clone(), (token, now + ttl));
        }
        Ok(())
    }

    /// Releases the guard's keys if it still holds them; whether it did.
    fn release_now(&self, guard: &LockGuard) -> bool {
        let released = self.with_owned(guard, |held, key| {
            held.remove(key);
        });
        if released {
            self.released.notify_waiters();
        }
        released
    }

    /// Runs `f` on each key still held with the guard's token; whether all were.
    fn with_owned(
        &self,
        guard: &LockGuard,
        mut f: impl FnMut(&mut HashMap<LockKey, (LockToken, Instant)>, &LockKey),
    ) -> bool {
        let now = Instant::now();
        let mut held = self.table();
        let owns_all = guard.keys.iter().all(|k| {
            held.get(k)
                .is_some_and(|(t, exp)| *t == guard.token && *exp > now)
        });
        if owns_all {
            for key in &guard.keys {
                f(&mut held, key);
            }
        }
        owns_all
    }
}

#[async_trait]
impl LockService for InMemoryLocks {
    async fn acquire(&self, request: &LockRequest) -> Result<LockGuard, LockError> {
        self.check_up()?;
        let started = Instant::now();
        let deadline = started + request.wait;
        let token = LockToken::random();
        loop {
            // Register for wake-ups before looking, so a release between the
            // look and the wait is not missed.
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_take(request.keys(), token, request.ttl) {
                Ok(()) => {
                    return Ok(LockGuard {
                        keys: request.keys().to_vec(),
                        token,
                        waited: started.elapsed(),
                    });
                }
                Err(expiry) => {
                    if Instant::now() >= deadline {
                        return Err(LockError::Busy {
                            waited: started.elapsed(),
                        });
                    }
                    let _ = tokio::time::timeout_at(expiry.min(deadline), notified).await;
                }
            }
        }
    }

    async fn release(&self, guard: &LockGuard) -> Result<bool, LockError> {
        self.check_up()?;
        Ok(self.release_now(guard))
    }

    fn release_detached(&self, guard: LockGuard) {
        // In process there is no I/O to wait for: release right away.
        if !self.down.load(Ordering::SeqCst) {
            self.release_now(&guard);
        }
    }

    async fn extend(&self, guard: &LockGuard, ttl: Duration) -> Result<bool, LockError> {
        self.check_up()?;
        let until = Instant::now() + ttl;
        Ok(self.with_owned(guard, |held, key| {
            if let Some(entry) = held.get_mut(key) {
                entry.1 = until;
            }
        }))
    }
}
