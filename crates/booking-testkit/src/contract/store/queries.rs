//! The event log, history and queries.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The event log pages in order without gaps or repeats.
pub async fn events_since_pages_in_order_without_gaps(store: Store) {
    let c = Clinic::setup(&*store).await;
    let setup = last_seq(&store, &c).await.0;
    for h in 10..15 {
        book(
            &store,
            &c,
            c.with_kits(c.draft(c.dentist, c.madrid, range((h, 0), (h + 1, 0))), 1),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut after = Seq::ZERO;
    loop {
        let page = store
            .events(c.tenant, &EventQuery::since(after, 3))
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(page.into_iter().map(|e| e.seq.0));
    }
    let expected: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seen, expected);
    assert_eq!(
        store.last_event_seq(c.tenant).await.unwrap().0,
        seen.len() as u64,
        "the head is the last event's number"
    );
    assert_eq!(
        store
            .last_event_seq(booking_core::TenantId::generate())
            .await
            .unwrap(),
        Seq::ZERO,
        "a tenant with no events (or none at all) is at zero"
    );
    assert_eq!(
        seen.len() as u64,
        setup + 5 * 2,
        "the setup's events, then 5 × (booking + stock)"
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A reservation's history projects to the stored reservation.
pub async fn history_projects_to_the_stored_reservation(store: Store) {
    let c = Clinic::setup(&*store).await;
    let r = book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1),
    )
    .await;
    let moved = Reservation {
        range: range((12, 0), (13, 0)),
        resource_id: c.dentist,
        ..r.clone()
    };
    let r2 = apply(
        &store,
        c.change(&r, moved, ReservationEventKind::Moved, t(8, 0)),
    )
    .await
    .unwrap()
    .reservation;
    let r3 = apply(&store, c.cancel(&r2, t(9, 0)))
        .await
        .unwrap()
        .reservation;
    let about_r = EventQuery {
        entity: Some(r.id.as_uuid()),
        ..EventQuery::since(Seq::ZERO, 1000)
    };
    let history = store.events(c.tenant, &about_r).await.unwrap();
    let types: Vec<_> = history.iter().map(|e| e.payload.event_type()).collect();
    assert_eq!(
        types,
        [
            EventType::ReservationCreated,
            EventType::ReservationMoved,
            EventType::ReservationCancelled
        ],
        "a reservation's history is its own events"
    );
    assert_eq!(booking_core::project(&history).unwrap(), Some((&r3).into()));
    assert_invariants(&store, &c, t(9, 0)).await;
}

/// The log is found by type, by the record an event is about (an item's
/// history, its links, prices and stock included) and by the key that made
/// it, pages within a filter, and keeps events about tenants and keys out
/// unless asked.
pub async fn events_are_found_by_type_subject_and_key(store: Store) {
    let c = Clinic::setup(&*store).await;
    let mut other = c.by.clone();
    other.key_id = Some(booking_core::ApiKeyId::generate());
    let booked = apply(
        &store,
        ReservationWrite {
            by: other.clone(),
            ..c.create(c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1))
        },
    )
    .await
    .unwrap();
    let all = all_events(&store, &c).await;
    let query = |f: fn(&mut EventQuery)| {
        let mut q = EventQuery::since(Seq::ZERO, 1000);
        f(&mut q);
        q
    };
    let found = |q: EventQuery| {
        let store = Arc::clone(&store);
        async move { store.events(c.tenant, &q).await.unwrap() }
    };
    let expected =
        |q: &EventQuery| -> Vec<Event> { all.iter().filter(|e| q.matches(e)).cloned().collect() };

    let q = query(|q| q.types = vec![EventType::StockChanged, EventType::ResourceLinked]);
    let stock_and_links = found(q.clone()).await;
    assert_eq!(stock_and_links, expected(&q));
    assert_eq!(
        stock_and_links.len(),
        2 + 3 + 1,
        "2 stock sets, 3 links, 1 booking's kit"
    );

    let mut q = EventQuery::since(Seq::ZERO, 1000);
    q.entity = Some(c.kit.as_uuid());
    let kit = found(q.clone()).await;
    assert_eq!(kit, expected(&q));
    assert_eq!(
        kit.iter()
            .map(|e| e.payload.event_type())
            .collect::<Vec<_>>(),
        [
            EventType::ProductCreated,
            EventType::StockChanged,
            EventType::StockChanged,
            EventType::StockChanged
        ],
        "the kit's history: created, stocked at two branches, one sold"
    );
    q.entity = Some(c.lisbon.as_uuid());
    let lisbon: Vec<_> = found(q.clone())
        .await
        .iter()
        .map(|e| e.payload.event_type())
        .collect();
    assert_eq!(
        lisbon,
        [
            EventType::BranchCreated,
            EventType::ResourceLinked,
            EventType::ServicePriceSet,
            EventType::StockChanged
        ]
    );
    q.entity = Some(booked.reservation.id.as_uuid());
    assert_eq!(found(q.clone()).await.len(), 1);

    let by_other = EventQuery {
        actor_key: other.key_id,
        ..EventQuery::since(Seq::ZERO, 1000)
    };
    let made = found(by_other).await;
    assert_eq!(
        made, booked.events,
        "what the other key made, and only that"
    );
    assert!(made.iter().all(|e| e.by == other));

    let mut paged = Vec::new();
    let mut page_q = EventQuery {
        types: vec![EventType::StockChanged],
        limit: 2,
        ..EventQuery::since(Seq::ZERO, 2)
    };
    loop {
        let page = found(page_q.clone()).await;
        let Some(last) = page.last() else { break };
        page_q.after = last.seq;
        paged.extend(page);
    }
    assert_eq!(
        paged,
        expected(&query(|q| q.types = vec![EventType::StockChanged]))
    );

    let tenant_created = query(|q| q.types = vec![EventType::TenantCreated]);
    assert_eq!(found(tenant_created.clone()).await.len(), 1);
    let hidden = EventQuery {
        include_access: false,
        ..tenant_created
    };
    assert!(
        found(hidden).await.is_empty(),
        "events about tenants and keys only when asked"
    );
}

/// Queries filter by branch, resource and window, and page by (start, id).
pub async fn reservations_can_be_filtered_and_paged(store: Store) {
    let c = Clinic::setup(&*store).await;
    let mut all = Vec::new();
    for h in 9..14 {
        all.push(
            book(
                &store,
                &c,
                c.draft(c.dentist, c.madrid, range((h, 0), (h + 1, 0))),
            )
            .await,
        );
    }
    all.push(
        book(
            &store,
            &c,
            c.draft(c.chair, c.madrid, range((9, 0), (10, 0))),
        )
        .await,
    );
    all.push(
        book(
            &store,
            &c,
            c.draft(c.dentist, c.lisbon, range((15, 0), (16, 0))),
        )
        .await,
    );

    let by_branch = store
        .reservations(
            c.tenant,
            &ReservationQuery {
                branch_id: Some(c.lisbon),
                ..ReservationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_branch.len(), 1);
    let by_resource = store
        .reservations(
            c.tenant,
            &ReservationQuery {
                resource_id: Some(c.chair),
                ..ReservationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_resource.len(), 1);
    let window =
        booking_core::TimeRange::new(t(10, 30), t(12, 0), &booking_core::RangeLimits::queries())
            .unwrap();
    let in_window = store
        .reservations(
            c.tenant,
            &ReservationQuery {
                window: Some(window),
                ..ReservationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_window.len(), 2, "10-11 and 11-12 overlap 10:30-12:00");

    let mut paged = Vec::new();
    let mut query = ReservationQuery {
        limit: 2,
        ..ReservationQuery::default()
    };
    loop {
        let page = store.reservations(c.tenant, &query).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        query.after = Some(ReservationCursor {
            starts_at: last.range.start(),
            id: last.id,
        });
        paged.extend(page);
    }
    all.sort_by_key(|r| (r.range.start(), r.id));
    assert_eq!(paged, all);
}

/// The transaction's `blocking` lists the other reservations of the resource
/// (at any branch) that block the calendar and overlap, never the
/// reservation itself and never cancelled ones.
pub async fn blocking_lists_only_overlapping_calendar_blockers(store: Store) {
    let c = Clinic::setup(&*store).await;
    let a = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let b = book(
        &store,
        &c,
        c.draft(c.dentist, c.lisbon, range((11, 0), (12, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.chair, c.madrid, range((10, 0), (12, 0))),
    )
    .await;
    let probe = c.draft(c.dentist, c.madrid, range((10, 30), (11, 30)));
    let blocking = |probe: Reservation| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let mut ids: Vec<_> = tx
                .blocking(&probe)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(blocking(probe.clone()).await, both, "both branches count");
    let itself = Reservation {
        id: a.id,
        ..probe.clone()
    };
    assert_eq!(blocking(itself.clone()).await, [b.id], "never itself");
    apply(&store, c.cancel(&b, t(8, 0))).await.unwrap();
    assert!(
        blocking(itself).await.is_empty(),
        "cancelled ones free the slot"
    );
}

/// `occupancy` gives the occupied time (buffers included) of the asked
/// resources' active reservations at any branch that reach into the window:
/// not cancelled ones, not holds that ran out, not other resources' or
/// tenants'.
pub async fn occupancy_lists_the_active_time_of_the_asked_resources(store: Store) {
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    let mut buffered = c.draft(c.dentist, c.madrid, range((10, 0), (10, 30)));
    buffered.buffer_before = Minutes::new(5).unwrap();
    buffered.buffer_after = Minutes::new(10).unwrap();
    book(&store, &c, buffered).await;
    book(
        &store,
        &c,
        c.draft(c.dentist, c.lisbon, range((12, 0), (13, 0))),
    )
    .await;
    let mut running = c.draft(c.dentist, c.madrid, range((14, 0), (14, 30)));
    running.status = Status::Held;
    running.hold_expires_at = Some(t(9, 0));
    book(&store, &c, running).await;
    let mut stale = c.draft(c.dentist, c.madrid, range((15, 0), (15, 30)));
    stale.status = Status::Held;
    stale.hold_expires_at = Some(t(7, 30));
    book(&store, &c, stale).await;
    let cancelled = book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((16, 0), (16, 30))),
    )
    .await;
    apply(&store, c.cancel(&cancelled, t(7, 10))).await.unwrap();
    book(
        &store,
        &c,
        c.draft(c.dentist, c.madrid, range((20, 0), (21, 0))),
    )
    .await;
    book(
        &store,
        &c,
        c.draft(c.chair, c.madrid, range((10, 0), (11, 0))),
    )
    .await;
    book(
        &store,
        &other,
        other.draft(other.dentist, other.madrid, range((10, 0), (11, 0))),
    )
    .await;
    let occupancy = |resources: Vec<booking_core::ResourceId>, window, at| {
        let store = store.clone();
        async move {
            let mut found = store
                .occupancy(c.tenant, &resources, window, at)
                .await
                .expect("occupancy");
            found.sort_by_key(|(r, range)| (range.start(), *r));
            found
        }
    };
    let day = range((10, 20), (19, 0));
    assert_eq!(
        occupancy(vec![c.dentist], day, t(8, 0)).await,
        [
            (c.dentist, range((9, 55), (10, 40))),
            (c.dentist, range((12, 0), (13, 0))),
            (c.dentist, range((14, 0), (14, 30))),
        ],
        "the buffer reaches into the window; the stale hold, the cancelled \
         booking and the evening are left out"
    );
    assert_eq!(
        occupancy(vec![c.dentist], day, t(9, 0)).await.len(),
        2,
        "the hold runs out at 09:00"
    );
    assert_eq!(
        occupancy(vec![c.dentist, c.chair], range((10, 0), (10, 30)), t(8, 0)).await,
        [
            (c.dentist, range((9, 55), (10, 40))),
            (c.chair, range((10, 0), (11, 0))),
        ],
        "several resources at once"
    );
    assert!(occupancy(Vec::new(), day, t(8, 0)).await.is_empty());
}
