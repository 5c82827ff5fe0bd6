use crate::ApplyError;
use std::collections::HashSet;

use tracing::Instrument;

use crate::{
    Attribution, BookingService, BranchId, CatalogKey, CatalogList, CatalogRead, CatalogRecord,
    Entity, InvalidInput, LockKey, Note, OutsideWorkingHours, OverrideHours, OverrideStart,
    ProductLine, Reservation, ReservationEventKind, ReservationId, ReservationWrite, ResourceId,
    ResourceNotAtBranch, ServiceId, Status, StockKey, StoreError, TenantId, TimeRange, pricing,
};

use crate::ports::only;

use super::{Booked, CreateError, performed_by, publish, traced_apply, under_lock, within_hours};

/// A batch's answers, taken read by read in the order they were asked.
struct Found(std::vec::IntoIter<Vec<CatalogRecord>>);

impl Found {
    /// Checks that the store answered each of `asked` reads.
    fn new(answers: Vec<Vec<CatalogRecord>>, asked: usize) -> Result<Self, StoreError> {
        if answers.len() == asked {
            Ok(Self(answers.into_iter()))
        } else {
            Err(StoreError::Internal(format!(
                "a catalog batch of {asked} reads was answered with {}",
                answers.len()
            )))
        }
    }

    /// The next read's records.
    fn next(&mut self) -> Vec<CatalogRecord> {
        self.0.next().unwrap_or_default()
    }
}

/// The next read's record of one kind, if found.
macro_rules! take {
    ($found:expr, $variant:ident) => {
        only!($found.next(), $variant).next()
    };
}

/// The reads a booking is checked against, in the order `create_inner`
/// takes their answers: settings, branch, resource, its schedule at the
/// branch, the service (its branch price and performers), then each
/// product and its stock at the branch.
fn catalog_reads(req: &NewReservation) -> Vec<CatalogRead> {
    let (t, b, r) = (req.tenant_id, req.branch_id, req.resource_id);
    let mut reads = vec![
        CatalogRead::Key(CatalogKey::Settings(t)),
        CatalogRead::Key(CatalogKey::Branch(b)),
        CatalogRead::Key(CatalogKey::Resource(r)),
        CatalogRead::Key(CatalogKey::Schedule(r, b)),
    ];
    if let Some(s) = req.service_id {
        reads.extend([
            CatalogRead::Key(CatalogKey::Service(s)),
            CatalogRead::Key(CatalogKey::ServicePrice(s, b)),
            CatalogRead::List(CatalogList::ResourcesOfService(s)),
        ]);
    }
    for line in &req.products {
        reads.extend([
            CatalogRead::Key(CatalogKey::Product(line.product_id)),
            CatalogRead::Key(CatalogKey::Stock(StockKey {
                product_id: line.product_id,
                branch_id: b,
            })),
        ]);
    }
    reads
}

/// A request to book a resource, already parsed into domain types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReservation {
    /// The id to create it under (`None`: a fresh one). A request that may
    /// be retried after its answer was lost (the commit made, the
    /// connection cut) passes the same id each time: a retry then finds the
    /// first attempt's reservation and answers with it instead of booking
    /// again.
    pub id: Option<ReservationId>,
    /// The tenant making it.
    pub tenant_id: TenantId,
    /// Where.
    pub branch_id: BranchId,
    /// What.
    pub resource_id: ResourceId,
    /// The service booked, if any (sets buffers and the service price).
    pub service_id: Option<ServiceId>,
    /// When.
    pub range: TimeRange,
    /// Products taken from the branch's stock; one line per product.
    pub products: Vec<ProductLine>,
    /// Free text.
    pub note: Option<Note>,
    /// Create a hold that expires after this long, instead of a booking
    /// (at most [`crate::BookingPolicy::max_hold`]). [`BookingService::hold`]
    /// holds for the tenant's `hold_minutes` when this is `None`.
    pub hold_for: Option<chrono::Duration>,
    /// Book outside working hours (an override the caller's role allows).
    pub override_hours: Option<OverrideHours>,
    /// Book a start the tenant's settings refuse — in the past, sooner than
    /// the minimum notice, beyond the horizon (administrators only).
    pub override_start: Option<OverrideStart>,
    /// Who asks.
    pub by: Attribution,
}

impl BookingService {
    /// Books a resource (and products) for a time range.
    ///
    /// # Errors
    /// [`CreateError`]: invalid input, unknown or foreign ids, a resource
    /// that does not work at the branch or at that time, a taken slot,
    /// missing stock, a lock busy past the deadline, or a store failure.
    pub async fn create(&self, req: NewReservation) -> Result<Booked, CreateError> {
        let hold = req.hold_for.is_some();
        self.create_traced(req, hold).await
    }

    /// Holds a slot (and its stock) while someone fills in a booking: a
    /// reservation in state Held that blocks like a booking until it runs
    /// out (after `hold_for`, or the tenant's `hold_minutes`), is confirmed,
    /// extended or released. A key keeps at most the tenant's
    /// `max_active_holds_per_key` unexpired holds.
    ///
    /// # Errors
    /// As [`Self::create`], and [`CreateError::HoldQuota`] for a key that
    /// keeps as many holds as allowed.
    pub async fn hold(&self, req: NewReservation) -> Result<Booked, CreateError> {
        self.create_traced(req, true).await
    }

    async fn create_traced(&self, req: NewReservation, hold: bool) -> Result<Booked, CreateError> {
        let span = tracing::info_span!(
            "booking.create",
            otel.name = if hold { "booking.hold" } else { "booking.create" },
            tenant_id = %req.tenant_id,
            branch_id = %req.branch_id,
            resource_id = %req.resource_id,
            hold,
            outcome = tracing::field::Empty,
            conflict = tracing::field::Empty,
        );
        let result = self.create_inner(req, hold).instrument(span.clone()).await;
        super::outcome::record(&span, super::outcome::of_create(&result));
        result
    }

    async fn create_inner(&self, req: NewReservation, hold: bool) -> Result<Booked, CreateError> {
        let ports = &self.0.ports;
        let now = ports.clock.now();
        self.validate(&req)?;
        let t = req.tenant_id;

        // Everything the booking is checked and priced against, in one
        // read (one round trip on PostgreSQL instead of six or more).
        let reads = catalog_reads(&req);
        let mut found = Found::new(ports.store.catalog_batch(t, &reads).await?, reads.len())?;
        let settings = take!(found, Settings).ok_or(StoreError::NotFound(Entity::Tenant(t)))?;
        settings.check_start(req.range.start(), now, req.override_start)?;
        let hold_for = match (hold, req.hold_for) {
            (false, _) => None,
            (true, Some(d)) => Some(d),
            (true, None) => Some(settings.hold()),
        };
        let branch =
            take!(found, Branch).ok_or(StoreError::NotFound(Entity::Branch(req.branch_id)))?;
        take!(found, Resource).ok_or(StoreError::NotFound(Entity::Resource(req.resource_id)))?;
        let link = take!(found, Schedule).ok_or(ResourceNotAtBranch {
            resource_id: req.resource_id,
            branch_id: req.branch_id,
        })?;
        if req.override_hours.is_none() && !within_hours(&link, &branch, &req.range) {
            return Err(OutsideWorkingHours {
                resource_id: req.resource_id,
                branch_id: req.branch_id,
                range: req.range,
            }
            .into());
        }

        let service = match req.service_id {
            Some(id) => {
                let item =
                    take!(found, Service).ok_or(StoreError::NotFound(Entity::Service(id)))?;
                let at_branch = take!(found, ServicePrice);
                let performers: Vec<ResourceId> = only!(found.next(), ServiceResource)
                    .map(|l| l.resource_id)
                    .collect();
                performed_by(&performers, id, req.resource_id)?;
                Some((item, at_branch))
            }
            None => None,
        };
        let mut products = Vec::with_capacity(req.products.len());
        for line in &req.products {
            let product = take!(found, Product)
                .ok_or(StoreError::NotFound(Entity::Product(line.product_id)))?;
            let at_branch = take!(found, Stock).ok_or(CreateError::NotFound(
                Entity::ProductAtBranch(line.product_id, req.branch_id),
            ))?;
            products.push((product, at_branch, line.quantity));
        }
        let price = pricing::snapshot(
            service.as_ref().map(|(s, b)| (s, b.as_ref())),
            &products
                .iter()
                .map(|(p, b, q)| (p, b, *q))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| InvalidInput::new("products", e))?;

        let (status, hold_expires_at, kind) = match hold_for {
            Some(d) => (Status::Held, Some(now + d), ReservationEventKind::Held),
            None => (Status::Confirmed, None, ReservationEventKind::Created),
        };
        let (buffer_before, buffer_after) = service
            .as_ref()
            .map(|(s, _)| (s.buffer_before, s.buffer_after))
            .unwrap_or_default();
        let reservation = Reservation {
            id: req.id.unwrap_or_else(ReservationId::generate),
            tenant_id: t,
            branch_id: req.branch_id,
            resource_id: req.resource_id,
            service_id: req.service_id,
            range: req.range,
            buffer_before,
            buffer_after,
            lines: req.products.clone(),
            price,
            status,
            hold_expires_at,
            note: req.note,
            version: 0,
            created_by: req.by.actor.clone(),
            created_by_key: req.by.key_id,
            created_at: now,
            updated_at: now,
        };

        // The hours of the resource only: stock is guarded where it is kept.
        // The store locks the stock rows in key order and decrements them
        // only if enough is left, inside the transaction, so the last units
        // still get a clean "out of stock" — and bookings of a busy product
        // queue on its row for the rest of a transaction (milliseconds),
        // not on a lock key held across whole requests (which made every
        // booking of one hot product wait for the one before it).
        let mut keys = LockKey::resource_time(t, req.resource_id, &reservation.occupied());
        // A key's holds are counted and made one at a time, so two at once
        // cannot both squeeze under the quota.
        let hold_quota = match (hold_for, req.by.key_id) {
            (Some(_), Some(key)) => {
                keys.push(LockKey::holds_of(t, key));
                Some(settings.max_active_holds_per_key())
            }
            _ => None,
        };
        let write = ReservationWrite {
            reservation,
            expected_version: None,
            kind,
            by: req.by,
            at: now,
            hold_quota,
        };
        let (applied, degraded) = under_lock(&self.0, keys, || async {
            match traced_apply(&self.0, write).await {
                Ok(applied) => Ok(Some(applied)),
                // The id asked for is taken: this request's earlier
                // attempt was made (only the same request asks for it).
                Err(ApplyError::AlreadyExists(id)) if req.id == Some(id) => Ok(None),
                Err(e) => Err(CreateError::from(e)),
            }
        })
        .await?;
        let Some(applied) = applied else {
            let id = req.id.expect("only an asked-for id is found made");
            return Ok(Booked {
                reservation: ports.store.reservation(t, id).await?,
                events: Vec::new(),
                degraded,
            });
        };

        publish(&self.0, &applied.events).await;
        Ok(Booked {
            reservation: applied.reservation,
            events: applied.events,
            degraded,
        })
    }

    fn validate(&self, req: &NewReservation) -> Result<(), CreateError> {
        // Whether the reservation is a hold is decided by the caller; its
        // length, when given, is bounded by the policy.
        let policy = &self.0.policy;
        if req.products.len() > policy.max_products {
            return Err(InvalidInput::new(
                "products",
                format!("at most {} product lines are allowed", policy.max_products),
            )
            .into());
        }
        let mut seen = HashSet::with_capacity(req.products.len());
        for (i, line) in req.products.iter().enumerate() {
            if !seen.insert(line.product_id) {
                return Err(InvalidInput::new(
                    format!("products[{i}].product_id"),
                    "the product is listed twice; use one line with the total quantity",
                )
                .into());
            }
        }
        if let Some(hold) = req.hold_for
            && (hold <= chrono::Duration::zero() || hold > policy.max_hold)
        {
            return Err(CreateError::HoldOutOfRange {
                max: policy.max_hold,
            });
        }
        Ok(())
    }
}
