//! The catalog as its events tell it: folding a tenant's log gives back
//! every branch, resource, service, product, link, branch price and stock
//! record, in the log's own (payload) shapes. The invariant checker
//! compares this with what the store holds, so a catalog change that went
//! unrecorded — or was recorded wrongly — fails every contract case.

use std::collections::{BTreeMap, BTreeSet};

use booking_core::event::payload::{
    Amount, BranchSnapshot, ProductPriceChange, ProductSnapshot, ResourceSnapshot,
    ScheduleSnapshot, ServicePriceChange, ServiceSnapshot, SettingsSnapshot, StockCause,
};
use booking_core::{
    BookingStore, CatalogList, CatalogRecord, Event, EventPayload, TenantId, TenantSettings,
};
use uuid::Uuid;

/// A tenant's catalog, keyed by ids, in the log's shapes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogState {
    /// Branches by id.
    pub branches: BTreeMap<Uuid, BranchSnapshot>,
    /// Resources by id.
    pub resources: BTreeMap<Uuid, ResourceSnapshot>,
    /// Services by id.
    pub services: BTreeMap<Uuid, ServiceSnapshot>,
    /// Products by id.
    pub products: BTreeMap<Uuid, ProductSnapshot>,
    /// Where resources work, by (resource, branch).
    pub schedules: BTreeMap<(Uuid, Uuid), ScheduleSnapshot>,
    /// Branch prices of services, by (service, branch).
    pub service_prices: BTreeMap<(Uuid, Uuid), Amount>,
    /// Stock and branch price of products, by (product, branch).
    pub stock: BTreeMap<(Uuid, Uuid), (u32, Option<Amount>)>,
    /// Which resources perform which services, as (service, resource).
    pub service_resources: BTreeSet<(Uuid, Uuid)>,
    /// The tenant's booking settings.
    pub settings: Option<SettingsSnapshot>,
}

impl CatalogState {
    /// The tenant's catalog as `store` holds it, read through the port.
    ///
    /// # Errors
    /// A description of the store failure.
    pub async fn of_store(store: &dyn BookingStore, tenant: TenantId) -> Result<Self, String> {
        let err = |e: booking_core::StoreError| e.to_string();
        let mut records = Vec::new();
        for list in [
            CatalogList::Branches,
            CatalogList::Resources,
            CatalogList::Services,
            CatalogList::Products,
        ] {
            records.extend(store.catalog_records(tenant, list).await.map_err(err)?);
        }
        for branch in store.branches(tenant).await.map_err(err)? {
            for list in [
                CatalogList::SchedulesAt(branch.id),
                CatalogList::ServicePricesAt(branch.id),
                CatalogList::StockAt(branch.id),
            ] {
                records.extend(store.catalog_records(tenant, list).await.map_err(err)?);
            }
        }
        for service in store.services(tenant).await.map_err(err)? {
            let list = CatalogList::ResourcesOfService(service.id);
            records.extend(store.catalog_records(tenant, list).await.map_err(err)?);
        }
        let settings = booking_core::CatalogKey::Settings(tenant);
        records.extend(store.catalog_record(tenant, settings).await.map_err(err)?);
        Ok(Self::of_records(records))
    }

    /// The state of these records (as a store holds them).
    #[must_use]
    pub fn of_records(records: impl IntoIterator<Item = CatalogRecord>) -> Self {
        let mut s = Self::default();
        for record in records {
            match record {
                CatalogRecord::Branch(b) => {
                    s.branches.insert(b.id.as_uuid(), (&b).into());
                }
                CatalogRecord::Resource(r) => {
                    s.resources.insert(r.id.as_uuid(), (&r).into());
                }
                CatalogRecord::Service(v) => {
                    s.services.insert(v.id.as_uuid(), (&v).into());
                }
                CatalogRecord::Product(p) => {
                    s.products.insert(p.id.as_uuid(), (&p).into());
                }
                CatalogRecord::Schedule(l) => {
                    s.schedules.insert(
                        (l.resource_id.as_uuid(), l.branch_id.as_uuid()),
                        (&l.schedule).into(),
                    );
                }
                CatalogRecord::ServicePrice(p) => {
                    s.service_prices.insert(
                        (p.service_id.as_uuid(), p.branch_id.as_uuid()),
                        p.price.into(),
                    );
                }
                CatalogRecord::Stock(p) => {
                    s.stock.insert(
                        (p.product_id.as_uuid(), p.branch_id.as_uuid()),
                        (p.stock, p.price.map(Into::into)),
                    );
                }
                CatalogRecord::ServiceResource(l) => {
                    s.service_resources
                        .insert((l.service_id.as_uuid(), l.resource_id.as_uuid()));
                }
                CatalogRecord::Settings(settings) => s.settings = Some((&settings).into()),
            }
        }
        s
    }

    /// The state the events leave, checking that each continues from the
    /// last (a `before` that is not the current state is an error).
    ///
    /// # Errors
    /// A description of the first event that does not fit.
    pub fn of_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Self, String> {
        let mut s = Self::default();
        for e in events {
            s.apply(e)
                .map_err(|why| format!("event {} ({}): {why}", e.seq, e.type_name()))?;
        }
        Ok(s)
    }

    fn apply(&mut self, e: &Event) -> Result<(), String> {
        use EventPayload as E;
        match &e.payload {
            E::BranchCreated(c) | E::BranchUpdated(c) | E::BranchDeleted(c) => {
                change(&mut self.branches, &c.before, &c.after, |s| s.id)
            }
            E::ResourceCreated(c) | E::ResourceUpdated(c) | E::ResourceDeleted(c) => {
                change(&mut self.resources, &c.before, &c.after, |s| s.id)
            }
            E::ServiceCreated(c) | E::ServiceUpdated(c) | E::ServiceDeleted(c) => {
                change(&mut self.services, &c.before, &c.after, |s| s.id)
            }
            E::ProductCreated(c) | E::ProductUpdated(c) | E::ProductDeleted(c) => {
                change(&mut self.products, &c.before, &c.after, |s| s.id)
            }
            E::ResourceLinked(c) | E::WorkingHoursChanged(c) | E::ResourceUnlinked(c) => {
                let key = (c.resource_id, c.branch_id);
                change(&mut self.schedules, &c.before, &c.after, |_| key)
            }
            E::ServicePriceSet(ServicePriceChange {
                service_id,
                branch_id,
                before,
                after,
            })
            | E::ServicePriceCleared(ServicePriceChange {
                service_id,
                branch_id,
                before,
                after,
            }) => {
                let key = (*service_id, *branch_id);
                change(&mut self.service_prices, before, after, |_| key)
            }
            E::ProductPriceSet(ProductPriceChange {
                product_id,
                branch_id,
                before,
                after,
            })
            | E::ProductPriceCleared(ProductPriceChange {
                product_id,
                branch_id,
                before,
                after,
            }) => {
                let record = self
                    .stock
                    .get_mut(&(*product_id, *branch_id))
                    .ok_or("a price for a product not sold at the branch")?;
                if record.1 != *before {
                    return Err(format!("the price was {:?}, not {before:?}", record.1));
                }
                record.1.clone_from(after);
                Ok(())
            }
            E::TenantCreated(c) => {
                // Tenants created before settings existed started with the
                // defaults of that time.
                let legacy =
                    || (&TenantSettings::defaults(TenantId::from_uuid(c.tenant_id))).into();
                self.settings = Some(c.settings.clone().unwrap_or_else(legacy));
                Ok(())
            }
            E::SettingsChanged(c) => {
                if self.settings.as_ref() != Some(&c.before) {
                    return Err(format!(
                        "the settings were {:?}, not {:?}",
                        self.settings, c.before
                    ));
                }
                self.settings = Some(c.after.clone());
                Ok(())
            }
            E::ServiceResourceAdded(c) => self
                .service_resources
                .insert((c.service_id, c.resource_id))
                .then_some(())
                .ok_or_else(|| "the resource already performed the service".to_owned()),
            E::ServiceResourceRemoved(c) => self
                .service_resources
                .remove(&(c.service_id, c.resource_id))
                .then_some(())
                .ok_or_else(|| "the resource did not perform the service".to_owned()),
            E::StockChanged(c) => {
                let key = (c.product_id, c.branch_id);
                let current = self.stock.get(&key).map_or(0, |r| r.0);
                if c.before != current {
                    return Err(format!("the level was {current}, not {}", c.before));
                }
                match c.cause {
                    StockCause::Removed => {
                        if self.stock.remove(&key).is_none() || c.after != 0 {
                            return Err("removed stock that was not there".into());
                        }
                    }
                    StockCause::Reservation(_) if !self.stock.contains_key(&key) => {
                        return Err("a reservation moved stock that is not there".into());
                    }
                    _ => self.stock.entry(key).or_insert((0, None)).0 = c.after,
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Applies a created / updated / deleted change to `map`.
fn change<K: Ord + Copy, V: Clone + PartialEq + std::fmt::Debug>(
    map: &mut BTreeMap<K, V>,
    before: &Option<V>,
    after: &Option<V>,
    key: impl Fn(&V) -> K,
) -> Result<(), String> {
    let k = after
        .as_ref()
        .or(before.as_ref())
        .map(&key)
        .ok_or("a change with neither before nor after")?;
    if map.get(&k) != before.as_ref() {
        return Err(format!(
            "`before` is {before:?} but the state was {:?}",
            map.get(&k)
        ));
    }
    match after {
        Some(v) => map.insert(k, v.clone()),
        None => map.remove(&k),
    };
    Ok(())
}
