//! Holds, settings and who performs a service, through the use cases on
//! the in-memory adapters with a manual clock; and availability checked
//! against the booking path itself: every free slot it offers can be
//! booked.

use booking_core::availability::Slot;
use booking_core::{
    Attribution, AvailabilityRequest, CatalogRecord, CreateError, DayInterval, Minutes, MoveError,
    MoveReservation, NewReservation, OverrideStart, ProductLine, PutMode, Quantity, RangeLimits,
    ResourceBranch, Role, Schedule, ServiceResource, SlotKind, StartRefused, Status,
    TenantSettings, TimeRange, TransitionError, WeeklyHours,
};
use booking_testkit::fixture::{Clinic, range, t};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::engine::InMemoryEngine;

async fn setup() -> (InMemoryEngine, Clinic) {
    let e = InMemoryEngine::new(t(7, 0));
    let c = Clinic::setup(&*e.store).await;
    (e, c)
}

fn request(c: &Clinic, resource: booking_core::ResourceId, r: TimeRange) -> NewReservation {
    NewReservation {
        id: None,
        tenant_id: c.tenant,
        branch_id: c.madrid,
        resource_id: resource,
        service_id: None,
        range: r,
        products: vec![ProductLine {
            product_id: c.kit,
            quantity: Quantity::new(2).unwrap(),
        }],
        note: None,
        hold_for: None,
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    }
}

async fn set(e: &InMemoryEngine, c: &Clinic, settings: TenantSettings) {
    e.catalog()
        .put(&CatalogRecord::Settings(settings), PutMode::Update, &c.by)
        .await
        .unwrap();
}

async fn stock(e: &InMemoryEngine, c: &Clinic) -> u32 {
    e.catalog()
        .stock(c.tenant, c.kit, c.madrid)
        .await
        .unwrap()
        .unwrap()
        .stock
}

#[tokio::test]
async fn a_hold_blocks_like_a_booking_until_it_runs_out_then_not_at_all() {
    let (e, c) = setup().await;
    let slot = range((10, 0), (10, 30));
    let held = e
        .bookings()
        .hold(request(&c, c.dentist, slot))
        .await
        .unwrap();
    let r = &held.reservation;
    assert_eq!(r.status, Status::Held);
    assert_eq!(r.hold_expires_at, Some(t(7, 5)), "the tenant's 5 minutes");
    assert_eq!(held.events[0].type_name(), "ReservationHeld");
    assert_eq!(stock(&e, &c).await, 8, "its kits are reserved");
    for attempt in [
        e.bookings().hold(request(&c, c.dentist, slot)).await,
        e.bookings().create(request(&c, c.dentist, slot)).await,
    ] {
        assert!(
            matches!(attempt, Err(CreateError::SlotTaken(_))),
            "{attempt:?}"
        );
    }
    e.clock.set(t(7, 6));
    let booked = e
        .bookings()
        .create(request(&c, c.dentist, slot))
        .await
        .expect("a hold that ran out blocks nothing");
    assert_eq!(booked.events[0].type_name(), "ReservationExpired");
    assert_eq!(
        stock(&e, &c).await,
        8,
        "its kits came back, the booking took two"
    );
    assert!(matches!(
        e.bookings()
            .confirm(c.tenant, r.id, None, c.by.clone())
            .await,
        Err(TransitionError::HoldExpired { .. })
    ));
}

#[tokio::test]
async fn a_hold_is_extended_from_now_confirmed_or_released_at_once() {
    let (e, c) = setup().await;
    let hold = |r| e.bookings().hold(request(&c, c.dentist, r));
    let first = hold(range((10, 0), (10, 30))).await.unwrap().reservation;
    e.clock.set(t(7, 3));
    let extended = e
        .bookings()
        .extend(c.tenant, first.id, Some(first.version), c.by.clone())
        .await
        .unwrap();
    assert_eq!(extended.reservation.hold_expires_at, Some(t(7, 8)));
    assert_eq!(extended.events[0].type_name(), "ReservationExtended");
    let confirmed = e
        .bookings()
        .confirm(c.tenant, first.id, None, c.by.clone())
        .await
        .unwrap();
    assert_eq!(confirmed.reservation.status, Status::Confirmed);
    assert!(matches!(
        e.bookings()
            .extend(c.tenant, first.id, None, c.by.clone())
            .await,
        Err(TransitionError::InvalidTransition(_))
    ));
    assert!(
        matches!(
            e.bookings().release(c.tenant, first.id, c.by.clone()).await,
            Err(TransitionError::InvalidTransition(_))
        ),
        "a booking is cancelled, not released"
    );

    let second = hold(range((11, 0), (11, 30))).await.unwrap().reservation;
    assert_eq!(stock(&e, &c).await, 6);
    let released = e
        .bookings()
        .release(c.tenant, second.id, c.by.clone())
        .await
        .unwrap()
        .expect("released");
    assert_eq!(released.reservation.status, Status::Cancelled);
    assert_eq!(released.events[0].type_name(), "ReservationReleased");
    assert_eq!(stock(&e, &c).await, 8, "its kits are back at once");
    assert!(
        e.bookings()
            .release(c.tenant, second.id, c.by.clone())
            .await
            .unwrap()
            .is_none(),
        "letting go twice changes nothing"
    );
    e.bookings()
        .create(request(&c, c.dentist, range((11, 0), (11, 30))))
        .await
        .expect("its slot is free at once");

    let third = hold(range((12, 0), (12, 30))).await.unwrap().reservation;
    e.clock.set(t(7, 10));
    assert!(matches!(
        e.bookings().extend(c.tenant, third.id, None, c.by.clone()).await,
        Err(TransitionError::HoldExpired { expired_at, .. }) if expired_at == t(7, 8)
    ));
}

#[tokio::test]
async fn a_key_keeps_at_most_its_quota_of_unexpired_holds() {
    let (e, c) = setup().await;
    set(
        &e,
        &c,
        TenantSettings::new(c.tenant, 0, 3650, 5, 2).unwrap(),
    )
    .await;
    let hold = |h: u32, by: &Attribution| {
        let mut req = request(&c, c.dentist, range((h, 0), (h, 30)));
        req.products.clear();
        req.by = by.clone();
        e.bookings().hold(req)
    };
    let mine = c.by.clone();
    let a = hold(10, &mine).await.unwrap().reservation;
    hold(11, &mine).await.unwrap();
    assert!(matches!(
        hold(12, &mine).await,
        Err(CreateError::HoldQuota { max: 2 })
    ));
    let mut other = c.by.clone();
    other.key_id = Some(booking_core::ApiKeyId::generate());
    hold(12, &other)
        .await
        .expect("another key has its own quota");
    e.bookings()
        .release(c.tenant, a.id, mine.clone())
        .await
        .unwrap();
    hold(13, &mine)
        .await
        .expect("a released hold frees its place");
    e.clock.set(t(7, 6));
    hold(14, &mine)
        .await
        .expect("holds that ran out do not count");
    e.bookings()
        .create(NewReservation {
            id: None,
            hold_for: None,
            ..request(&c, c.dentist, range((15, 0), (15, 30)))
        })
        .await
        .expect("bookings are not holds");
}

#[tokio::test]
async fn a_start_in_the_past_too_soon_or_beyond_the_horizon_is_refused_unless_an_admin_books() {
    let (e, c) = setup().await;
    set(
        &e,
        &c,
        TenantSettings::new(c.tenant, 120, 7, 5, 20).unwrap(),
    )
    .await;
    let book = |r, admin: bool| {
        let mut req = request(&c, c.dentist, r);
        req.override_start = admin
            .then(|| OverrideStart::for_role(Role::Admin))
            .flatten();
        e.bookings().create(req)
    };
    let eight_days = TimeRange::new(
        t(10, 0) + Duration::days(8),
        t(10, 30) + Duration::days(8),
        &RangeLimits::bookings(),
    )
    .unwrap();
    for (r, refused) in [
        (range((6, 0), (6, 30)), "in the past"),
        (range((8, 0), (8, 30)), "too soon"),
        (eight_days, "beyond the horizon"),
    ] {
        let result = book(r, false).await;
        let ok = match refused {
            "in the past" => matches!(
                result,
                Err(CreateError::Start(StartRefused::InThePast { .. }))
            ),
            "too soon" => matches!(
                result,
                Err(CreateError::Start(StartRefused::TooSoon { earliest, .. })) if earliest == t(9, 0)
            ),
            _ => matches!(
                result,
                Err(CreateError::Start(StartRefused::BeyondHorizon { .. }))
            ),
        };
        assert!(ok, "{refused}: {result:?}");
        book(r, true)
            .await
            .unwrap_or_else(|e| panic!("an admin books {refused}: {e}"));
    }
    book(range((9, 0), (9, 30)), false)
        .await
        .expect("exactly the minimum notice ahead");
    let later = book(range((12, 0), (12, 30)), false)
        .await
        .unwrap()
        .reservation;
    let moved = e
        .bookings()
        .move_reservation(MoveReservation {
            tenant_id: c.tenant,
            id: later.id,
            range: Some(range((6, 30), (7, 0))),
            resource_id: None,
            expected_version: None,
            override_hours: None,
            override_start: None,
            by: c.by.clone(),
        })
        .await;
    assert!(matches!(
        moved,
        Err(MoveError::Start(StartRefused::InThePast { .. }))
    ));
}

#[tokio::test]
async fn a_service_that_lists_its_resources_is_booked_on_those_only() {
    let (e, c) = setup().await;
    e.catalog()
        .put(
            &CatalogRecord::ServiceResource(ServiceResource {
                tenant_id: c.tenant,
                service_id: c.cleaning,
                resource_id: c.dentist,
            }),
            PutMode::Upsert,
            &c.by,
        )
        .await
        .unwrap();
    let with_service = |resource, r| {
        let mut req = request(&c, resource, r);
        req.service_id = Some(c.cleaning);
        e.bookings().create(req)
    };
    assert!(matches!(
        with_service(c.chair, range((10, 0), (10, 30))).await,
        Err(CreateError::CannotPerform(_))
    ));
    let on_dentist = with_service(c.dentist, range((10, 0), (10, 30)))
        .await
        .unwrap()
        .reservation;
    let moved = e
        .bookings()
        .move_reservation(MoveReservation {
            tenant_id: c.tenant,
            id: on_dentist.id,
            range: None,
            resource_id: Some(c.chair),
            expected_version: None,
            override_hours: None,
            override_start: None,
            by: c.by.clone(),
        })
        .await;
    assert!(matches!(moved, Err(MoveError::CannotPerform(_))));
    let found = e
        .bookings()
        .availability(&AvailabilityRequest {
            tenant_id: c.tenant,
            branch_id: c.madrid,
            kind: SlotKind::Service(c.cleaning),
            resources: Vec::new(),
            window: range((11, 0), (12, 0)),
            step: Minutes::new(30).unwrap(),
            limit: booking_core::service::MAX_SLOTS,
        })
        .await
        .unwrap();
    assert!(
        !found.slots.is_empty() && found.slots.iter().all(|s| s.resource_id == c.dentist),
        "only the dentist is offered for a cleaning: {:?}",
        found.slots
    );
}

/// What a random clinic day looks like before availability is asked.
#[derive(Clone, Debug)]
struct Day {
    /// (resource: 0 dentist / 1 chair, start quarter from 09:00, quarters, hold?, expired?)
    taken: Vec<(usize, i64, i64, bool, bool)>,
    notice: u32,
    service: bool,
    performer: bool,
    step: u32,
    minutes: u32,
    /// The branch's zone.
    zone: chrono_tz::Tz,
    /// Each resource's daily hours in local minutes (none: any time).
    hours: [Option<(u16, u16)>; 2],
    /// A dated exception, on the local date of 12:00 UTC, for one resource:
    /// closed, or a split shift.
    exception: Option<(usize, bool)>,
}

fn day() -> impl Strategy<Value = Day> {
    (
        prop::collection::vec(
            (0usize..2, 0i64..40, 1i64..6, any::<bool>(), any::<bool>()),
            0..8,
        ),
        prop::sample::select(vec![0u32, 60, 150]),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![15u32, 20, 30, 60]),
        15u32..=90,
        prop::sample::select(vec![
            chrono_tz::Europe::Madrid,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kathmandu,
        ]),
        [hours(), hours()],
        prop::option::of((0usize..2, any::<bool>())),
    )
        .prop_map(
            |(taken, notice, service, performer, step, minutes, zone, hours, exception)| Day {
                taken,
                notice,
                service,
                performer,
                step,
                minutes,
                zone,
                hours,
                exception,
            },
        )
}

fn hours() -> impl Strategy<Value = Option<(u16, u16)>> {
    prop::option::of((0u16..48, 1u16..36))
        .prop_map(|h| h.map(|(open, len)| (open * 30, (open * 30 + len * 30).min(1440))))
}

/// Puts the day's zone on Madrid and its hours on the two resources there.
async fn shape_the_day(e: &InMemoryEngine, c: &Clinic, d: &Day) {
    let mut branch = e.catalog().branch(c.tenant, c.madrid).await.unwrap();
    branch.time_zone = d.zone;
    e.catalog()
        .put(&CatalogRecord::Branch(branch), PutMode::Update, &c.by)
        .await
        .unwrap();
    let local_day = t(12, 0).with_timezone(&d.zone).date_naive();
    for (i, resource) in [c.dentist, c.chair].into_iter().enumerate() {
        let mut schedule = match d.hours[i] {
            None => Schedule::unrestricted(),
            Some((open, close)) => Schedule::weekly(
                WeeklyHours::new(std::array::from_fn(|_| {
                    vec![DayInterval::new(open, close).unwrap()]
                }))
                .unwrap(),
            ),
        };
        if let Some((who, closed)) = d.exception
            && who == i
        {
            let split = if closed {
                Vec::new()
            } else {
                vec![
                    DayInterval::hm(10, 0, 11, 30).unwrap(),
                    DayInterval::hm(13, 0, 15, 0).unwrap(),
                ]
            };
            schedule = schedule.with_exception(local_day, split).unwrap();
        }
        e.catalog()
            .put(
                &CatalogRecord::Schedule(ResourceBranch {
                    tenant_id: c.tenant,
                    resource_id: resource,
                    branch_id: c.madrid,
                    schedule,
                }),
                PutMode::Upsert,
                &c.by,
            )
            .await
            .unwrap();
    }
}

async fn every_free_slot_can_be_booked(d: Day) -> Result<(), TestCaseError> {
    let (e, c) = setup().await;
    set(
        &e,
        &c,
        TenantSettings::new(c.tenant, d.notice, 3650, 30, 1000).unwrap(),
    )
    .await;
    shape_the_day(&e, &c, &d).await;
    if d.performer {
        e.catalog()
            .put(
                &CatalogRecord::ServiceResource(ServiceResource {
                    tenant_id: c.tenant,
                    service_id: c.cleaning,
                    resource_id: c.chair,
                }),
                PutMode::Upsert,
                &c.by,
            )
            .await
            .unwrap();
    }
    let resources = [c.dentist, c.chair];
    let mut expired_holds = false;
    for (who, quarter, len, hold, expired) in &d.taken {
        let start: DateTime<Utc> = t(9, 0) + Duration::minutes(quarter * 15);
        let r = TimeRange::new(
            start,
            start + Duration::minutes(len * 15),
            &RangeLimits::bookings(),
        )
        .unwrap();
        let mut req = request(&c, resources[*who], r);
        req.products.clear();
        if *hold {
            req.hold_for = Some(if *expired {
                Duration::minutes(1)
            } else {
                Duration::hours(12)
            });
            expired_holds |= *expired;
            let _ = e.bookings().hold(req).await;
        } else {
            let _ = e.bookings().create(req).await;
        }
    }
    if expired_holds {
        e.clock.set(t(7, 2));
    }
    let kind = if d.service {
        SlotKind::Service(c.cleaning)
    } else {
        SlotKind::Duration(Minutes::new(d.minutes).unwrap())
    };
    let found = e
        .bookings()
        .availability(&AvailabilityRequest {
            tenant_id: c.tenant,
            branch_id: c.madrid,
            kind,
            resources: Vec::new(),
            window: TimeRange::new(t(6, 0), t(30, 0), &RangeLimits::queries()).unwrap(),
            step: Minutes::new(d.step).unwrap(),
            limit: booking_core::service::MAX_SLOTS,
        })
        .await
        .unwrap();
    let earliest = booking_core::Clock::now(&*e.clock) + Duration::minutes(i64::from(d.notice));
    for Slot { range, resource_id } in found.slots {
        prop_assert!(
            range.start() >= earliest,
            "{range} starts before the notice"
        );
        let mut req = request(&c, resource_id, range);
        req.products.clear();
        req.service_id = d.service.then_some(c.cleaning);
        let booked = e.bookings().create(req).await;
        let Ok(booked) = booked else {
            return Err(TestCaseError::fail(format!(
                "the free slot {range} on {resource_id} could not be booked: {booked:?}"
            )));
        };
        // Let it go again, so every slot is tried against the same day.
        e.bookings()
            .cancel(c.tenant, booked.reservation.id, None, c.by.clone())
            .await
            .unwrap();
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Availability agrees with the booking path: zones, hours and
    /// exceptions, overlap with buffers, holds (running or run out),
    /// notice, who performs the service.
    #[test]
    fn every_free_slot_offered_can_be_booked(d in day()) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(every_free_slot_can_be_booked(d))?;
    }
}
