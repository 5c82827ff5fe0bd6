//! The hold sweeper: records the expiry of holds whose time ran out, so
//! their slots and stock are visibly free and subscribers hear about it
//! even when no booking touches them.
//!
//! It is fair and cannot be stopped by any one tenant or hold:
//! - the store lists stale holds with tenants taking turns (every tenant's
//!   soonest first, then every tenant's second, …), so one tenant's
//!   thousands do not keep another's one waiting;
//! - a hold whose expiry fails (anything but "changed by someone else") is
//!   parked: skipped by the next sweeps for a minute, then two, up to an
//!   hour, and retried; the sweep goes on to the holds after it.
//!
//! Several nodes may sweep at once: a hold another node already expired is
//! skipped by its version, so stock is never given back twice.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::BookingService;
use crate::{ApplyError, Attribution, ReservationEventKind, ReservationId, ReservationWrite};

/// How long a hold whose expiry failed is left alone at first; each
/// further failure doubles it, up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::minutes(1);
const LONGEST_WAIT: Duration = Duration::hours(1);
/// The most holds parked at once (beyond, a failing hold is retried on
/// every sweep, which the tenants' turns still keep fair).
const MOST_PARKED: usize = 1_000;
/// The most pages one sweep reads.
const MOST_PAGES: usize = 20;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Holds whose expiry was recorded.
    pub expired: usize,
    /// Holds whose expiry failed (parked, retried later).
    pub failed: usize,
    /// Holds skipped because they were parked (and not due) when the
    /// sweep began.
    pub parked: usize,
}

/// A hold left alone after a failure.
#[derive(Clone, Copy, Debug)]
struct Parked {
    until: DateTime<Utc>,
    wait: Duration,
}

/// Records expired holds, a page at a time; keeps the holds it could not
/// expire between sweeps (one per node).
#[derive(Debug)]
pub struct HoldSweeper {
    bookings: BookingService,
    page: usize,
    parked: HashMap<ReservationId, Parked>,
}

/// How one hold's expiry went.
enum Outcome {
    Expired,
    /// Confirmed, cancelled or expired by someone else meanwhile.
    Gone,
    Failed(ApplyError),
}

impl HoldSweeper {
    /// A sweeper reading `page` holds at a time.
    #[must_use]
    pub fn new(bookings: BookingService, page: usize) -> Self {
        Self {
            bookings,
            page: page.max(1),
            parked: HashMap::new(),
        }
    }

    /// Records the expiry of the stale holds, page after page, until a page
    /// is not full (or 20 pages were read), skipping parked holds
    /// that are not due.
    ///
    /// # Errors
    /// [`crate::StoreError`] if the stale holds cannot be listed.
    pub async fn sweep(&mut self) -> Result<Swept, crate::StoreError> {
        let now = self.bookings.now();
        let mut swept = Swept::default();
        // Parked before this sweep and skipped by it (a hold that fails in
        // this sweep is skipped by its later pages too, but not counted).
        let parked_before: HashSet<ReservationId> = self
            .parked
            .iter()
            .filter(|(_, p)| p.until > now)
            .map(|(id, _)| *id)
            .collect();
        let mut skipped_parked = HashSet::new();
        for _ in 0..MOST_PAGES {
            let waiting: HashSet<ReservationId> = self
                .parked
                .iter()
                .filter(|(_, p)| p.until > now)
                .map(|(id, _)| *id)
                .collect();
            let asked = self.page + waiting.len();
            let listed = self.bookings.0.ports.store.stale_holds(now, asked).await?;
            let last_page = listed.len() < asked;
            let (todo, skipped): (Vec<_>, Vec<_>) =
                listed.into_iter().partition(|h| !waiting.contains(&h.id));
            skipped_parked.extend(
                skipped
                    .iter()
                    .map(|h| h.id)
                    .filter(|id| parked_before.contains(id)),
            );
            let full = todo.len() >= self.page;
            for hold in todo.into_iter().take(self.page) {
                match self.expire(&hold, now).await {
                    Outcome::Expired => {
                        swept.expired += 1;
                        self.parked.remove(&hold.id);
                    }
                    Outcome::Gone => {
                        self.parked.remove(&hold.id);
                    }
                    Outcome::Failed(e) => {
                        swept.failed += 1;
                        self.park(hold.id, now, &e);
                    }
                }
            }
            if !full || last_page {
                break;
            }
        }
        swept.parked = skipped_parked.len();
        // Forget holds parked long ago (expired by others, or gone).
        self.parked.retain(|_, p| p.until + LONGEST_WAIT * 2 > now);
        Ok(swept)
    }

    async fn expire(&self, hold: &crate::Reservation, now: DateTime<Utc>) -> Outcome {
        let shared = &self.bookings.0;
        let write = ReservationWrite {
            reservation: crate::engine::rules::expired(hold, now),
            expected_version: Some(hold.version),
            kind: ReservationEventKind::Expired,
            by: Attribution::system(),
            at: now,
            hold_quota: None,
        };
        match crate::engine::apply(shared.ports.store.as_ref(), write).await {
            Ok(applied) => {
                super::publish(shared, &applied.events).await;
                Outcome::Expired
            }
            Err(ApplyError::StaleVersion(_) | ApplyError::InvalidTransition(_)) => Outcome::Gone,
            Err(e) => Outcome::Failed(e),
        }
    }

    fn park(&mut self, id: ReservationId, now: DateTime<Utc>, why: &ApplyError) {
        let wait = self
            .parked
            .get(&id)
            .map_or(FIRST_WAIT, |p| (p.wait * 2).min(LONGEST_WAIT));
        if self.parked.len() >= MOST_PARKED && !self.parked.contains_key(&id) {
            tracing::warn!(error = %why, reservation = %id, "could not expire a hold");
            return;
        }
        tracing::warn!(
            error = %why,
            reservation = %id,
            retry_in_secs = wait.num_seconds(),
            "could not expire a hold; the sweep goes on without it"
        );
        self.parked.insert(
            id,
            Parked {
                until: now + wait,
                wait,
            },
        );
    }
}
