//! A small clinic chain used by the contract suites, tests and examples:
//! two branches in different time zones, a dentist working at both, a
//! chair at one, a service with a buffer and a branch price, a product with
//! stock at both branches.

use booking_core::engine::{self, CatalogWrite, PutMode};
use booking_core::{
    Actor, ApiKeyId, Attribution, Branch, BranchId, CatalogRecord, DayInterval, Minutes, Money,
    Name, PriceSnapshot, Product, ProductId, ProductLine, Quantity, RangeLimits, RequestId,
    Reservation, ReservationEventKind, ReservationId, ReservationWrite, Resource, ResourceBranch,
    ResourceId, ResourceKind, Schedule, ServiceId, ServiceItem, ServiceItemBranch, Status,
    StockChange, StockOp, Tenant, TenantId, TimeRange, WeeklyHours, WriteStore,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// Midnight UTC of the fixture's reference day, a Monday in winter (Madrid
/// is UTC+1, Lisbon UTC+0).
#[must_use]
pub fn day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0)
        .single()
        .unwrap_or_else(|| unreachable!("a valid UTC date"))
}

/// `h:m` UTC on the reference day (hours past 23 roll into later days).
#[must_use]
pub fn t(h: u32, m: u32) -> DateTime<Utc> {
    day() + Duration::minutes(i64::from(h * 60 + m))
}

/// `[a, b)` on the reference day, each given as `(hour, minute)` UTC.
///
/// # Panics
/// If `b` is not after `a` (a bug in the test).
#[must_use]
pub fn range(a: (u32, u32), b: (u32, u32)) -> TimeRange {
    TimeRange::new(t(a.0, a.1), t(b.0, b.1), &RangeLimits::bookings()).expect("a valid test range")
}

fn name(s: &str) -> Name {
    Name::new(s).expect("a valid fixture name")
}

fn eur(minor: i64) -> Money {
    Money::from_code(minor, "EUR").expect("a valid fixture price")
}

/// Events of `tenant` numbered `seqs`: each a stock level set from 0 to
/// 1 (of a product and branch that exist nowhere), attributed to the
/// system — for the fan-out (hub, backplane), which does not read them.
#[must_use]
pub fn stock_events(tenant: TenantId, seqs: &[u64]) -> Vec<booking_core::Event> {
    seqs.iter()
        .map(|&n| booking_core::Event {
            seq: booking_core::Seq(n),
            tenant_id: tenant,
            at: t(7, 0),
            by: booking_core::Attribution::system(),
            payload: booking_core::EventPayload::StockChanged(
                booking_core::event::payload::StockLevelChange {
                    product_id: uuid::Uuid::new_v4(),
                    branch_id: uuid::Uuid::new_v4(),
                    before: 0,
                    after: 1,
                    cause: booking_core::StockCause::Set,
                },
            ),
        })
        .collect()
}

/// Ids of the fixture's records.
#[derive(Clone, Debug)]
pub struct Clinic {
    /// The tenant.
    pub tenant: TenantId,
    /// Branch in Europe/Madrid.
    pub madrid: BranchId,
    /// Branch in Europe/Lisbon.
    pub lisbon: BranchId,
    /// A dentist working at both branches: any time in Madrid, 09:00–17:00
    /// local on weekdays in Lisbon.
    pub dentist: ResourceId,
    /// A chair in Madrid only.
    pub chair: ResourceId,
    /// Cleaning: 30 min, 60.00 EUR, 10 min buffer after; 55.00 EUR in Lisbon.
    pub cleaning: ServiceId,
    /// Whitening kit: 25.00 EUR; 10 in stock in Madrid, 3 in Lisbon.
    pub kit: ProductId,
    /// The staff member acting in tests (the actor name of [`Self::by`]).
    pub actor: Actor,
    /// Who the fixture's writes are made by: a key of the staff member, in
    /// a request, so stores must keep both ids.
    pub by: Attribution,
}

impl Clinic {
    /// Creates the clinic in `store`.
    ///
    /// # Panics
    /// If the store refuses the fixture (a broken store).
    pub async fn setup(store: &dyn WriteStore) -> Self {
        Self::setup_named(store, "Smile Dental").await
    }

    /// Creates a clinic with a given tenant name (for multi-tenant tests).
    ///
    /// # Panics
    /// If the store refuses the fixture (a broken store).
    pub async fn setup_named(store: &dyn WriteStore, tenant_name: &str) -> Self {
        let tenant = TenantId::generate();
        let c = Self {
            tenant,
            madrid: BranchId::generate(),
            lisbon: BranchId::generate(),
            dentist: ResourceId::generate(),
            chair: ResourceId::generate(),
            cleaning: ServiceId::generate(),
            kit: ProductId::generate(),
            actor: Actor::new("reception@smile").expect("valid actor"),
            by: Attribution {
                actor: Actor::new("reception@smile").expect("valid actor"),
                key_id: Some(ApiKeyId::generate()),
                request_id: Some(RequestId::new("fixture-request").expect("valid request id")),
            },
        };
        let ok = "fixture setup must succeed";
        let write = CatalogWrite {
            by: c.by.clone(),
            at: t(6, 0),
        };
        let write = &write;
        let put = |record: CatalogRecord| async move {
            engine::put(store, &record, PutMode::Upsert, write)
                .await
                .expect("fixture setup must succeed");
        };
        engine::insert_tenant(
            store,
            &Tenant {
                id: tenant,
                name: name(tenant_name),
            },
            &[],
            &c.by,
            t(6, 0),
        )
        .await
        .expect(ok);
        for (id, n, tz) in [
            (c.madrid, "Madrid Centro", chrono_tz::Europe::Madrid),
            (c.lisbon, "Lisboa Baixa", chrono_tz::Europe::Lisbon),
        ] {
            put(CatalogRecord::Branch(Branch {
                id,
                tenant_id: tenant,
                name: name(n),
                time_zone: tz,
            }))
            .await;
        }
        for (id, n, kind) in [
            (c.dentist, "Dr. Vega", ResourceKind::Staff),
            (c.chair, "Chair 1", ResourceKind::Room),
        ] {
            put(CatalogRecord::Resource(Resource {
                id,
                tenant_id: tenant,
                name: name(n),
                kind,
            }))
            .await;
        }
        let nine_to_five = DayInterval::hm(9, 0, 17, 0).expect("valid hours");
        for (resource, branch, schedule) in [
            (c.dentist, c.madrid, Schedule::unrestricted()),
            (
                c.dentist,
                c.lisbon,
                Schedule::weekly(WeeklyHours::weekdays(nine_to_five)),
            ),
            (c.chair, c.madrid, Schedule::unrestricted()),
        ] {
            put(CatalogRecord::Schedule(ResourceBranch {
                tenant_id: tenant,
                resource_id: resource,
                branch_id: branch,
                schedule,
            }))
            .await;
        }
        put(CatalogRecord::Service(ServiceItem {
            id: c.cleaning,
            tenant_id: tenant,
            name: name("Cleaning"),
            duration: Minutes::new(30).expect("valid"),
            price: eur(6000),
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::new(10).expect("valid"),
        }))
        .await;
        put(CatalogRecord::ServicePrice(ServiceItemBranch {
            tenant_id: tenant,
            service_id: c.cleaning,
            branch_id: c.lisbon,
            price: eur(5500),
        }))
        .await;
        put(CatalogRecord::Product(Product {
            id: c.kit,
            tenant_id: tenant,
            name: name("Whitening kit"),
            price: eur(2500),
        }))
        .await;
        for (branch, stock) in [(c.madrid, 10), (c.lisbon, 3)] {
            engine::adjust_stock(
                store,
                &StockChange {
                    tenant_id: tenant,
                    product_id: c.kit,
                    branch_id: branch,
                    op: StockOp::Set { stock, price: None },
                    by: c.by.clone(),
                    at: t(6, 0),
                },
            )
            .await
            .expect(ok);
        }
        c
    }

    /// A confirmed reservation draft (version 0, no service, no price)
    /// created at 07:00 on the reference day.
    #[must_use]
    pub fn draft(&self, resource: ResourceId, branch: BranchId, range: TimeRange) -> Reservation {
        Reservation {
            id: ReservationId::generate(),
            tenant_id: self.tenant,
            branch_id: branch,
            resource_id: resource,
            service_id: None,
            range,
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::ZERO,
            lines: Vec::new(),
            price: PriceSnapshot::default(),
            status: Status::Confirmed,
            hold_expires_at: None,
            note: None,
            version: 0,
            created_by: self.actor.clone(),
            created_by_key: self.by.key_id,
            created_at: t(7, 0),
            updated_at: t(7, 0),
        }
    }

    /// The draft with `quantity` whitening kits.
    #[must_use]
    pub fn with_kits(&self, mut draft: Reservation, quantity: i64) -> Reservation {
        draft.lines = vec![ProductLine {
            product_id: self.kit,
            quantity: Quantity::new(quantity).expect("valid test quantity"),
        }];
        draft
    }

    /// The write that creates `draft` at its `created_at` (a hold if its
    /// status is `Held`).
    #[must_use]
    pub fn create(&self, draft: Reservation) -> ReservationWrite {
        let kind = if draft.status == Status::Held {
            ReservationEventKind::Held
        } else {
            ReservationEventKind::Created
        };
        ReservationWrite {
            at: draft.created_at,
            reservation: draft,
            expected_version: None,
            kind,
            by: self.by.clone(),
            hold_quota: None,
        }
    }

    /// The write that changes `stored` into `after` at `at` with event `kind`.
    #[must_use]
    pub fn change(
        &self,
        stored: &Reservation,
        after: Reservation,
        kind: ReservationEventKind,
        at: DateTime<Utc>,
    ) -> ReservationWrite {
        ReservationWrite {
            reservation: after,
            expected_version: Some(stored.version),
            kind,
            by: self.by.clone(),
            at,
            hold_quota: None,
        }
    }

    /// The write that cancels `stored` at `at`.
    #[must_use]
    pub fn cancel(&self, stored: &Reservation, at: DateTime<Utc>) -> ReservationWrite {
        let after = Reservation {
            status: Status::Cancelled,
            hold_expires_at: None,
            ..stored.clone()
        };
        self.change(stored, after, ReservationEventKind::Cancelled, at)
    }
}
