//! Holds: blocking while fresh, expired in the same write when stale.

#[allow(clippy::wildcard_imports)]
use super::*;

fn hold(mut r: Reservation, until: DateTime<Utc>) -> Reservation {
    r.status = Status::Held;
    r.hold_expires_at = Some(until);
    r
}

/// An unexpired hold blocks its slot and keeps its units.
pub async fn an_unexpired_hold_blocks_the_slot(store: Store) {
    let c = Clinic::setup(&*store).await;
    let h = hold(
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 2),
        t(7, 30),
    );
    book(&store, &c, h).await;
    assert_eq!(stock(&store, &c, c.madrid).await, 8);
    let mut rival = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    rival.created_at = t(7, 10);
    assert!(matches!(
        apply(&store, c.create(rival)).await,
        Err(ApplyError::SlotTaken(_))
    ));
    assert_invariants(&store, &c, t(7, 10)).await;
}

/// A hold past its expiry that overlaps a new booking is expired by the
/// same write, and its stock comes back.
pub async fn a_stale_hold_in_the_way_is_expired_in_the_same_write(store: Store) {
    let c = Clinic::setup(&*store).await;
    let h = book(
        &store,
        &c,
        hold(
            c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 2),
            t(7, 30),
        ),
    )
    .await;
    let mut rival = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    rival.created_at = t(8, 0);
    let applied = apply(&store, c.create(rival))
        .await
        .expect("the stale hold is no obstacle");
    assert!(matches!(
        &applied.events[0].payload,
        EventPayload::ReservationExpired(change) if change.after.id == h.id.as_uuid()
    ));
    assert_eq!(
        store.reservation(c.tenant, h.id).await.unwrap().status,
        Status::Expired
    );
    assert_eq!(stock(&store, &c, c.madrid).await, 10);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A stale hold keeping units that a new booking needs is expired first,
/// even on another resource.
pub async fn a_stale_hold_keeping_stock_is_expired_when_the_stock_is_needed(store: Store) {
    let c = Clinic::setup(&*store).await;
    let h = book(
        &store,
        &c,
        hold(
            c.with_kits(c.draft(c.chair, c.madrid, range((10, 0), (11, 0))), 10),
            t(7, 30),
        ),
    )
    .await;
    assert_eq!(stock(&store, &c, c.madrid).await, 0);
    let mut order = c.with_kits(c.draft(c.dentist, c.madrid, range((14, 0), (15, 0))), 4);
    order.created_at = t(8, 0);
    apply(&store, c.create(order))
        .await
        .expect("units of the stale hold are free");
    assert_eq!(
        store.reservation(c.tenant, h.id).await.unwrap().status,
        Status::Expired
    );
    assert_eq!(stock(&store, &c, c.madrid).await, 6);
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// `stale_holds` lists holds whose time ran out, and nothing else, with
/// tenants taking turns: every tenant's soonest first, then every tenant's
/// second (one tenant's many holds do not keep another's waiting).
pub async fn stale_holds_are_listed_with_tenants_taking_turns(store: Store) {
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    let first = book(
        &store,
        &c,
        hold(
            c.draft(c.chair, c.madrid, range((12, 0), (13, 0))),
            t(7, 15),
        ),
    )
    .await;
    let late = book(
        &store,
        &c,
        hold(
            c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
            t(7, 18),
        ),
    )
    .await;
    let early = book(
        &store,
        &other,
        hold(
            other.draft(other.dentist, other.madrid, range((10, 0), (11, 0))),
            t(7, 20),
        ),
    )
    .await;
    book(
        &store,
        &c,
        hold(c.draft(c.chair, c.madrid, range((10, 0), (11, 0))), t(9, 0)),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((12, 0), (13, 0))),
    )
    .await;
    let ids = |v: Vec<Reservation>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.stale_holds(t(7, 10), 10).await.unwrap()), []);
    assert_eq!(
        ids(store.stale_holds(t(8, 0), 10).await.unwrap()),
        [first.id, early.id, late.id],
        "each tenant's first, then each one's second"
    );
    assert_eq!(
        ids(store.stale_holds(t(8, 0), 2).await.unwrap()),
        [first.id, early.id]
    );
}

/// A new hold of a key that keeps `hold_quota` unexpired holds already is
/// refused; holds that ran out, other keys' holds and bookings do not count.
pub async fn a_key_is_held_to_its_quota_of_running_holds(store: Store) {
    let c = Clinic::setup(&*store).await;
    let held = |h: u32, until: DateTime<Utc>, key: Option<booking_core::ApiKeyId>| {
        let mut r = hold(c.draft(c.dentist, c.madrid, range((h, 0), (h, 30))), until);
        r.created_by_key = key;
        // The first is written at 07:00 and runs out at 07:45.
        if until > t(8, 0) {
            r.created_at = t(7, 50);
            r.updated_at = t(7, 50);
        }
        ReservationWrite {
            hold_quota: Some(2),
            ..c.create(r)
        }
    };
    let mine = c.by.key_id;
    let other = Some(booking_core::ApiKeyId::generate());
    apply(&store, held(9, t(7, 45), mine))
        .await
        .expect("a hold can be written before it runs out");
    for h in [10, 11] {
        apply(&store, held(h, t(9, 0), mine))
            .await
            .expect("within the quota: the one that ran out does not count");
    }
    let refused = apply(&store, held(12, t(9, 0), mine)).await;
    assert!(
        matches!(refused, Err(ApplyError::HoldQuota { max: 2 })),
        "{refused:?}"
    );
    apply(&store, held(12, t(9, 0), other))
        .await
        .expect("another key has its own quota");
    let mut booking = c.draft(c.dentist, c.madrid, range((13, 0), (13, 30)));
    booking.created_at = t(7, 50);
    booking.updated_at = t(7, 50);
    apply(
        &store,
        ReservationWrite {
            hold_quota: Some(2),
            ..c.create(booking)
        },
    )
    .await
    .expect("a booking is not a hold");
    assert!(
        store
            .reservations(c.tenant, &ReservationQuery::default())
            .await
            .unwrap()
            .iter()
            .all(|r| r.range != range((12, 0), (12, 30)) || r.created_by_key == other),
        "the refused hold left nothing behind"
    );
    assert_invariants(&store, &c, t(7, 50)).await;
}
