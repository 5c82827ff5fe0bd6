//! Stock adjustments by an administrator: set a level (and the branch
//! price), or add delivered units. The rule is [`plan_adjustment`]; the
//! sequence is [`adjust_stock`].

use chrono::{DateTime, Utc};

use super::catalog::{CatalogError, failed};
use super::{Attempt, retrying};
use crate::time::to_micros;
use crate::{
    Attribution, BranchId, CatalogKey, CatalogRecord, Entity, Event, Money, NewEvent,
    ProductBranch, ProductId, Quantity, StockCause, StockKey, TenantId, WriteStore, catalog_events,
};

/// A change of stock made by an administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockChange {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The product.
    pub product_id: ProductId,
    /// The branch.
    pub branch_id: BranchId,
    /// What to do.
    pub op: StockOp,
    /// Who did it.
    pub by: Attribution,
    /// When.
    pub at: DateTime<Utc>,
}

impl StockChange {
    /// The stock it changes.
    #[must_use]
    pub const fn key(&self) -> StockKey {
        StockKey {
            product_id: self.product_id,
            branch_id: self.branch_id,
        }
    }
}

/// How stock changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockOp {
    /// Set the level (and the branch price) — creates the record if the
    /// product was not sold at the branch yet.
    Set {
        /// Units on hand.
        stock: u32,
        /// The branch's own price, or `None` for the product's.
        price: Option<Money>,
    },
    /// Add delivered units.
    Restock {
        /// Units added.
        quantity: Quantity,
    },
}

/// The record a change leaves and the events that record it (the level,
/// and the branch price if it changed), given the record as it stands
/// (`None`: the product is not sold at the branch) and the units `out` in
/// reservations that may come back.
///
/// The level plus what is out stays within [`ProductBranch::MAX_STOCK`]:
/// a cancel or an expiry gives its units back, and that must always fit,
/// or the cancel would fail and the hold never expire.
///
/// # Errors
/// - [`CatalogError::NotFound`] for a restock where the product is not sold;
/// - [`CatalogError::TooMuch`] if the level and what is out would exceed
///   [`ProductBranch::MAX_STOCK`].
pub fn plan_adjustment(
    existing: Option<&ProductBranch>,
    out: u64,
    change: &StockChange,
) -> Result<(ProductBranch, Vec<NewEvent>), CatalogError> {
    let max = ProductBranch::MAX_STOCK;
    let too_much = CatalogError::TooMuch { max, out };
    let fits = |level: u32| u64::from(level) + out <= u64::from(max);
    let (record, cause) = match change.op {
        StockOp::Set { stock, price } => {
            if !fits(stock) {
                return Err(too_much);
            }
            let record = ProductBranch {
                tenant_id: change.tenant_id,
                product_id: change.product_id,
                branch_id: change.branch_id,
                stock,
                price,
            };
            (record, StockCause::Set)
        }
        StockOp::Restock { quantity } => {
            let mut record =
                existing
                    .cloned()
                    .ok_or(CatalogError::NotFound(Entity::ProductAtBranch(
                        change.product_id,
                        change.branch_id,
                    )))?;
            record.stock = record
                .stock
                .checked_add(quantity.get())
                .filter(|n| fits(*n))
                .ok_or(too_much)?;
            (record, StockCause::Restock)
        }
    };
    let events = catalog_events(
        existing.cloned().map(CatalogRecord::Stock).as_ref(),
        Some(&CatalogRecord::Stock(record.clone())),
        &cause,
    )
    .into_iter()
    .map(|payload| NewEvent {
        at: to_micros(change.at),
        by: change.by.clone(),
        payload,
    })
    .collect();
    Ok((record, events))
}

/// Changes a branch's stock atomically and records it (`StockChanged`,
/// and `ProductPriceSet` / `ProductPriceCleared` if the branch price
/// changed) in the same transaction; returns the record and the events.
///
/// # Errors
/// - [`CatalogError::NotFound`] if the product or branch is not the
///   tenant's, or (for a restock) the product is not sold at the branch;
/// - [`CatalogError::TooMuch`] if the level and the units out would exceed
///   the maximum.
pub async fn adjust_stock(
    store: &dyn WriteStore,
    change: &StockChange,
) -> Result<(ProductBranch, Vec<Event>), CatalogError> {
    retrying(
        || Box::pin(attempt(store, change)),
        CatalogError::Busy(crate::Busy::Store),
    )
    .await
}

async fn attempt(
    store: &dyn WriteStore,
    change: &StockChange,
) -> Result<(ProductBranch, Vec<Event>), Attempt<CatalogError>> {
    let t = change.tenant_id;
    let mut tx = store.begin().await.map_err(|e| failed(e.into()))?;
    for parent in [
        CatalogKey::Product(change.product_id),
        CatalogKey::Branch(change.branch_id),
    ] {
        if tx
            .catalog_record(t, parent, false)
            .await
            .map_err(failed)?
            .is_none()
        {
            return Err(Attempt::Done(CatalogError::NotFound(parent.entity())));
        }
    }
    let existing = match tx
        .catalog_record(t, CatalogKey::Stock(change.key()), true)
        .await
        .map_err(failed)?
    {
        Some(CatalogRecord::Stock(record)) => Some(record),
        _ => None,
    };
    // With the level locked, what reservations hold of it cannot grow
    // behind this write's back.
    let out = tx.units_out(t, change.key()).await.map_err(failed)?;
    let (record, events) =
        plan_adjustment(existing.as_ref(), out, change).map_err(Attempt::Done)?;
    tx.put_catalog_record(&CatalogRecord::Stock(record.clone()))
        .await
        .map_err(failed)?;
    let events = tx.append(t, events).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok((record, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(op: StockOp) -> StockChange {
        StockChange {
            tenant_id: TenantId::generate(),
            product_id: ProductId::generate(),
            branch_id: BranchId::generate(),
            op,
            by: Attribution::named(crate::Actor::new("admin").unwrap()),
            at: Utc::now(),
        }
    }

    fn record(c: &StockChange, stock: u32) -> ProductBranch {
        ProductBranch {
            tenant_id: c.tenant_id,
            product_id: c.product_id,
            branch_id: c.branch_id,
            stock,
            price: None,
        }
    }

    #[test]
    fn setting_stock_creates_the_record_and_records_before_and_after() {
        let c = change(StockOp::Set {
            stock: 7,
            price: None,
        });
        let (r, e) = plan_adjustment(None, 0, &c).unwrap();
        assert_eq!(r.stock, 7);
        let [event] = e.as_slice() else {
            panic!("one event: {e:?}")
        };
        let crate::EventPayload::StockChanged(level) = &event.payload else {
            panic!("a stock event: {event:?}")
        };
        assert_eq!((level.before, level.after), (0, 7));
        assert_eq!(level.cause, StockCause::Set);
    }

    #[test]
    fn a_restock_needs_the_product_sold_at_the_branch_and_stays_below_the_maximum() {
        let c = change(StockOp::Restock {
            quantity: Quantity::new(5).unwrap(),
        });
        assert!(matches!(
            plan_adjustment(None, 0, &c),
            Err(CatalogError::NotFound(Entity::ProductAtBranch(..)))
        ));
        let (r, _) = plan_adjustment(Some(&record(&c, 3)), 0, &c).unwrap();
        assert_eq!(r.stock, 8);
        assert_eq!(
            plan_adjustment(Some(&record(&c, ProductBranch::MAX_STOCK - 4)), 0, &c),
            Err(CatalogError::TooMuch {
                max: ProductBranch::MAX_STOCK,
                out: 0
            })
        );
    }

    #[test]
    fn a_level_above_the_maximum_is_refused() {
        let c = change(StockOp::Set {
            stock: ProductBranch::MAX_STOCK + 1,
            price: None,
        });
        assert!(matches!(
            plan_adjustment(None, 0, &c),
            Err(CatalogError::TooMuch { .. })
        ));
    }

    /// Units out in reservations come back on cancel or expiry: a level
    /// that leaves them no room would make those fail (it did: the cancel
    /// answered 500 and the hold never expired).
    #[test]
    fn a_level_must_leave_room_for_the_units_out() {
        let max = ProductBranch::MAX_STOCK;
        let set = |stock| change(StockOp::Set { stock, price: None });
        assert_eq!(
            plan_adjustment(None, 5, &set(max)),
            Err(CatalogError::TooMuch { max, out: 5 })
        );
        assert_eq!(
            plan_adjustment(None, 5, &set(max - 5)).unwrap().0.stock,
            max - 5
        );
        let restock = change(StockOp::Restock {
            quantity: Quantity::new(2).unwrap(),
        });
        let c = &restock;
        assert!(plan_adjustment(Some(&record(c, max - 7)), 5, c).is_ok());
        assert_eq!(
            plan_adjustment(Some(&record(c, max - 6)), 5, c),
            Err(CatalogError::TooMuch { max, out: 5 })
        );
    }
}
