//! Several writes in one transaction ([`engine::apply_batch`]): each gets
//! the answer it would get alone, one after another (by resource, then
//! start).

#[allow(clippy::wildcard_imports)]
use super::*;

use booking_core::SlotTaken;

fn event_types(a: &Applied) -> Vec<EventType> {
    a.events.iter().map(|e| e.payload.event_type()).collect()
}

fn taken_by(r: &Result<Applied, ApplyError>) -> Option<booking_core::ReservationId> {
    match r {
        Err(ApplyError::SlotTaken(SlotTaken { conflicting, .. })) => Some(*conflicting),
        _ => None,
    }
}

/// A batch of five creates, two of which the rules refuse (one in the way
/// of a booking made before, one in the way of a write earlier in the same
/// batch): the refused two change nothing and name what is in their way;
/// the other three are stored, take their stock and get their events
/// numbered together, right after the log as it was.
///
/// # Panics
/// On any other outcome.
pub async fn a_batch_answers_each_write_as_one_after_another(store: Store) {
    let c = Clinic::setup(&*store).await;
    let before = book(
        &store,
        &c,
        c.draft(c.chair, c.madrid, range((12, 0), (13, 0))),
    )
    .await;
    let seq = last_seq(&store, &c).await;
    let writes = vec![
        c.create(c.with_kits(c.draft(c.dentist, c.madrid, range((9, 0), (10, 0))), 2)),
        c.create(c.draft(c.dentist, c.madrid, range((9, 30), (10, 30)))),
        c.create(c.with_kits(c.draft(c.chair, c.madrid, range((9, 0), (10, 0))), 3)),
        c.create(c.draft(c.chair, c.madrid, range((12, 30), (13, 0)))),
        c.create(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0)))),
    ];
    let answers = engine::apply_batch(&*store, &writes).await;
    assert_eq!(answers.len(), writes.len());
    let ok = |i: usize| -> &Applied {
        answers[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("write {i} must succeed: {e}"))
    };
    assert_eq!(
        taken_by(&answers[1]),
        Some(writes[0].reservation.id),
        "the second names the first, written earlier in the batch: {:?}",
        answers[1]
    );
    assert_eq!(
        taken_by(&answers[3]),
        Some(before.id),
        "the fourth names the booking made before: {:?}",
        answers[3]
    );
    for i in [0, 2, 4] {
        assert_eq!(ok(i).reservation.id, writes[i].reservation.id);
        assert_eq!(ok(i).reservation.version, 1);
        let stored = store
            .reservation(c.tenant, writes[i].reservation.id)
            .await
            .expect("the written reservation is stored");
        assert_eq!(stored, ok(i).reservation, "write {i} is stored as answered");
    }
    for i in [1, 3] {
        let missing = store.reservation(c.tenant, writes[i].reservation.id).await;
        assert!(missing.is_err(), "refused write {i} left {missing:?}");
    }
    assert_eq!(
        (event_types(ok(0)), event_types(ok(2)), event_types(ok(4))),
        (
            vec![EventType::ReservationCreated, EventType::StockChanged],
            vec![EventType::ReservationCreated, EventType::StockChanged],
            vec![EventType::ReservationCreated],
        )
    );
    for i in [0, 2, 4] {
        let seqs: Vec<u64> = ok(i).events.iter().map(|e| e.seq.0).collect();
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "write {i}'s events are numbered together: {seqs:?}"
        );
    }
    let log: Vec<Event> = all_events(&store, &c)
        .await
        .into_iter()
        .filter(|e| e.seq > seq)
        .collect();
    let mut answered: Vec<Event> = [0, 2, 4]
        .iter()
        .flat_map(|&i| ok(i).events.clone())
        .collect();
    answered.sort_by_key(|e| e.seq);
    let numbered: Vec<Seq> = answered.iter().map(|e| e.seq).collect();
    let expected: Vec<Seq> = (1..=5).map(|n| Seq(seq.0 + n)).collect();
    assert_eq!(numbered, expected, "numbered right after the log, no gaps");
    assert_eq!(log, answered, "the log holds exactly the answered events");
    assert_eq!(stock(&store, &c, c.madrid).await, 5, "2 + 3 of 10 taken");
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A batch the store cannot finish as one runs write by write, each with
/// its own answer: two orders that do not both fit the stock (the first is
/// sold, the second hears how many are left), and a replayed create beside
/// a new one (the new one is stored, the replay refused).
///
/// # Panics
/// On any other outcome.
pub async fn a_batch_that_cannot_finish_as_one_runs_write_by_write(store: Store) {
    let c = Clinic::setup(&*store).await;
    let first = c.create(c.with_kits(c.draft(c.dentist, c.madrid, range((9, 0), (10, 0))), 6));
    let writes = vec![
        first.clone(),
        c.create(c.with_kits(c.draft(c.chair, c.madrid, range((9, 0), (10, 0))), 6)),
    ];
    let answers = engine::apply_batch(&*store, &writes).await;
    assert!(answers[0].is_ok(), "the first order fits: {:?}", answers[0]);
    match &answers[1] {
        Err(ApplyError::OutOfStock(short)) => {
            assert_eq!((short.requested, short.available), (6, 4), "{short}");
        }
        other => panic!("the second order must be out of stock: {other:?}"),
    }
    let seq = last_seq(&store, &c).await;
    let fresh = c.create(c.draft(c.dentist, c.madrid, range((11, 0), (12, 0))));
    let answers = engine::apply_batch(&*store, &[fresh.clone(), first.clone()]).await;
    let made = answers[0]
        .as_ref()
        .unwrap_or_else(|e| panic!("the new create must succeed: {e}"));
    assert_eq!(made.reservation.id, fresh.reservation.id);
    assert_eq!(
        answers[1],
        Err(ApplyError::AlreadyExists(first.reservation.id)),
        "the replay is refused"
    );
    let log: Vec<Event> = all_events(&store, &c)
        .await
        .into_iter()
        .filter(|e| e.seq > seq)
        .collect();
    assert_eq!(log, made.events, "only the new create's events were added");
    assert_eq!(stock(&store, &c, c.madrid).await, 4);
    assert_invariants(&store, &c, t(8, 0)).await;
}
