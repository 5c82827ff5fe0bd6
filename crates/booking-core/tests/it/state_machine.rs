//! State-machine property test: random sequences of create / hold / confirm
//! / move / cancel / complete / clock moves, run through the real
//! `BookingService` on the in-memory adapters, must keep every invariant
//! and agree, step by step, with a deliberately simple reference model.
//!
//! Cases: `PROPTEST_CASES` (default 1000).

use std::collections::HashMap;

use crate::engine::InMemoryEngine;
use booking_core::{
    BookingService, Clock, CreateError, MoveError, MoveReservation, NewReservation, ProductLine,
    Quantity, RangeLimits, ReservationId, ReservationStore, StartRefused, Status, TimeRange,
    TransitionError,
};
use booking_testkit::fixture::{Clinic, t};
use booking_testkit::invariants::check_store;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

const RESOURCES: usize = 2; // 0: dentist (Madrid any time, Lisbon 09–17), 1: chair (Madrid)
const BRANCHES: usize = 2; // 0: Madrid, 1: Lisbon
const HOLD_MINUTES: i64 = 30;
const BUFFER_MINUTES: i64 = 10; // the cleaning service's buffer after

#[derive(Clone, Debug)]
enum Op {
    Create {
        resource: usize,
        branch: usize,
        start: u32,
        len: u32,
        kits: u32,
        service: bool,
        hold: bool,
    },
    Move {
        pick: usize,
        start: u32,
        len: u32,
        resource: Option<usize>,
    },
    Confirm {
        pick: usize,
    },
    Cancel {
        pick: usize,
    },
    Complete {
        pick: usize,
    },
    Advance {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..RESOURCES, 0..BRANCHES, 0u32..40, 1u32..=4, 0u32..=3, any::<bool>(), any::<bool>())
            .prop_map(|(resource, branch, start, len, kits, service, hold)| Op::Create { resource, branch, start, len, kits, service, hold }),
        2 => (any::<usize>(), 0u32..40, 1u32..=4, prop::option::of(0..RESOURCES))
            .prop_map(|(pick, start, len, resource)| Op::Move { pick, start, len, resource }),
        1 => any::<usize>().prop_map(|pick| Op::Confirm { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Complete { pick }),
        1 => (1i64..=45).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// 15-minute slots from 08:00 UTC on the fixture's Monday.
fn slot(start: u32, len: u32) -> TimeRange {
    let from = t(8, 0) + Duration::minutes(i64::from(start) * 15);
    TimeRange::new(
        from,
        from + Duration::minutes(i64::from(len) * 15),
        &RangeLimits::bookings(),
    )
    .unwrap()
}

#[derive(Clone, Debug)]
struct ModelRes {
    id: ReservationId,
    resource: usize,
    branch: usize,
    range: TimeRange,
    buffer: bool,
    kits: u32,
    status: Status,
    hold_until: Option<DateTime<Utc>>,
}

impl ModelRes {
    fn status_at(&self, now: DateTime<Utc>) -> Status {
        match (self.status, self.hold_until) {
            (Status::Held, Some(until)) if until <= now => Status::Expired,
            (s, _) => s,
        }
    }
    fn active(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.status_at(now),
            Status::Held | Status::Confirmed | Status::Completed
        )
    }
    fn occupied(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let after = if self.buffer { BUFFER_MINUTES } else { 0 };
        (
            self.range.start(),
            self.range.end() + Duration::minutes(after),
        )
    }
}

/// The reference: a list of reservations and per-branch available stock,
/// with the rules written as plainly as possible.
#[derive(Debug)]
struct Model {
    now: DateTime<Utc>,
    list: Vec<ModelRes>,
    initial_stock: [u32; BRANCHES],
}

impl Model {
    fn works(resource: usize, branch: usize) -> bool {
        !(resource == 1 && branch == 1)
    }
    fn within_hours(resource: usize, branch: usize, r: &TimeRange) -> bool {
        // Only the dentist in Lisbon has hours: 09:00–17:00 (UTC+0 in January).
        !(resource == 0 && branch == 1) || (r.start() >= t(9, 0) && r.end() <= t(17, 0))
    }
    fn collides(
        &self,
        me: Option<ReservationId>,
        resource: usize,
        occ: (DateTime<Utc>, DateTime<Utc>),
    ) -> bool {
        self.list.iter().any(|o| {
            Some(o.id) != me && o.resource == resource && o.active(self.now) && {
                let (s, e) = o.occupied();
                s < occ.1 && occ.0 < e
            }
        })
    }
    fn available(&self, branch: usize) -> u32 {
        let held: u32 = self
            .list
            .iter()
            .filter(|r| r.branch == branch && r.active(self.now))
            .map(|r| r.kits)
            .sum();
        self.initial_stock[branch] - held
    }
}

struct World {
    engine: InMemoryEngine,
    clinic: Clinic,
    model: Model,
}

impl World {
    fn resource(&self, i: usize) -> booking_core::ResourceId {
        [self.clinic.dentist, self.clinic.chair][i]
    }
    fn branch(&self, i: usize) -> booking_core::BranchId {
        [self.clinic.madrid, self.clinic.lisbon][i]
    }
    fn svc(&self) -> &BookingService {
        self.engine.bookings()
    }

    async fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let c = self.clinic.clone();
        let now = self.model.now;
        match *op {
            Op::Advance { minutes } => {
                self.engine.clock.advance(Duration::minutes(minutes));
                self.model.now += Duration::minutes(minutes);
            }
            Op::Create {
                resource,
                branch,
                start,
                len,
                kits,
                service,
                hold,
            } => {
                let range = slot(start, len);
                let occ = (
                    range.start(),
                    range.end() + Duration::minutes(if service { BUFFER_MINUTES } else { 0 }),
                );
                let expected = if range.start() < now {
                    "in_the_past"
                } else if !Model::works(resource, branch) {
                    "not_at_branch"
                } else if !Model::within_hours(resource, branch, &range) {
                    "outside_hours"
                } else if self.model.collides(None, resource, occ) {
                    "slot_taken"
                } else if kits > self.model.available(branch) {
                    "out_of_stock"
                } else {
                    "ok"
                };
                let req = NewReservation {
                    id: None,
                    tenant_id: c.tenant,
                    branch_id: self.branch(branch),
                    resource_id: self.resource(resource),
                    service_id: service.then_some(c.cleaning),
                    range,
                    products: (kits > 0)
                        .then(|| ProductLine {
                            product_id: c.kit,
                            quantity: Quantity::new(i64::from(kits)).unwrap(),
                        })
                        .into_iter()
                        .collect(),
                    note: None,
                    hold_for: hold.then(|| Duration::minutes(HOLD_MINUTES)),
                    override_hours: None,
                    override_start: None,
                    by: c.by.clone(),
                };
                let result = self.svc().create(req).await;
                let actual = match &result {
                    Ok(_) => "ok",
                    Err(CreateError::ResourceNotAtBranch(_)) => "not_at_branch",
                    Err(CreateError::OutsideWorkingHours(_)) => "outside_hours",
                    Err(CreateError::SlotTaken(_)) => "slot_taken",
                    Err(CreateError::OutOfStock(_)) => "out_of_stock",
                    Err(CreateError::Start(StartRefused::InThePast { .. })) => "in_the_past",
                    Err(other) => {
                        return Err(TestCaseError::fail(format!("unexpected: {other:?}")));
                    }
                };
                prop_assert_eq!(actual, expected, "create {:?}", op);
                if let Ok(booked) = result {
                    self.model.list.push(ModelRes {
                        id: booked.reservation.id,
                        resource,
                        branch,
                        range,
                        buffer: service,
                        kits,
                        status: if hold {
                            Status::Held
                        } else {
                            Status::Confirmed
                        },
                        hold_until: hold.then(|| now + Duration::minutes(HOLD_MINUTES)),
                    });
                }
            }
            Op::Move {
                pick,
                start,
                len,
                resource,
            } => {
                if self.model.list.is_empty() {
                    return Ok(());
                }
                let i = pick % self.model.list.len();
                let m = self.model.list[i].clone();
                let range = slot(start, len);
                let new_resource = resource.unwrap_or(m.resource);
                let occ = (
                    range.start(),
                    range.end() + Duration::minutes(if m.buffer { BUFFER_MINUTES } else { 0 }),
                );
                let expected = if !matches!(m.status_at(now), Status::Held | Status::Confirmed) {
                    "invalid_transition"
                } else if range.start() < now {
                    "in_the_past"
                } else if !Model::works(new_resource, m.branch) {
                    "not_at_branch"
                } else if !Model::within_hours(new_resource, m.branch, &range) {
                    "outside_hours"
                } else if self.model.collides(Some(m.id), new_resource, occ) {
                    "slot_taken"
                } else {
                    "ok"
                };
                let result = self
                    .svc()
                    .move_reservation(MoveReservation {
                        tenant_id: c.tenant,
                        id: m.id,
                        range: Some(range),
                        resource_id: resource.map(|r| self.resource(r)),
                        expected_version: None,
                        override_hours: None,
                        override_start: None,
                        by: c.by.clone(),
                    })
                    .await;
                let actual = match &result {
                    Ok(_) => "ok",
                    Err(MoveError::InvalidTransition(_)) => "invalid_transition",
                    Err(MoveError::ResourceNotAtBranch(_)) => "not_at_branch",
                    Err(MoveError::OutsideWorkingHours(_)) => "outside_hours",
                    Err(MoveError::SlotTaken(_)) => "slot_taken",
                    Err(MoveError::Start(StartRefused::InThePast { .. })) => "in_the_past",
                    Err(other) => {
                        return Err(TestCaseError::fail(format!("unexpected: {other:?}")));
                    }
                };
                prop_assert_eq!(actual, expected, "move {:?} of {:?}", op, m);
                if result.is_ok() {
                    let r = &mut self.model.list[i];
                    r.range = range;
                    r.resource = new_resource;
                }
            }
            Op::Confirm { pick } | Op::Cancel { pick } | Op::Complete { pick } => {
                if self.model.list.is_empty() {
                    return Ok(());
                }
                let i = pick % self.model.list.len();
                let m = self.model.list[i].clone();
                let (allowed, next) = match (op, m.status_at(now)) {
                    (Op::Confirm { .. }, Status::Held) => (true, Status::Confirmed),
                    (Op::Cancel { .. }, Status::Held | Status::Confirmed) => {
                        (true, Status::Cancelled)
                    }
                    (Op::Complete { .. }, Status::Confirmed) => (true, Status::Completed),
                    _ => (false, m.status),
                };
                let result = match op {
                    Op::Confirm { .. } => {
                        self.svc().confirm(c.tenant, m.id, None, c.by.clone()).await
                    }
                    Op::Cancel { .. } => {
                        self.svc().cancel(c.tenant, m.id, None, c.by.clone()).await
                    }
                    _ => {
                        self.svc()
                            .complete(c.tenant, m.id, None, c.by.clone())
                            .await
                    }
                };
                // A hold that ran out is refused as such when confirmed.
                let ran_out =
                    matches!(op, Op::Confirm { .. }) && m.status_at(now) == Status::Expired;
                match (&result, allowed) {
                    (Ok(_), true) => {}
                    (Err(TransitionError::HoldExpired { .. }), false) if ran_out => {}
                    (Err(TransitionError::InvalidTransition(_)), false) if !ran_out => {}
                    _ => {
                        return Err(TestCaseError::fail(format!(
                            "{op:?} on {m:?}: model allowed={allowed}, got {result:?}"
                        )));
                    }
                }
                if allowed {
                    let r = &mut self.model.list[i];
                    r.status = next;
                    r.hold_until = None;
                }
            }
        }
        self.compare().await
    }

    /// The store agrees with the model and keeps every invariant.
    async fn compare(&self) -> Result<(), TestCaseError> {
        let now = self.model.now;
        prop_assert_eq!(self.engine.clock.now(), now);
        if let Err(v) = check_store(&*self.engine.store, self.clinic.tenant, now).await {
            return Err(TestCaseError::fail(format!("invariant: {v}")));
        }
        let mut stale_kits: HashMap<usize, u32> = HashMap::new();
        for m in &self.model.list {
            let stored = self
                .engine
                .store
                .reservation(self.clinic.tenant, m.id)
                .await
                .unwrap();
            prop_assert_eq!(
                stored.effective_status(now),
                m.status_at(now),
                "status of {:?}",
                m.id
            );
            prop_assert_eq!(stored.range, m.range);
            prop_assert_eq!(stored.resource_id, self.resource(m.resource));
            if stored.is_stale_hold(now) {
                *stale_kits.entry(m.branch).or_default() += m.kits;
            }
        }
        for b in 0..BRANCHES {
            let level = booking_core::CatalogStore::product_branch(
                &*self.engine.store,
                self.clinic.tenant,
                self.clinic.kit,
                self.branch(b),
            )
            .await
            .unwrap()
            .unwrap()
            .stock;
            // Units of stale holds not yet expired by a write are available.
            let available = level + stale_kits.get(&b).copied().unwrap_or(0);
            prop_assert_eq!(
                available,
                self.model.available(b),
                "available kits at branch {}",
                b
            );
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_every_invariant_and_match_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let engine = InMemoryEngine::new(t(7, 0));
            let clinic = Clinic::setup(&*engine.store).await;
            let mut world = World { engine, clinic, model: Model { now: t(7, 0), list: Vec::new(), initial_stock: [10, 3] } };
            for op in &ops {
                world.step(op).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
