//! The reservation write: [`apply`].

use std::collections::BTreeMap;

use tracing::Instrument;

use super::rules;
use super::{Attempt, retrying};
use crate::time::to_micros;
use crate::{
    Applied, ApplyError, Entity, Refusal, Reservation, ReservationWrite, ResourceNotAtBranch,
    Scope, StockKey, StoreError, TxError, WriteStore, WriteTx,
};

/// Writes one reservation change in one transaction, enforcing whatever
/// the caller checked before:
///
/// 1. tenant scoping: branch, resource, service and each product at the
///    branch exist for the tenant ([`ApplyError::NotFound`]), and the
///    resource works at the branch ([`ApplyError::ResourceNotAtBranch`]);
/// 2. the version: a create's id is new ([`ApplyError::AlreadyExists`]),
///    a change's expected version matches ([`ApplyError::StaleVersion`]
///    or [`ApplyError::NotFound`]), and tenant, branch, lines, service,
///    price and creation data are unchanged ([`ApplyError::ImmutableField`]);
/// 3. the lifecycle ([`crate::status_change_allowed`]; a stale hold can
///    only expire) ([`ApplyError::InvalidTransition`]);
/// 4. no overlap: if the new state is active at `write.at`, no other
///    active reservation of the same resource, at any branch, overlaps
///    its occupied range ([`ApplyError::SlotTaken`]);
/// 5. stock: the movements of [`crate::stock::movements`], applied in key
///    order, never take a level below zero ([`ApplyError::OutOfStock`]).
///
/// Stale holds that are in the way (same resource and overlapping, or
/// holding stock the write takes) are expired in the same transaction,
/// giving their stock back, and their events come first in
/// [`Applied::events`]. A refused write changes nothing at all.
///
/// # Errors
/// As listed; [`ApplyError::Busy`] when concurrent writers kept it from
/// completing twice; [`ApplyError::Store`] for backend failures.
pub async fn apply(store: &dyn WriteStore, write: ReservationWrite) -> Result<Applied, ApplyError> {
    let write = &write;
    retrying(|| Box::pin(attempt(store, write)), ApplyError::Busy).await
}

/// Why the sequence stopped before the commit.
pub(super) enum Stop {
    /// The rules refused the write.
    Refused(ApplyError),
    /// A primitive failed.
    Tx(TxError),
}

impl From<ApplyError> for Stop {
    fn from(e: ApplyError) -> Self {
        Self::Refused(e)
    }
}

impl From<TxError> for Stop {
    fn from(e: TxError) -> Self {
        Self::Tx(e)
    }
}

impl From<crate::SlotTaken> for Stop {
    fn from(e: crate::SlotTaken) -> Self {
        Self::Refused(e.into())
    }
}

async fn attempt(
    store: &dyn WriteStore,
    w: &ReservationWrite,
) -> Result<Applied, Attempt<ApplyError>> {
    let mut tx = store.begin().await.map_err(|e| Attempt::Done(e.into()))?;
    let written = async {
        let staged = stage(&mut *tx, w).await?;
        // The rows no one else contends for go first, and the ones every
        // booking of a product (its stock) and of the tenant (its event
        // counter) queues on last, so they are held from their first touch
        // to the commit for as few round trips as can be: the expired holds
        // and the reservation row (where the store's overlap guard fires),
        // then the stock, moved in one round trip where it covers the
        // write (the plan is then made from the levels found), then the
        // events.
        let at = to_micros(w.at);
        for hold in &staged.stale {
            tx.update_reservation(&rules::expired(hold, at), hold.version)
                .await?;
        }
        match w.expected_version {
            None => tx.insert_reservation(&staged.stored).await?,
            Some(v) => tx.update_reservation(&staged.stored, v).await?,
        }
        let deltas = rules::stock_deltas(staged.before.as_ref(), &staged.stored, &staged.stale, at);
        let found = if deltas.is_empty() {
            Vec::new()
        } else {
            tx.move_stock(staged.stored.tenant_id, &deltas).await?
        };
        let levels: BTreeMap<StockKey, u32> = found.iter().map(|l| (l.key, l.before)).collect();
        // Planned from the levels as they were: a refusal (out of stock)
        // names the level found, and is rolled back with everything else.
        let plan = rules::plan(w, staged.before.as_ref(), &staged.stale, &levels)?;
        debug_assert_eq!(
            plan.stored, staged.stored,
            "the row written is the one planned"
        );
        // The plan takes what the deltas take, so it refuses wherever a
        // level could not cover its delta; a level left unmoved under an
        // accepted plan would be a store out of step with the rules.
        if found.iter().any(|l| !l.applied) {
            return Err(TxError::Retry("a stock level was not moved as planned".into()).into());
        }
        let events = tx
            .append(plan.stored.tenant_id, plan.events.clone())
            .await?;
        Ok::<_, Stop>((plan.stored, events))
    }
    .await;
    match written {
        Ok((reservation, events)) => {
            tx.commit().await.map_err(failed)?;
            Ok(Applied {
                reservation,
                events,
            })
        }
        Err(Stop::Refused(e)) => Err(Attempt::Done(e)),
        Err(Stop::Tx(TxError::Refused(Refusal::Overlap))) => {
            // This transaction is spoilt; name the winner from a fresh one.
            drop(tx);
            Err(name_the_rival(store, w).await)
        }
        Err(Stop::Tx(e)) => Err(failed(e)),
    }
}

/// What a write depends on besides stock, read and locked.
pub(super) struct Staged {
    /// The reservation as it was (changes only), locked.
    pub(super) before: Option<Reservation>,
    /// The reservation as it is to be stored.
    pub(super) stored: Reservation,
    /// The stale holds in its way, locked, by id: they are expired first.
    pub(super) stale: Vec<Reservation>,
}

/// Reads and locks what the write depends on besides stock, and checks
/// everything that does not need stock levels.
pub(super) async fn stage(tx: &mut dyn WriteTx, w: &ReservationWrite) -> Result<Staged, Stop> {
    let after = &w.reservation;
    let at = to_micros(w.at);
    // A create has nothing to lock: an id that exists already (a replayed
    // create) is refused by the store when the row goes in, which saves
    // every booking a round trip.
    let before = match w.expected_version {
        Some(_) => tx.lock_reservation(after.tenant_id, after.id).await?,
        None => None,
    };
    let stored = match rules::check(before.as_ref(), w) {
        Ok(stored) => stored,
        Err(refused) => {
            // A missing record is named before anything the rules refuse.
            in_scope(&tx.scope(after).await?, after)?;
            return Err(refused.into());
        }
    };
    // Everything else is read at once (one round trip on PostgreSQL):
    // the records it names, the reservations in its way (under the lock
    // this is the clean answer naming the rival; the store's overlap guard
    // stands behind it) and the stale holds in its way, locked.
    let active = stored.is_active(at);
    let takes = rules::take_keys(before.as_ref(), &stored);
    let span = if active {
        tracing::info_span!(
            "booking.check",
            check = "overlap",
            resource_id = %stored.resource_id
        )
    } else {
        tracing::Span::none()
    };
    let survey = tx
        .survey(&stored, active, &takes, at)
        .instrument(span)
        .await?;
    in_scope(&survey.scope, after)?;
    if let (None, Some(max), Some(key)) = (before.as_ref(), w.hold_quota, stored.created_by_key)
        && stored.status == crate::Status::Held
        && tx.count_active_holds(stored.tenant_id, key, at).await? >= u64::from(max)
    {
        return Err(ApplyError::HoldQuota { max }.into());
    }
    if let Some(taken) = rules::first_conflict(&stored, &survey.blocking, at) {
        return Err(taken.into());
    }
    let mut stale: Vec<Reservation> = survey
        .stale
        .into_iter()
        .filter(|hold| rules::stale_hold_in_the_way(hold, &stored, &takes, at))
        .collect();
    // As the plan orders them (its events come in this order).
    stale.sort_by_key(|r| r.id);
    stale.dedup_by_key(|r| r.id);
    Ok(Staged {
        before,
        stored,
        stale,
    })
}

/// The first record the reservation names that is missing, in a fixed
/// order: branch, resource, service, the resource's link to the branch,
/// then each line's product at the branch.
fn in_scope(scope: &Scope, r: &Reservation) -> Result<(), ApplyError> {
    let missing = if !scope.branch {
        Some(ApplyError::NotFound(Entity::Branch(r.branch_id)))
    } else if !scope.resource {
        Some(ApplyError::NotFound(Entity::Resource(r.resource_id)))
    } else if let (false, Some(s)) = (scope.service, r.service_id) {
        Some(ApplyError::NotFound(Entity::Service(s)))
    } else if !scope.works_at_branch {
        Some(
            ResourceNotAtBranch {
                resource_id: r.resource_id,
                branch_id: r.branch_id,
            }
            .into(),
        )
    } else {
        r.lines
            .iter()
            .find(|l| !scope.sold.contains(&l.product_id))
            .map(|l| ApplyError::NotFound(Entity::ProductAtBranch(l.product_id, r.branch_id)))
    };
    missing.map_or(Ok(()), Err)
}

/// The store's overlap guard refused the write although the check under
/// the same transaction found no rival (a writer that skipped the lock
/// committed meanwhile): name it, or run again if it is gone.
async fn name_the_rival(store: &dyn WriteStore, w: &ReservationWrite) -> Attempt<ApplyError> {
    let rivals = async {
        let mut tx = store.begin().await?;
        tx.blocking(&w.reservation).await
    }
    .await;
    match rivals {
        Ok(rivals) => match rules::first_conflict(&w.reservation, &rivals, to_micros(w.at)) {
            Some(taken) => Attempt::Done(taken.into()),
            None => Attempt::Again("the reservation in the way is gone".into()),
        },
        Err(e) => failed(e),
    }
}

/// A primitive's failure as this write's answer.
pub(super) fn failed(e: TxError) -> Attempt<ApplyError> {
    Attempt::Done(match e {
        TxError::Retry(why) => return Attempt::Again(why),
        TxError::Store(e) => e.into(),
        TxError::Refused(Refusal::NotFound(entity)) => ApplyError::NotFound(entity),
        TxError::Refused(Refusal::ResourceNotAtBranch {
            resource_id,
            branch_id,
        }) => ResourceNotAtBranch {
            resource_id,
            branch_id,
        }
        .into(),
        TxError::Refused(Refusal::AlreadyExists(id)) => ApplyError::AlreadyExists(id),
        TxError::Refused(other @ (Refusal::Overlap | Refusal::InUse(_))) => {
            ApplyError::Store(StoreError::Internal(format!(
                "unexpected refusal of a reservation write: {other}"
            )))
        }
    })
}
