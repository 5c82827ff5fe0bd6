//! The in-memory transaction: the state's mutex, held until commit, and an
//! undo log that dropping the transaction replays.

#[allow(clippy::wildcard_imports)]
use super::*;

/// How to undo one change.
type Undo = Box<dyn FnOnce(&mut State) + Send>;

/// An open transaction over the whole state.
pub(super) struct MemoryTx {
    state: OwnedMutexGuard<State>,
    undo: Vec<Undo>,
}

impl MemoryTx {
    pub(super) fn new(state: OwnedMutexGuard<State>) -> Self {
        Self {
            state,
            undo: Vec::new(),
        }
    }

    /// Fails if a test asked this primitive to fail.
    fn fault(&mut self, primitive: &'static str) -> Result<(), TxError> {
        Ok(self.state.fault(primitive)?)
    }

    /// Sets `map[key]` (or removes it), remembering how to undo that.
    fn set<K, V>(&mut self, field: fn(&mut State) -> &mut BTreeMap<K, V>, key: K, value: Option<V>)
    where
        K: Ord + Clone + Send + 'static,
        V: Send + 'static,
    {
        let map = field(&mut self.state);
        let previous = match value {
            Some(v) => map.insert(key.clone(), v),
            None => map.remove(&key),
        };
        self.undo.push(Box::new(move |s| {
            let map = field(s);
            match previous {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }));
    }

    fn require_tenant(&self, tenant: TenantId) -> Result<(), TxError> {
        if self.state.tenants.contains_key(&tenant) {
            Ok(())
        } else {
            Err(Refusal::NotFound(Entity::Tenant(tenant)).into())
        }
    }

    /// The record with `key` if it exists for `tenant`.
    fn record(&self, tenant: TenantId, key: CatalogKey) -> Option<CatalogRecord> {
        super::record(&self.state, tenant, key)
    }

    /// The guard of a foreign key: `key` must exist for `tenant`.
    fn exists(&self, tenant: TenantId, key: CatalogKey) -> Result<(), TxError> {
        self.record(tenant, key)
            .map(drop)
            .ok_or(Refusal::NotFound(key.entity()).into())
    }

    /// The overlap guard: no other active-status reservation of the
    /// resource overlaps `r` (what the SQL stores' constraint or trigger
    /// enforces).
    fn guard_overlap(&self, r: &Reservation) -> Result<(), TxError> {
        if !blocking_status(r.status) {
            return Ok(());
        }
        let clash = self.state.reservations.values().any(|o| {
            o.id != r.id
                && o.resource_id == r.resource_id
                && blocking_status(o.status)
                && o.occupied().overlaps(&r.occupied())
        });
        if clash {
            Err(Refusal::Overlap.into())
        } else {
            Ok(())
        }
    }
}

/// Whether a status blocks the calendar (what the SQL stores' overlap
/// guard covers): held — expired or not —, confirmed and completed.
fn blocking_status(status: booking_core::Status) -> bool {
    use booking_core::Status::{Completed, Confirmed, Held};
    matches!(status, Held | Confirmed | Completed)
}

impl Drop for MemoryTx {
    /// Rolls back whatever was not committed.
    fn drop(&mut self) {
        while let Some(undo) = self.undo.pop() {
            undo(&mut self.state);
        }
    }
}

#[async_trait]
impl WriteTx for MemoryTx {
    async fn scope(&mut self, r: &Reservation) -> Result<Scope, TxError> {
        self.fault("scope")?;
        let (s, t) = (&*self.state, r.tenant_id);
        Ok(Scope {
            branch: owned(&s.branches, t, &r.branch_id).is_some(),
            resource: owned(&s.resources, t, &r.resource_id).is_some(),
            service: r
                .service_id
                .is_none_or(|id| owned(&s.services, t, &id).is_some()),
            works_at_branch: owned(&s.resource_branches, t, &(r.resource_id, r.branch_id))
                .is_some(),
            sold: r
                .lines
                .iter()
                .map(|l| l.product_id)
                .filter(|p| {
                    let key = StockKey {
                        product_id: *p,
                        branch_id: r.branch_id,
                    };
                    owned(&s.product_branches, t, &key).is_some()
                })
                .collect(),
        })
    }

    async fn lock_reservation(
        &mut self,
        tenant: TenantId,
        id: ReservationId,
    ) -> Result<Option<Reservation>, TxError> {
        self.fault("lock_reservation")?;
        Ok(self
            .state
            .reservations
            .get(&id)
            .filter(|r| r.tenant_id == tenant)
            .cloned())
    }

    async fn blocking(&mut self, r: &Reservation) -> Result<Vec<Reservation>, TxError> {
        self.fault("blocking")?;
        Ok(self
            .state
            .reservations
            .values()
            .filter(|o| {
                o.id != r.id
                    && o.tenant_id == r.tenant_id
                    && o.resource_id == r.resource_id
                    && blocking_status(o.status)
                    && o.occupied().overlaps(&r.occupied())
            })
            .cloned()
            .collect())
    }

    async fn lock_stale_holds(
        &mut self,
        r: &Reservation,
        takes: &[StockKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, TxError> {
        self.fault("lock_stale_holds")?;
        // No prefilter is needed in memory: every stale hold of the
        // tenant is a candidate, the engine picks those in the way.
        let _ = takes;
        Ok(self
            .state
            .reservations
            .values()
            .filter(|o| o.id != r.id && o.tenant_id == r.tenant_id && o.is_stale_hold(at))
            .cloned()
            .collect())
    }

    async fn count_active_holds(
        &mut self,
        tenant: TenantId,
        key: booking_core::ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<u64, TxError> {
        self.fault("count_active_holds")?;
        let held = self.state.reservations.values().filter(|r| {
            r.tenant_id == tenant
                && r.created_by_key == Some(key)
                && r.status == booking_core::Status::Held
                && !r.is_stale_hold(at)
        });
        Ok(u64::try_from(held.count()).unwrap_or(u64::MAX))
    }

    async fn move_stock(
        &mut self,
        tenant: TenantId,
        deltas: &[StockDelta],
    ) -> Result<Vec<StockLevel>, TxError> {
        self.fault("move_stock")?;
        let mut found = Vec::with_capacity(deltas.len());
        for d in deltas {
            let Some(mut record) = owned(&self.state.product_branches, tenant, &d.key).cloned()
            else {
                continue;
            };
            let before = record.stock;
            let after = i64::from(before) + d.delta;
            let applied = after >= 0;
            if applied {
                record.stock = u32::try_from(after)
                    .map_err(|_| StoreError::Internal(format!("stock {after} out of range")))?;
                self.set(|s| &mut s.product_branches, d.key, Some(record));
            }
            found.push(StockLevel {
                key: d.key,
                before,
                applied,
            });
        }
        Ok(found)
    }

    async fn insert_reservation(&mut self, r: &Reservation) -> Result<(), TxError> {
        self.fault("insert_reservation")?;
        if self.state.reservations.contains_key(&r.id) {
            return Err(Refusal::AlreadyExists(r.id).into());
        }
        let t = r.tenant_id;
        if owned(
            &self.state.resource_branches,
            t,
            &(r.resource_id, r.branch_id),
        )
        .is_none()
        {
            return Err(Refusal::ResourceNotAtBranch {
                resource_id: r.resource_id,
                branch_id: r.branch_id,
            }
            .into());
        }
        for line in &r.lines {
            self.exists(
                t,
                CatalogKey::Stock(StockKey {
                    product_id: line.product_id,
                    branch_id: r.branch_id,
                }),
            )?;
        }
        self.guard_overlap(r)?;
        self.set(|s| &mut s.reservations, r.id, Some(r.clone()));
        Ok(())
    }

    async fn update_reservation(&mut self, r: &Reservation, expected: u64) -> Result<(), TxError> {
        self.fault("update_reservation")?;
        match self.state.reservations.get(&r.id) {
            Some(stored) if stored.version == expected && stored.tenant_id == r.tenant_id => {}
            _ => {
                return Err(TxError::Retry(format!(
                    "reservation {} changed under the plan",
                    r.id
                )));
            }
        }
        if owned(
            &self.state.resource_branches,
            r.tenant_id,
            &(r.resource_id, r.branch_id),
        )
        .is_none()
        {
            return Err(Refusal::ResourceNotAtBranch {
                resource_id: r.resource_id,
                branch_id: r.branch_id,
            }
            .into());
        }
        self.guard_overlap(r)?;
        self.set(|s| &mut s.reservations, r.id, Some(r.clone()));
        Ok(())
    }

    async fn catalog_record(
        &mut self,
        tenant: TenantId,
        key: CatalogKey,
        _lock: bool,
    ) -> Result<Option<CatalogRecord>, TxError> {
        self.fault("catalog_record")?;
        Ok(self.record(tenant, key))
    }

    async fn put_catalog_record(&mut self, record: &CatalogRecord) -> Result<(), TxError> {
        self.fault("put_catalog_record")?;
        let t = record.tenant_id();
        self.require_tenant(t)?;
        // Ids are global: one that exists under another tenant is not this
        // tenant's to take over.
        let s = &*self.state;
        let foreign = match record {
            CatalogRecord::Branch(b) => s.branches.get(&b.id).is_some_and(|x| x.tenant_id != t),
            CatalogRecord::Resource(r) => s.resources.get(&r.id).is_some_and(|x| x.tenant_id != t),
            CatalogRecord::Service(v) => s.services.get(&v.id).is_some_and(|x| x.tenant_id != t),
            CatalogRecord::Product(p) => s.products.get(&p.id).is_some_and(|x| x.tenant_id != t),
            CatalogRecord::Schedule(_)
            | CatalogRecord::ServicePrice(_)
            | CatalogRecord::Stock(_)
            | CatalogRecord::ServiceResource(_)
            | CatalogRecord::Settings(_) => false,
        };
        if foreign {
            return Err(Refusal::NotFound(record.key().entity()).into());
        }
        match record.clone() {
            CatalogRecord::Branch(b) => self.set(|s| &mut s.branches, b.id, Some(b)),
            CatalogRecord::Resource(r) => self.set(|s| &mut s.resources, r.id, Some(r)),
            CatalogRecord::Service(v) => self.set(|s| &mut s.services, v.id, Some(v)),
            CatalogRecord::Product(p) => self.set(|s| &mut s.products, p.id, Some(p)),
            CatalogRecord::Schedule(l) => {
                self.exists(t, CatalogKey::Resource(l.resource_id))?;
                self.exists(t, CatalogKey::Branch(l.branch_id))?;
                self.set(
                    |s| &mut s.resource_branches,
                    (l.resource_id, l.branch_id),
                    Some(l),
                );
            }
            CatalogRecord::ServicePrice(p) => {
                self.exists(t, CatalogKey::Service(p.service_id))?;
                self.exists(t, CatalogKey::Branch(p.branch_id))?;
                self.set(
                    |s| &mut s.service_branches,
                    (p.service_id, p.branch_id),
                    Some(p),
                );
            }
            CatalogRecord::Stock(p) => {
                self.exists(t, CatalogKey::Product(p.product_id))?;
                self.exists(t, CatalogKey::Branch(p.branch_id))?;
                let key = StockKey {
                    product_id: p.product_id,
                    branch_id: p.branch_id,
                };
                self.set(|s| &mut s.product_branches, key, Some(p));
            }
            CatalogRecord::ServiceResource(l) => {
                self.exists(t, CatalogKey::Service(l.service_id))?;
                self.exists(t, CatalogKey::Resource(l.resource_id))?;
                self.set(
                    |s| &mut s.service_resources,
                    (l.service_id, l.resource_id),
                    Some(l),
                );
            }
            CatalogRecord::Settings(settings) => {
                self.set(|s| &mut s.settings, t, Some(settings));
            }
        }
        Ok(())
    }

    async fn catalog_records(
        &mut self,
        tenant: TenantId,
        list: CatalogList,
        _lock: bool,
    ) -> Result<Vec<CatalogRecord>, TxError> {
        self.fault("catalog_records")?;
        Ok(super::records(&self.state, tenant, list))
    }

    async fn units_out(&mut self, tenant: TenantId, key: StockKey) -> Result<u64, TxError> {
        self.fault("units_out")?;
        Ok(self
            .state
            .reservations
            .values()
            .filter(|r| {
                r.tenant_id == tenant
                    && r.branch_id == key.branch_id
                    && matches!(
                        r.status,
                        booking_core::Status::Held | booking_core::Status::Confirmed
                    )
            })
            .flat_map(|r| &r.lines)
            .filter(|l| l.product_id == key.product_id)
            .map(|l| u64::from(l.quantity.get()))
            .sum())
    }

    async fn referenced(&mut self, tenant: TenantId, item: CatalogKey) -> Result<bool, TxError> {
        self.fault("referenced")?;
        Ok(self.state.reservations.values().any(|r| {
            r.tenant_id == tenant
                && match item {
                    CatalogKey::Branch(id) => r.branch_id == id,
                    CatalogKey::Resource(id) => r.resource_id == id,
                    CatalogKey::Service(id) => r.service_id == Some(id),
                    CatalogKey::Product(id) => r.lines.iter().any(|l| l.product_id == id),
                    CatalogKey::Schedule(res, b) => r.resource_id == res && r.branch_id == b,
                    CatalogKey::ServicePrice(..)
                    | CatalogKey::ServiceResource(..)
                    | CatalogKey::Settings(_) => false,
                    CatalogKey::Stock(k) => {
                        r.branch_id == k.branch_id
                            && r.lines.iter().any(|l| l.product_id == k.product_id)
                    }
                }
        }))
    }

    async fn delete_catalog_records(
        &mut self,
        tenant: TenantId,
        keys: &[CatalogKey],
    ) -> Result<(), TxError> {
        self.fault("delete_catalog_records")?;
        for key in keys {
            if self.record(tenant, *key).is_none() {
                continue;
            }
            if self.referenced(tenant, *key).await? {
                return Err(Refusal::InUse(key.entity()).into());
            }
            match *key {
                CatalogKey::Branch(id) => self.set(|s| &mut s.branches, id, None),
                CatalogKey::Resource(id) => self.set(|s| &mut s.resources, id, None),
                CatalogKey::Service(id) => self.set(|s| &mut s.services, id, None),
                CatalogKey::Product(id) => self.set(|s| &mut s.products, id, None),
                CatalogKey::Schedule(r, b) => self.set(|s| &mut s.resource_branches, (r, b), None),
                CatalogKey::ServicePrice(v, b) => {
                    self.set(|s| &mut s.service_branches, (v, b), None);
                }
                CatalogKey::Stock(k) => self.set(|s| &mut s.product_branches, k, None),
                CatalogKey::ServiceResource(v, r) => {
                    self.set(|s| &mut s.service_resources, (v, r), None);
                }
                CatalogKey::Settings(t) => self.set(|s| &mut s.settings, t, None),
            }
        }
        Ok(())
    }

    async fn insert_tenant(&mut self, tenant: &Tenant) -> Result<(), TxError> {
        self.fault("insert_tenant")?;
        if self.state.tenants.contains_key(&tenant.id) {
            return Err(StoreError::Internal(format!("tenant {} exists", tenant.id)).into());
        }
        self.set(|s| &mut s.tenants, tenant.id, Some(tenant.clone()));
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey, hash: &KeyHash) -> Result<(), TxError> {
        self.fault("insert_api_key")?;
        self.require_tenant(key.tenant_id)?;
        self.set(
            |s| &mut s.api_keys,
            hash.as_str().to_owned(),
            Some(key.clone()),
        );
        Ok(())
    }

    async fn lock_api_keys(&mut self, tenant: TenantId) -> Result<Vec<ApiKey>, TxError> {
        self.fault("lock_api_keys")?;
        Ok(super::access::keys_of(&self.state, tenant))
    }

    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), TxError> {
        self.fault("update_api_key")?;
        let hash = self
            .state
            .api_keys
            .iter()
            .find(|(_, k)| k.id == key.id && k.tenant_id == key.tenant_id)
            .map(|(hash, _)| hash.clone())
            .ok_or(Refusal::NotFound(Entity::ApiKey(key.id)))?;
        let stored = self.state.api_keys[&hash].clone();
        self.set(
            |s| &mut s.api_keys,
            hash,
            Some(ApiKey {
                role: key.role,
                revoked_at: key.revoked_at,
                ..stored
            }),
        );
        Ok(())
    }

    async fn append(
        &mut self,
        tenant: TenantId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Event>, TxError> {
        self.fault("append")?;
        let log = self.state.events.entry(tenant).or_default();
        let kept = log.len();
        let mut seq = log.last().map_or(Seq::ZERO, |e| e.seq);
        let committed: Vec<Event> = events
            .into_iter()
            .map(|e| {
                seq = seq.next();
                Event::commit(e, tenant, seq)
            })
            .collect();
        log.extend(committed.iter().cloned());
        self.undo.push(Box::new(move |s| {
            if let Some(log) = s.events.get_mut(&tenant) {
                log.truncate(kept);
            }
        }));
        Ok(committed)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), TxError> {
        self.fault("commit")?;
        self.undo.clear();
        // Committed, but the answer lost on the way (the connection cut
        // after the database made the commit).
        self.fault("commit_answer")?;
        Ok(())
    }
}
