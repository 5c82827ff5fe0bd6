//! Catalog reads and writes, and tenant isolation.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Catalog records read back as written, listed per tenant and branch.
pub async fn catalog_round_trips(store: Store) {
    let c = Clinic::setup(&*store).await;
    let madrid = store.branch(c.tenant, c.madrid).await.unwrap();
    assert_eq!(madrid.time_zone, chrono_tz::Europe::Madrid);
    assert_eq!(store.branches(c.tenant).await.unwrap().len(), 2);
    assert_eq!(store.resources(c.tenant).await.unwrap().len(), 2);
    let link = store
        .resource_branch(c.tenant, c.dentist, c.lisbon)
        .await
        .unwrap();
    assert!(
        link.expect("dentist works in Lisbon")
            .schedule
            .weekly
            .is_some()
    );
    assert!(
        store
            .resource_branch(c.tenant, c.chair, c.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .branch_resources(c.tenant, c.madrid)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .branch_resources(c.tenant, c.lisbon)
            .await
            .unwrap()
            .len(),
        1
    );
    let cleaning = store.service(c.tenant, c.cleaning).await.unwrap();
    assert_eq!(cleaning.buffer_after, Minutes::new(10).unwrap());
    assert_eq!(store.services(c.tenant).await.unwrap().len(), 1);
    let lisbon_price = store
        .service_branch(c.tenant, c.cleaning, c.lisbon)
        .await
        .unwrap();
    assert_eq!(lisbon_price.unwrap().price.amount_minor(), 5500);
    assert!(
        store
            .service_branch(c.tenant, c.cleaning, c.madrid)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .product(c.tenant, c.kit)
            .await
            .unwrap()
            .price
            .amount_minor(),
        2500
    );
    assert_eq!(store.products(c.tenant).await.unwrap().len(), 1);
    assert_eq!(stock(&store, &c, c.madrid).await, 10);
    assert_eq!(
        store
            .branch_products(c.tenant, c.lisbon)
            .await
            .unwrap()
            .len(),
        1
    );

    let renamed = Branch {
        name: Name::new("Madrid Norte").unwrap(),
        ..madrid
    };
    put(
        &store,
        &c,
        CatalogRecord::Branch(renamed.clone()),
        PutMode::Update,
    )
    .await
    .unwrap();
    assert_eq!(store.branch(c.tenant, c.madrid).await.unwrap(), renamed);
    assert_eq!(
        store.tenant(c.tenant).await.unwrap().name.as_str(),
        "Smile Dental"
    );
}

/// Another tenant's ids behave exactly like ids that do not exist, for
/// reads, upserts, links and reservation writes.
pub async fn foreign_tenant_ids_are_not_found(store: Store) {
    let a = Clinic::setup_named(&*store, "Clinic A").await;
    let b = Clinic::setup_named(&*store, "Clinic B").await;
    let theirs = book(
        &store,
        &a,
        a.draft(a.dentist, a.madrid, range((10, 0), (11, 0))),
    )
    .await;
    // Inside a write too: another tenant's id locks nothing.
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.lock_reservation(b.tenant, theirs.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tx.lock_reservation(a.tenant, theirs.id)
            .await
            .unwrap()
            .is_some()
    );
    drop(tx);

    assert_eq!(
        store.branch(b.tenant, a.madrid).await,
        Err(StoreError::NotFound(Entity::Branch(a.madrid)))
    );
    assert!(matches!(
        store.resource(b.tenant, a.dentist).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.service(b.tenant, a.cleaning).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.product(b.tenant, a.kit).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .resource_branch(b.tenant, a.dentist, a.madrid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .product_branch(b.tenant, a.kit, a.madrid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .service_branch(b.tenant, a.cleaning, a.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.reservation(b.tenant, theirs.id).await,
        Err(StoreError::NotFound(Entity::Reservation(_)))
    ));
    let about_theirs = EventQuery {
        entity: Some(theirs.id.as_uuid()),
        ..EventQuery::since(Seq::ZERO, 1000)
    };
    assert!(
        store
            .events(b.tenant, &about_theirs)
            .await
            .unwrap()
            .is_empty(),
        "another tenant's history is empty"
    );

    // Taking over another tenant's id is refused and changes nothing.
    let mut hijack = store.branch(a.tenant, a.madrid).await.unwrap();
    hijack.tenant_id = b.tenant;
    assert!(matches!(
        put(&store, &b, CatalogRecord::Branch(hijack), PutMode::Update).await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(
        store.branch(a.tenant, a.madrid).await.unwrap().tenant_id,
        a.tenant
    );
    let link = booking_core::ResourceBranch {
        tenant_id: b.tenant,
        resource_id: a.dentist,
        branch_id: b.madrid,
        schedule: booking_core::Schedule::unrestricted(),
    };
    assert!(matches!(
        put(&store, &b, CatalogRecord::Schedule(link), PutMode::Upsert).await,
        Err(CatalogError::NotFound(_))
    ));

    // Writes naming another tenant's records are refused.
    let foreign_resource = b.draft(a.dentist, b.madrid, range((12, 0), (13, 0)));
    assert!(matches!(
        apply(&store, b.create(foreign_resource)).await,
        Err(ApplyError::NotFound(Entity::Resource(_)))
    ));
    let foreign_product = ProductId::from_uuid(a.kit.as_uuid());
    let mut with_foreign = b.draft(b.dentist, b.madrid, range((12, 0), (13, 0)));
    with_foreign.lines = vec![booking_core::ProductLine {
        product_id: foreign_product,
        quantity: Quantity::new(1).unwrap(),
    }];
    assert!(matches!(
        apply(&store, b.create(with_foreign)).await,
        Err(ApplyError::NotFound(Entity::ProductAtBranch(..)))
    ));
    let mut cancel_theirs = theirs.clone();
    cancel_theirs.tenant_id = b.tenant;
    let w = b.cancel(&cancel_theirs, t(8, 0));
    assert!(matches!(
        apply(&store, w).await,
        Err(ApplyError::NotFound(_))
    ));
    assert_eq!(
        store.reservation(a.tenant, theirs.id).await.unwrap().status,
        Status::Confirmed
    );

    // Event logs and queries are per tenant.
    let b_events = all_events(&store, &b).await;
    assert!(b_events.iter().all(|e| e.tenant_id == b.tenant));
    assert_eq!(b_events.first().map(|e| e.seq), Some(Seq(1)));
    let b_res = store
        .reservations(b.tenant, &ReservationQuery::default())
        .await
        .unwrap();
    assert!(b_res.is_empty());
    // B's calendar is independent of A's: the same slot is free for B.
    book(
        &store,
        &b,
        b.draft(b.dentist, b.madrid, range((10, 0), (11, 0))),
    )
    .await;
    assert_invariants(&store, &a, t(8, 0)).await;
    assert_invariants(&store, &b, t(8, 0)).await;
}

/// An item no reservation refers to is deleted with its links; one in use
/// is refused and stays; another tenant's is not found.
pub async fn catalog_items_are_deleted_with_their_links_unless_in_use(store: Store) {
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    // The chair and the service are unused: they go, with their links.
    delete(&store, &c, CatalogKey::Resource(c.chair))
        .await
        .unwrap();
    assert!(matches!(
        store.resource(c.tenant, c.chair).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store
            .branch_resources(c.tenant, c.madrid)
            .await
            .unwrap()
            .len(),
        1
    );
    delete(&store, &c, CatalogKey::Service(c.cleaning))
        .await
        .unwrap();
    assert!(
        store
            .service_branch(c.tenant, c.cleaning, c.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    // The dentist and the kit are booked: they stay.
    book(
        &store,
        &c,
        c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 1),
    )
    .await;
    for item in [
        CatalogKey::Resource(c.dentist),
        CatalogKey::Product(c.kit),
        CatalogKey::Branch(c.madrid),
    ] {
        assert!(
            matches!(delete(&store, &c, item).await, Err(CatalogError::InUse(_))),
            "{item:?}"
        );
    }
    assert_eq!(stock(&store, &c, c.madrid).await, 9);
    // Lisbon has no reservation: it goes, with its links and stock.
    delete(&store, &c, CatalogKey::Branch(c.lisbon))
        .await
        .unwrap();
    assert!(
        store
            .product_branch(c.tenant, c.kit, c.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .resource_branch(c.tenant, c.dentist, c.lisbon)
            .await
            .unwrap()
            .is_none()
    );
    // Nothing crosses tenants.
    assert!(matches!(
        delete(&store, &other, CatalogKey::Resource(c.dentist)).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(store.resource(c.tenant, c.dentist).await.is_ok());
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// A tenant starts with the default settings, reads back what was put, and
/// never sees another tenant's. Who performs a service is listed from both
/// sides and goes when the service or the resource goes.
pub async fn settings_and_performers_round_trip(store: Store) {
    use booking_core::{CatalogList, TenantSettings};
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    assert_eq!(
        store.settings(c.tenant).await.unwrap(),
        TenantSettings::defaults(c.tenant)
    );
    let strict = TenantSettings::new(c.tenant, 120, 30, 15, 3).unwrap();
    let before = put(&store, &c, CatalogRecord::Settings(strict), PutMode::Update)
        .await
        .unwrap();
    assert_eq!(
        before,
        Some(CatalogRecord::Settings(TenantSettings::defaults(c.tenant)))
    );
    assert_eq!(store.settings(c.tenant).await.unwrap(), strict);
    assert_eq!(
        store.settings(other.tenant).await.unwrap(),
        TenantSettings::defaults(other.tenant)
    );
    assert!(matches!(
        store.settings(booking_core::TenantId::generate()).await,
        Err(StoreError::NotFound(_))
    ));

    assert!(
        store
            .service_resources(c.tenant, c.cleaning)
            .await
            .unwrap()
            .is_empty(),
        "none listed: any resource performs it"
    );
    both_perform_cleaning(&store, &c).await;
    let mut performers = store.service_resources(c.tenant, c.cleaning).await.unwrap();
    performers.sort();
    let mut both = vec![c.dentist, c.chair];
    both.sort();
    assert_eq!(performers, both);
    assert_eq!(
        store
            .catalog_records(c.tenant, CatalogList::ServicesOfResource(c.chair))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .service_resources(other.tenant, c.cleaning)
            .await
            .unwrap()
            .is_empty(),
        "nothing crosses tenants"
    );
    delete(&store, &c, CatalogKey::Resource(c.chair))
        .await
        .unwrap();
    assert_eq!(
        store.service_resources(c.tenant, c.cleaning).await.unwrap(),
        [c.dentist],
        "the chair's link went with it"
    );
    delete(
        &store,
        &c,
        CatalogKey::ServiceResource(c.cleaning, c.dentist),
    )
    .await
    .unwrap();
    assert!(
        store
            .service_resources(c.tenant, c.cleaning)
            .await
            .unwrap()
            .is_empty()
    );
    assert_invariants(&store, &c, t(8, 0)).await;
}

/// Lists the dentist and the chair as the resources that perform the
/// cleaning.
async fn both_perform_cleaning(store: &Store, c: &Clinic) {
    for resource in [c.dentist, c.chair] {
        put(
            store,
            c,
            CatalogRecord::ServiceResource(booking_core::ServiceResource {
                tenant_id: c.tenant,
                service_id: c.cleaning,
                resource_id: resource,
            }),
            PutMode::Upsert,
        )
        .await
        .unwrap();
    }
}

/// An item list read a page at a time walks every item of the tenant once,
/// by id, and none of another tenant's; a page after the last item is
/// empty.
pub async fn catalog_pages_walk_every_item_once_by_id(store: Store) {
    use booking_core::{CatalogList, CatalogPage, Resource, ResourceId, ResourceKind};
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    let write = booking_core::engine::CatalogWrite {
        by: c.by.clone(),
        at: t(6, 0),
    };
    for n in 0..7 {
        let record = CatalogRecord::Resource(Resource {
            id: ResourceId::generate(),
            tenant_id: c.tenant,
            name: booking_core::Name::new(&format!("Chair {n}")).unwrap(),
            kind: ResourceKind::Room,
        });
        booking_core::engine::put(&*store, &record, booking_core::PutMode::Create, &write)
            .await
            .unwrap();
    }
    let mut all: Vec<uuid::Uuid> = store
        .resources(c.tenant)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.as_uuid())
        .collect();
    all.sort();
    assert_eq!(all.len(), 9, "the fixture's two and seven more");
    let mut walked: Vec<uuid::Uuid> = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .catalog_page(
                c.tenant,
                CatalogList::Resources,
                CatalogPage { after, limit: 4 },
            )
            .await
            .unwrap();
        assert!(page.len() <= 4);
        let ids: Vec<uuid::Uuid> = page.iter().filter_map(booking_core::item_id).collect();
        assert_eq!(ids.len(), page.len(), "only resources");
        walked.extend(ids.iter().copied());
        if page.len() < 4 {
            break;
        }
        after = ids.last().copied();
    }
    assert_eq!(walked, all, "every item once, by id");
    let past = store
        .catalog_page(
            c.tenant,
            CatalogList::Resources,
            CatalogPage {
                after: all.last().copied(),
                limit: 4,
            },
        )
        .await
        .unwrap();
    assert!(past.is_empty());
    let theirs = store
        .catalog_page(
            other.tenant,
            CatalogList::Resources,
            CatalogPage {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(theirs.len(), 2, "another tenant sees its own");
}

/// A batch of reads answers, read by read, what each read answers alone:
/// records found and missing, another tenant's as missing, lists in key
/// order (empty ones too), and nothing for no reads.
pub async fn a_batch_of_reads_answers_as_each_read_alone(store: Store) {
    use booking_core::{CatalogList, CatalogRead, ProductId, StockKey};
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    both_perform_cleaning(&store, &c).await;
    let stock = |product_id, branch_id| {
        CatalogRead::Key(CatalogKey::Stock(StockKey {
            product_id,
            branch_id,
        }))
    };
    let reads = [
        CatalogRead::Key(CatalogKey::Settings(c.tenant)),
        CatalogRead::Key(CatalogKey::Branch(c.madrid)),
        CatalogRead::Key(CatalogKey::Branch(other.madrid)),
        CatalogRead::Key(CatalogKey::Resource(c.dentist)),
        CatalogRead::Key(CatalogKey::Schedule(c.chair, c.lisbon)),
        CatalogRead::Key(CatalogKey::Schedule(c.dentist, c.lisbon)),
        CatalogRead::Key(CatalogKey::Service(c.cleaning)),
        CatalogRead::Key(CatalogKey::ServicePrice(c.cleaning, c.lisbon)),
        CatalogRead::List(CatalogList::ResourcesOfService(c.cleaning)),
        CatalogRead::List(CatalogList::ResourcesOfService(other.cleaning)),
        CatalogRead::Key(CatalogKey::Product(c.kit)),
        stock(c.kit, c.madrid),
        stock(c.kit, other.madrid),
        CatalogRead::Key(CatalogKey::Product(ProductId::generate())),
        CatalogRead::List(CatalogList::SchedulesOf(c.dentist)),
        CatalogRead::List(CatalogList::Branches),
    ];
    let batch = store.catalog_batch(c.tenant, &reads).await.unwrap();
    let mut alone: Vec<Vec<CatalogRecord>> = Vec::new();
    for read in reads {
        alone.push(match read {
            CatalogRead::Key(key) => store
                .catalog_record(c.tenant, key)
                .await
                .unwrap()
                .into_iter()
                .collect(),
            CatalogRead::List(list) => store.catalog_records(c.tenant, list).await.unwrap(),
        });
    }
    assert_eq!(batch, alone, "each read as it answers alone");
    let sizes: Vec<usize> = batch.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [1, 1, 0, 1, 0, 1, 1, 1, 2, 0, 1, 1, 0, 0, 2, 2],
        "found, missing and another tenant's, read by read"
    );
    let mut performers = vec![c.chair, c.dentist];
    performers.sort();
    assert_eq!(
        batch[8]
            .iter()
            .map(|r| match r {
                CatalogRecord::ServiceResource(l) => l.resource_id,
                other => panic!("a performer, not {other:?}"),
            })
            .collect::<Vec<_>>(),
        performers,
        "a list in key order"
    );
    assert!(store.catalog_batch(c.tenant, &[]).await.unwrap().is_empty());
}
