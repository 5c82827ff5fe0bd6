//! The reservation write: [`apply`].

use std::collections::BTreeMap;

use tracing::Instrument;

use super::rules::{self, Plan};
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
enum Stop {
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
        let plan = plan_in(&mut *tx, w).await?;
        write_plan(&mut *tx, &plan, w).await?;
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

/// Reads and locks what the write depends on, then plans it.
async fn plan_in(tx: &mut dyn WriteTx, w: &ReservationWrite) -> Result<Plan, Stop> {
    let after = &w.reservation;
    let at = to_micros(w.at);
    in_scope(&tx.scope(after).await?, after)?;
    // A create has nothing to lock: an id that exists already (a replayed
    // create) is refused by the store when the row goes in, which saves
    // every booking a round trip.
    let before = match w.expected_version {
        Some(_) => tx.lock_reservation(after.id).await?,
        None => None,
    };
    let stored = rules::check(before.as_ref(), w)?;
    if let (None, Some(max), Some(key)) = (before.as_ref(), w.hold_quota, stored.created_by_key)
        && stored.status == crate::Status::Held
        && tx.count_active_holds(stored.tenant_id, key, at).await? >= u64::from(max)
    {
        return Err(ApplyError::HoldQuota { max }.into());
    }

    // Under the lock this is the clean answer naming the rival; the store's
    // overlap guard stands behind it.
    if stored.is_active(at) {
        let rivals = tx
            .blocking(&stored)
            .instrument(tracing::info_span!(
                "booking.check",
                check = "overlap",
                resource_id = %stored.resource_id
            ))
            .await?;
        if let Some(taken) = rules::first_conflict(&stored, &rivals, at) {
            return Err(taken.into());
        }
    }

    let takes = rules::take_keys(before.as_ref(), &stored);
    let stale: Vec<Reservation> = tx
        .lock_stale_holds(&stored, &takes, at)
        .await?
        .into_iter()
        .filter(|hold| rules::stale_hold_in_the_way(hold, &stored, &takes, at))
        .collect();
    let keys = rules::stock_keys(&stored, &stale);
    let levels: BTreeMap<StockKey, u32> = tx
        .lock_stock(stored.tenant_id, &keys)
        .await?
        .into_iter()
        .map(|pb| {
            (
                StockKey {
                    product_id: pb.product_id,
                    branch_id: pb.branch_id,
                },
                pb.stock,
            )
        })
        .collect();
    Ok(rules::plan(w, before.as_ref(), &stale, &levels)?)
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

async fn write_plan(
    tx: &mut dyn WriteTx,
    plan: &Plan,
    w: &ReservationWrite,
) -> Result<(), TxError> {
    for expired in &plan.expired {
        tx.update_reservation(expired, expired.version - 1).await?;
    }
    if !plan.stock.is_empty() {
        tx.move_stock(plan.stored.tenant_id, &plan.stock).await?;
    }
    match w.expected_version {
        None => tx.insert_reservation(&plan.stored).await,
        Some(v) => tx.update_reservation(&plan.stored, v).await,
    }
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
fn failed(e: TxError) -> Attempt<ApplyError> {
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
