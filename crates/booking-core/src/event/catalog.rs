//! Which events record a change of a catalog record. Every write of the
//! catalog goes through [`catalog_events`], so no change goes unrecorded:
//! folding a tenant's catalog events gives back its catalog (a property
//! the store contract suite checks).

use super::EventPayload;
use super::payload::{
    BranchChange, ProductChange, ProductPriceChange, ResourceChange, ScheduleChange, ServiceChange,
    ServicePriceChange, ServiceResourceChange, SettingsChange, StockCause, StockLevelChange,
};
use crate::CatalogRecord;

/// The events recording that a catalog record went from `before` to
/// `after` (`None`: absent), in order; none if nothing changed. `cause`
/// says why a stock level changed (set, restock, removed).
///
/// A product's record at a branch carries two things, each with its own
/// events: the stock level (`StockChanged`, also when the record appears
/// or goes) and the branch's price (`ProductPriceSet` / `Cleared`).
#[must_use]
pub fn catalog_events(
    before: Option<&CatalogRecord>,
    after: Option<&CatalogRecord>,
    cause: &StockCause,
) -> Vec<EventPayload> {
    use CatalogRecord as R;
    use EventPayload as E;
    macro_rules! pick {
        ($record:expr, $variant:ident) => {
            match $record {
                Some(R::$variant(x)) => Some(x),
                _ => None,
            }
        };
    }
    if before == after {
        return Vec::new();
    }
    let Some(any) = after.or(before) else {
        return Vec::new();
    };
    match any {
        R::Branch(_) => lifecycle(
            pick!(before, Branch),
            pick!(after, Branch),
            |b, a| {
                Some(BranchChange {
                    before: b.map(Into::into),
                    after: a.map(Into::into),
                })
            },
            [E::BranchCreated, E::BranchUpdated, E::BranchDeleted],
        ),
        R::Resource(_) => lifecycle(
            pick!(before, Resource),
            pick!(after, Resource),
            |b, a| {
                Some(ResourceChange {
                    before: b.map(Into::into),
                    after: a.map(Into::into),
                })
            },
            [E::ResourceCreated, E::ResourceUpdated, E::ResourceDeleted],
        ),
        R::Service(_) => lifecycle(
            pick!(before, Service),
            pick!(after, Service),
            |b, a| {
                Some(ServiceChange {
                    before: b.map(Into::into),
                    after: a.map(Into::into),
                })
            },
            [E::ServiceCreated, E::ServiceUpdated, E::ServiceDeleted],
        ),
        R::Product(_) => lifecycle(
            pick!(before, Product),
            pick!(after, Product),
            |b, a| {
                Some(ProductChange {
                    before: b.map(Into::into),
                    after: a.map(Into::into),
                })
            },
            [E::ProductCreated, E::ProductUpdated, E::ProductDeleted],
        ),
        R::Schedule(_) => lifecycle(
            pick!(before, Schedule),
            pick!(after, Schedule),
            ScheduleChange::of,
            [
                E::ResourceLinked,
                E::WorkingHoursChanged,
                E::ResourceUnlinked,
            ],
        ),
        R::ServicePrice(_) => lifecycle(
            pick!(before, ServicePrice),
            pick!(after, ServicePrice),
            ServicePriceChange::of,
            [
                E::ServicePriceSet,
                E::ServicePriceSet,
                E::ServicePriceCleared,
            ],
        ),
        R::ServiceResource(l) => {
            let change = ServiceResourceChange::from(l);
            match (before, after) {
                (None, Some(_)) => vec![E::ServiceResourceAdded(change)],
                (Some(_), None) => vec![E::ServiceResourceRemoved(change)],
                _ => Vec::new(),
            }
        }
        // Settings are created with their tenant (`TenantCreated` carries
        // them) and never deleted: only a change is recorded here.
        R::Settings(s) => match (pick!(before, Settings), pick!(after, Settings)) {
            (Some(b), Some(a)) => vec![E::SettingsChanged(SettingsChange {
                tenant_id: s.tenant_id().as_uuid(),
                before: b.into(),
                after: a.into(),
            })],
            _ => Vec::new(),
        },
        R::Stock(s) => {
            let (b, a) = (pick!(before, Stock), pick!(after, Stock));
            let level = StockLevelChange {
                product_id: s.product_id.as_uuid(),
                branch_id: s.branch_id.as_uuid(),
                before: b.map_or(0, |r| r.stock),
                after: a.map_or(0, |r| r.stock),
                cause: cause.clone(),
            };
            // The level is recorded whenever the record appears or goes,
            // so the history says where a product is sold.
            let level = (b.is_none() || a.is_none() || level.before != level.after)
                .then_some(E::StockChanged(level));
            let price = (b.and_then(|r| r.price) != a.and_then(|r| r.price))
                .then(|| ProductPriceChange::of(b, a))
                .flatten()
                .map(|c| {
                    if c.after.is_some() {
                        E::ProductPriceSet(c)
                    } else {
                        E::ProductPriceCleared(c)
                    }
                });
            // A new record is stocked before it is priced; a record that
            // goes loses its price before its stock.
            if a.is_some() {
                level.into_iter().chain(price).collect()
            } else {
                price.into_iter().chain(level).collect()
            }
        }
    }
}

/// One event for a record that was created, updated or deleted.
fn lifecycle<T, C>(
    before: Option<&T>,
    after: Option<&T>,
    change: impl Fn(Option<&T>, Option<&T>) -> Option<C>,
    [created, updated, deleted]: [fn(C) -> EventPayload; 3],
) -> Vec<EventPayload> {
    let make = match (before, after) {
        (None, Some(_)) => created,
        (Some(_), Some(_)) => updated,
        (Some(_), None) => deleted,
        (None, None) => return Vec::new(),
    };
    change(before, after).map(make).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BranchId, EventType, Money, ProductBranch, ProductId, Resource, ResourceBranch, ResourceId,
        ResourceKind, Schedule, TenantId, text::Name,
    };

    fn stock(stock: u32, price: Option<i64>) -> CatalogRecord {
        CatalogRecord::Stock(ProductBranch {
            tenant_id: TenantId::from_uuid(uuid::Uuid::nil()),
            product_id: ProductId::from_uuid(uuid::Uuid::nil()),
            branch_id: BranchId::from_uuid(uuid::Uuid::nil()),
            stock,
            price: price.map(|p| Money::from_code(p, "EUR").unwrap()),
        })
    }

    fn types(events: &[EventPayload]) -> Vec<EventType> {
        events.iter().map(EventPayload::event_type).collect()
    }

    #[test]
    fn an_unchanged_record_records_nothing() {
        let r = stock(3, None);
        assert!(catalog_events(Some(&r), Some(&r), &StockCause::Set).is_empty());
    }

    #[test]
    fn a_record_is_created_updated_and_deleted() {
        let resource = |name: &str| {
            CatalogRecord::Resource(Resource {
                id: ResourceId::from_uuid(uuid::Uuid::nil()),
                tenant_id: TenantId::from_uuid(uuid::Uuid::nil()),
                name: Name::new(name).unwrap(),
                kind: ResourceKind::Staff,
            })
        };
        let (a, b) = (resource("Dr. A"), resource("Dr. B"));
        let cause = StockCause::Set;
        assert_eq!(
            types(&catalog_events(None, Some(&a), &cause)),
            [EventType::ResourceCreated]
        );
        assert_eq!(
            types(&catalog_events(Some(&a), Some(&b), &cause)),
            [EventType::ResourceUpdated]
        );
        assert_eq!(
            types(&catalog_events(Some(&b), None, &cause)),
            [EventType::ResourceDeleted]
        );
    }

    #[test]
    fn a_link_is_made_changed_and_undone() {
        let link = |schedule| {
            CatalogRecord::Schedule(ResourceBranch {
                tenant_id: TenantId::from_uuid(uuid::Uuid::nil()),
                resource_id: ResourceId::from_uuid(uuid::Uuid::nil()),
                branch_id: BranchId::from_uuid(uuid::Uuid::nil()),
                schedule,
            })
        };
        let open = link(Schedule::unrestricted());
        let closed = link(
            Schedule::unrestricted()
                .with_exception(
                    chrono::NaiveDate::from_ymd_opt(2030, 12, 24).unwrap(),
                    vec![],
                )
                .unwrap(),
        );
        let cause = StockCause::Set;
        assert_eq!(
            types(&catalog_events(None, Some(&open), &cause)),
            [EventType::ResourceLinked]
        );
        assert_eq!(
            types(&catalog_events(Some(&open), Some(&closed), &cause)),
            [EventType::WorkingHoursChanged]
        );
        assert_eq!(
            types(&catalog_events(Some(&closed), None, &cause)),
            [EventType::ResourceUnlinked]
        );
    }

    #[test]
    fn stock_records_their_level_and_price_separately() {
        assert_eq!(
            types(&catalog_events(
                None,
                Some(&stock(0, None)),
                &StockCause::Set
            )),
            [EventType::StockChanged],
            "a product newly sold at a branch is recorded even at zero units"
        );
        assert_eq!(
            types(&catalog_events(
                Some(&stock(5, None)),
                Some(&stock(5, Some(900))),
                &StockCause::Set
            )),
            [EventType::ProductPriceSet],
            "a price-only change records no stock event"
        );
        let removed = catalog_events(Some(&stock(5, Some(900))), None, &StockCause::Removed);
        assert_eq!(
            types(&removed),
            [EventType::ProductPriceCleared, EventType::StockChanged]
        );
        let EventPayload::StockChanged(level) = &removed[1] else {
            unreachable!()
        };
        assert_eq!((level.before, level.after), (5, 0));
        assert_eq!(level.cause, StockCause::Removed);
    }
}
