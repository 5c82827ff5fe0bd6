//! No double booking: overlap rules.

#[allow(clippy::wildcard_imports)]
use super::*;

/// A create is stored at version 1 with one numbered event.
pub async fn a_create_is_stored_with_version_one_and_a_numbered_event(store: Store) {
    let c = Clinic::setup(&*store).await;
    let before = last_seq(&store, &c).await;
    let draft = c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)));
    let applied = apply(&store, c.create(draft.clone())).await.unwrap();
    assert_eq!(applied.reservation.version, 1);
    assert_eq!(applied.reservation.range, draft.range);
    assert_eq!(applied.events.len(), 1);
    assert_eq!(applied.events[0].seq, before.next());
    assert_eq!(applied.events[0].by, c.by, "who: actor, key and request");
    assert!(matches!(
        &applied.events[0].payload,
        EventPayload::ReservationCreated(change) if change.before.is_none()
    ));
    assert_eq!(
        store.reservation(c.tenant, draft.id).await.unwrap(),
        applied.reservation
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// An overlapping booking of the same resource is refused, naming the
/// reservation in the way and its range.
pub async fn an_overlapping_booking_is_refused_naming_the_conflict(store: Store) {
    let c = Clinic::setup(&*store).await;
    let first = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    for (a, b) in [
        ((10, 30), (11, 30)),
        ((9, 30), (10, 1)),
        ((10, 15), (10, 45)),
        ((9, 0), (12, 0)),
    ] {
        let result = apply(&store, c.create(c.draft(c.dentist, c.madrid, range(a, b)))).await;
        match result {
            Err(ApplyError::SlotTaken(taken)) => {
                assert_eq!(taken.conflicting, first.id);
                assert_eq!(taken.range, first.occupied());
            }
            other => panic!("expected slot taken for {a:?}-{b:?}, got {other:?}"),
        }
    }
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// `[10,11)` and `[11,12)` touch but do not overlap.
pub async fn touching_bookings_are_both_accepted(store: Store) {
    let c = Clinic::setup(&*store).await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((11, 0), (12, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((9, 0), (10, 0))),
    )
    .await;
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A resource working at two branches cannot be in both at once.
pub async fn overlap_is_checked_across_branches_of_one_resource(store: Store) {
    let c = Clinic::setup(&*store).await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let result = apply(
        &store,
        c.create(c.draft(c.dentist, c.lisbon, range((10, 30), (11, 30)))),
    )
    .await;
    assert!(
        matches!(result, Err(ApplyError::SlotTaken(_))),
        "got {result:?}"
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Service buffers are part of the occupied time.
pub async fn service_buffers_count_as_occupied(store: Store) {
    let c = Clinic::setup(&*store).await;
    let mut first = c.draft(c.dentist, c.madrid, range((10, 0), (10, 30)));
    first.service_id = Some(c.cleaning);
    first.buffer_after = Minutes::new(10).unwrap();
    book(&store, &c, first).await;
    let inside_buffer = c.draft(c.dentist, c.madrid, range((10, 35), (11, 0)));
    assert!(matches!(
        apply(&store, c.create(inside_buffer)).await,
        Err(ApplyError::SlotTaken(_))
    ));
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 40), (11, 0))),
    )
    .await;
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Other resources, and cancelled reservations, leave a slot free.
pub async fn other_resources_and_cancelled_reservations_do_not_block(store: Store) {
    let c = Clinic::setup(&*store).await;
    let first = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.chair, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    apply(&store, c.cancel(&first, t(8, 0))).await.unwrap();
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    assert_invariants(&store, &c, t(8, 0)).await;
}
