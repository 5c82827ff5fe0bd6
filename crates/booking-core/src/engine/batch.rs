//! Several reservation writes in one transaction: [`apply_batch`].
//!
//! A transaction's fixed costs — `BEGIN`, `COMMIT` and its log flush, the
//! stock statement, the event statement and the rows every booking of a
//! product and of a tenant queues on — are paid once per batch instead of
//! once per write. Each write is still staged and checked by the same
//! rules, one after another inside the transaction, so each sees the ones
//! before it exactly as if they had committed first.

use std::collections::BTreeMap;

use tracing::Instrument;

use super::reservation::{Stop, failed, stage};
use super::{Attempt, rules};
use crate::time::to_micros;
use crate::{
    Applied, ApplyError, NewEvent, ReservationWrite, StockDelta, StockKey, TenantId, TxError,
    WriteStore,
};

/// Writes `writes` in one transaction, answering each exactly as
/// [`super::apply`] would had they run one after another, ordered by
/// resource, then start, then their place in `writes`: a write the rules
/// refuse (slot taken, out of scope, hold quota, a stale version) gets its
/// refusal and changes nothing, the others commit together. (Every batch
/// writes its rows in that one order, so two batches whose rows collide
/// wait for each other in one direction instead of deadlocking.)
///
/// When the batch cannot finish as one — the store refused a row (a
/// writer that skipped the lock, a replayed id), a stock level does not
/// cover what the batch takes, concurrent transactions collided — nothing
/// of it is kept and every write runs again in a transaction of its own,
/// which gives each its own answer.
///
/// # Returns
/// One answer per write, in order.
pub async fn apply_batch(
    store: &dyn WriteStore,
    writes: &[ReservationWrite],
) -> Vec<Result<Applied, ApplyError>> {
    if writes.len() > 1 {
        let span = tracing::info_span!("store.apply_batch", writes = writes.len());
        let mut order: Vec<usize> = (0..writes.len()).collect();
        order.sort_by_key(|&i| {
            let r = &writes[i].reservation;
            (r.resource_id, r.occupied().start(), i)
        });
        let sorted: Vec<&ReservationWrite> = order.iter().map(|&i| &writes[i]).collect();
        match together(store, &sorted).instrument(span).await {
            Ok(answers) => {
                // Back in the order they were given.
                let mut answered: Vec<(usize, Result<Applied, ApplyError>)> =
                    order.into_iter().zip(answers).collect();
                answered.sort_by_key(|(i, _)| *i);
                return answered.into_iter().map(|(_, a)| a).collect();
            }
            Err(why) => {
                tracing::debug!(%why, writes = writes.len(), "a batch runs again one write at a time");
            }
        }
    }
    let mut answers = Vec::with_capacity(writes.len());
    for w in writes {
        answers.push(super::apply(store, w.clone()).await);
    }
    answers
}

/// What became of one write inside the batch's transaction.
enum Slot {
    /// Refused by the rules before it wrote anything.
    Refused(ApplyError),
    /// Its rows are written; stock and events come at the end.
    Written(Box<Written>),
}

struct Written {
    staged: super::reservation::Staged,
    deltas: Vec<StockDelta>,
}

/// The batch in one transaction, or why it has to run write by write.
/// An answer that is final (a commit that failed for a reason other than
/// a collision) is given to every write that was to be committed.
async fn together(
    store: &dyn WriteStore,
    writes: &[&ReservationWrite],
) -> Result<Vec<Result<Applied, ApplyError>>, String> {
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    let mut slots = Vec::with_capacity(writes.len());
    for &w in writes {
        let staged = match stage(&mut *tx, w).await {
            Ok(staged) => staged,
            Err(Stop::Refused(e)) => {
                slots.push(Slot::Refused(e));
                continue;
            }
            Err(Stop::Tx(e)) => return Err(e.to_string()),
        };
        let at = to_micros(w.at);
        for hold in &staged.stale {
            tx.update_reservation(&rules::expired(hold, at), hold.version)
                .await
                .map_err(|e| e.to_string())?;
        }
        match w.expected_version {
            None => tx.insert_reservation(&staged.stored).await,
            Some(v) => tx.update_reservation(&staged.stored, v).await,
        }
        .map_err(|e| e.to_string())?;
        let deltas = rules::stock_deltas(staged.before.as_ref(), &staged.stored, &staged.stale, at);
        slots.push(Slot::Written(Box::new(Written { staged, deltas })));
    }

    // Stock: each tenant's net change per level in one statement, tenants
    // in id order (every batch locks in the same order).
    let mut net: BTreeMap<TenantId, BTreeMap<StockKey, i64>> = BTreeMap::new();
    for slot in &slots {
        if let Slot::Written(w) = slot {
            let of_tenant = net.entry(w.staged.stored.tenant_id).or_default();
            for d in &w.deltas {
                *of_tenant.entry(d.key).or_default() += d.delta;
            }
        }
    }
    let mut levels: BTreeMap<StockKey, u32> = BTreeMap::new();
    for (&tenant, keys) in &net {
        if keys.is_empty() {
            continue;
        }
        let deltas: Vec<StockDelta> = keys
            .iter()
            .map(|(&key, &delta)| StockDelta { key, delta })
            .collect();
        let found = tx
            .move_stock(tenant, &deltas)
            .await
            .map_err(|e| e.to_string())?;
        if found.len() != deltas.len() || found.iter().any(|l| !l.applied) {
            return Err("a stock level does not cover the batch".into());
        }
        levels.extend(found.iter().map(|l| (l.key, l.before)));
    }

    // Each write planned from the levels the writes before it left; a
    // refused write keeps its refusal.
    let mut plans: Vec<Result<rules::Plan, ApplyError>> = Vec::with_capacity(slots.len());
    for (w, slot) in writes.iter().zip(slots) {
        let written = match slot {
            Slot::Refused(e) => {
                plans.push(Err(e));
                continue;
            }
            Slot::Written(written) => written,
        };
        let plan = rules::plan(
            w,
            written.staged.before.as_ref(),
            &written.staged.stale,
            &levels,
        )
        .map_err(|e| format!("a write planned in the batch was refused: {e}"))?;
        debug_assert_eq!(
            plan.stored, written.staged.stored,
            "the row written is the one planned"
        );
        for d in &written.deltas {
            let level = levels.entry(d.key).or_default();
            *level = u32::try_from(i64::from(*level) + d.delta)
                .map_err(|_| "a stock level left the range inside the batch".to_owned())?;
        }
        plans.push(Ok(plan));
    }

    // Events: each tenant's in one append, in the writes' order.
    let mut events: Vec<Vec<crate::Event>> = vec![Vec::new(); writes.len()];
    let mut tenants: Vec<TenantId> = plans.iter().flatten().map(|p| p.stored.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    for tenant in tenants {
        let mine: Vec<(usize, &rules::Plan)> = plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
            .filter(|(_, p)| p.stored.tenant_id == tenant)
            .collect();
        let new: Vec<NewEvent> = mine.iter().flat_map(|(_, p)| p.events.clone()).collect();
        let mut appended = tx
            .append(tenant, new)
            .await
            .map_err(|e| e.to_string())?
            .into_iter();
        for (i, p) in mine {
            events[i] = appended.by_ref().take(p.events.len()).collect();
            if events[i].len() != p.events.len() {
                return Err("the store numbered fewer events than the batch appended".into());
            }
        }
    }

    // A collision rolls the batch back to run write by write; any other
    // failure of the commit is every written write's answer.
    let committed = match tx.commit().await {
        Ok(()) => Ok(()),
        Err(TxError::Retry(why)) => return Err(why),
        Err(e) => match failed(e) {
            Attempt::Done(e) => Err(e),
            Attempt::Again(why) => return Err(why),
        },
    };
    Ok(plans
        .into_iter()
        .zip(events)
        .map(|(plan, events)| {
            let plan = plan?;
            committed.clone().map(|()| Applied {
                reservation: plan.stored,
                events,
            })
        })
        .collect())
}
