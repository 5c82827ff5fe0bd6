//! Every event type round-trips: through the envelope clients, the stream
//! and the backplane read, and through the (type, version, data) columns
//! stores keep. A type added without a sample here does not compile.

use booking_core::event::payload::{KeyChange, TenantCreated};
use booking_core::{
    Actor, ApiKey, ApiKeyId, Attribution, Branch, CatalogRecord, Event, EventDecodeError,
    EventPayload, EventType, Money, Name, PAYLOAD_VERSION, Product, ProductBranch, RequestId,
    Reservation, ReservationEventKind, Resource, ResourceBranch, ResourceKind, Role, Schedule, Seq,
    ServiceItem, ServiceItemBranch, ServiceResource, Status, StockCause, Tenant, TenantSettings,
    catalog_events,
};
use booking_testkit::fixture::{Clinic, range, t};

fn clinic() -> Clinic {
    Clinic {
        tenant: booking_core::TenantId::generate(),
        madrid: booking_core::BranchId::generate(),
        lisbon: booking_core::BranchId::generate(),
        dentist: booking_core::ResourceId::generate(),
        chair: booking_core::ResourceId::generate(),
        cleaning: booking_core::ServiceId::generate(),
        kit: booking_core::ProductId::generate(),
        actor: Actor::new("reception").unwrap(),
        by: Attribution::named(Actor::new("reception").unwrap()),
    }
}

fn eur(minor: i64) -> Money {
    Money::from_code(minor, "EUR").unwrap()
}

/// The one event of `t` among those of a record change.
fn one_of(kind: EventType, events: Vec<EventPayload>) -> EventPayload {
    events
        .into_iter()
        .find(|e| e.event_type() == kind)
        .unwrap_or_else(|| panic!("the change records {kind}"))
}

fn sample(c: &Clinic, kind: EventType) -> EventPayload {
    use EventType as T;
    let mut held = c.with_kits(c.draft(c.dentist, c.madrid, range((10, 0), (11, 0))), 2);
    held.status = Status::Held;
    held.hold_expires_at = Some(t(7, 15));
    held.version = 1;
    let after = |status| Reservation {
        status,
        hold_expires_at: None,
        version: 2,
        ..held.clone()
    };
    let branch = |name: &str| {
        CatalogRecord::Branch(Branch {
            id: c.madrid,
            tenant_id: c.tenant,
            name: Name::new(name).unwrap(),
            time_zone: chrono_tz::Europe::Madrid,
        })
    };
    let resource = |name: &str| {
        CatalogRecord::Resource(Resource {
            id: c.dentist,
            tenant_id: c.tenant,
            name: Name::new(name).unwrap(),
            kind: ResourceKind::Staff,
        })
    };
    let service = |price| {
        CatalogRecord::Service(ServiceItem {
            id: c.cleaning,
            tenant_id: c.tenant,
            name: Name::new("Cleaning").unwrap(),
            duration: booking_core::Minutes::new(30).unwrap(),
            price: eur(price),
            buffer_before: booking_core::Minutes::ZERO,
            buffer_after: booking_core::Minutes::new(10).unwrap(),
        })
    };
    let product = |price| {
        CatalogRecord::Product(Product {
            id: c.kit,
            tenant_id: c.tenant,
            name: Name::new("Kit").unwrap(),
            price: eur(price),
        })
    };
    let link = |schedule| {
        CatalogRecord::Schedule(ResourceBranch {
            tenant_id: c.tenant,
            resource_id: c.dentist,
            branch_id: c.lisbon,
            schedule,
        })
    };
    let closed_on_christmas = Schedule::unrestricted()
        .with_exception(
            chrono::NaiveDate::from_ymd_opt(2030, 12, 24).unwrap(),
            vec![],
        )
        .unwrap();
    let service_price = CatalogRecord::ServicePrice(ServiceItemBranch {
        tenant_id: c.tenant,
        service_id: c.cleaning,
        branch_id: c.lisbon,
        price: eur(5500),
    });
    let stock = |price| {
        CatalogRecord::Stock(ProductBranch {
            tenant_id: c.tenant,
            product_id: c.kit,
            branch_id: c.lisbon,
            stock: 3,
            price,
        })
    };
    let key = ApiKey {
        id: ApiKeyId::generate(),
        tenant_id: c.tenant,
        role: Role::Staff,
        actor: Actor::new("front desk").unwrap(),
        created_at: t(6, 0),
        expires_at: Some(t(20, 0)),
        revoked_at: None,
    };
    let key_change = |before: Option<&ApiKey>, after: &ApiKey| KeyChange {
        before: before.map(Into::into),
        after: after.into(),
    };
    let set = StockCause::Set;
    let performer = CatalogRecord::ServiceResource(ServiceResource {
        tenant_id: c.tenant,
        service_id: c.cleaning,
        resource_id: c.dentist,
    });
    match kind {
        T::ReservationHeld => EventPayload::reservation(ReservationEventKind::Held, None, &held),
        T::ReservationCreated => EventPayload::reservation(
            ReservationEventKind::Created,
            None,
            &after(Status::Confirmed),
        ),
        T::ReservationConfirmed => EventPayload::reservation(
            ReservationEventKind::Confirmed,
            Some(&held),
            &after(Status::Confirmed),
        ),
        T::ReservationMoved => EventPayload::reservation(
            ReservationEventKind::Moved,
            Some(&held),
            &Reservation {
                range: range((12, 0), (13, 0)),
                ..held.clone()
            },
        ),
        T::ReservationCancelled => EventPayload::reservation(
            ReservationEventKind::Cancelled,
            Some(&held),
            &after(Status::Cancelled),
        ),
        T::ReservationCompleted => EventPayload::reservation(
            ReservationEventKind::Completed,
            Some(&after(Status::Confirmed)),
            &after(Status::Completed),
        ),
        T::ReservationExpired => EventPayload::reservation(
            ReservationEventKind::Expired,
            Some(&held),
            &after(Status::Expired),
        ),
        T::StockChanged => one_of(
            kind,
            catalog_events(Some(&stock(None)), None, &StockCause::Removed),
        ),
        T::BranchCreated => one_of(kind, catalog_events(None, Some(&branch("A")), &set)),
        T::BranchUpdated => one_of(
            kind,
            catalog_events(Some(&branch("A")), Some(&branch("B")), &set),
        ),
        T::BranchDeleted => one_of(kind, catalog_events(Some(&branch("A")), None, &set)),
        T::ResourceCreated => one_of(kind, catalog_events(None, Some(&resource("A")), &set)),
        T::ResourceUpdated => one_of(
            kind,
            catalog_events(Some(&resource("A")), Some(&resource("B")), &set),
        ),
        T::ResourceDeleted => one_of(kind, catalog_events(Some(&resource("A")), None, &set)),
        T::ServiceCreated => one_of(kind, catalog_events(None, Some(&service(6000)), &set)),
        T::ServiceUpdated => one_of(
            kind,
            catalog_events(Some(&service(6000)), Some(&service(6500)), &set),
        ),
        T::ServiceDeleted => one_of(kind, catalog_events(Some(&service(6000)), None, &set)),
        T::ProductCreated => one_of(kind, catalog_events(None, Some(&product(2500)), &set)),
        T::ProductUpdated => one_of(
            kind,
            catalog_events(Some(&product(2500)), Some(&product(2700)), &set),
        ),
        T::ProductDeleted => one_of(kind, catalog_events(Some(&product(2500)), None, &set)),
        T::ResourceLinked => one_of(
            kind,
            catalog_events(None, Some(&link(Schedule::unrestricted())), &set),
        ),
        T::WorkingHoursChanged => one_of(
            kind,
            catalog_events(
                Some(&link(Schedule::unrestricted())),
                Some(&link(closed_on_christmas)),
                &set,
            ),
        ),
        T::ResourceUnlinked => one_of(
            kind,
            catalog_events(Some(&link(closed_on_christmas)), None, &set),
        ),
        T::ServicePriceSet => one_of(kind, catalog_events(None, Some(&service_price), &set)),
        T::ServicePriceCleared => one_of(kind, catalog_events(Some(&service_price), None, &set)),
        T::ProductPriceSet => one_of(
            kind,
            catalog_events(Some(&stock(None)), Some(&stock(Some(eur(900)))), &set),
        ),
        T::ProductPriceCleared => one_of(
            kind,
            catalog_events(Some(&stock(Some(eur(900)))), Some(&stock(None)), &set),
        ),
        T::TenantCreated => EventPayload::TenantCreated(TenantCreated::of(
            &Tenant {
                id: c.tenant,
                name: Name::new("Smile Dental").unwrap(),
            },
            &TenantSettings::defaults(c.tenant),
        )),
        T::SettingsChanged => one_of(
            kind,
            catalog_events(
                Some(&CatalogRecord::Settings(TenantSettings::defaults(c.tenant))),
                Some(&CatalogRecord::Settings(
                    TenantSettings::new(c.tenant, 60, 90, 10, 5).unwrap(),
                )),
                &set,
            ),
        ),
        T::ServiceResourceAdded => one_of(kind, catalog_events(None, Some(&performer), &set)),
        T::ServiceResourceRemoved => one_of(kind, catalog_events(Some(&performer), None, &set)),
        T::ReservationExtended => EventPayload::reservation(
            ReservationEventKind::Extended,
            Some(&held),
            &Reservation {
                hold_expires_at: Some(t(7, 30)),
                version: 2,
                ..held.clone()
            },
        ),
        T::ReservationReleased => EventPayload::reservation(
            ReservationEventKind::Released,
            Some(&held),
            &after(Status::Cancelled),
        ),
        T::ApiKeyCreated => EventPayload::ApiKeyCreated(key_change(None, &key)),
        T::ApiKeyRevoked => EventPayload::ApiKeyRevoked(key_change(
            Some(&key),
            &ApiKey {
                revoked_at: Some(t(9, 0)),
                ..key.clone()
            },
        )),
        T::ApiKeyRoleChanged => EventPayload::ApiKeyRoleChanged(key_change(
            Some(&key),
            &ApiKey {
                role: Role::Viewer,
                ..key.clone()
            },
        )),
    }
}

#[test]
fn every_event_type_round_trips_through_the_envelope_and_the_stored_columns() {
    let c = clinic();
    for (i, kind) in EventType::ALL.iter().enumerate() {
        let payload = sample(&c, *kind);
        assert_eq!(payload.event_type(), *kind);
        let event = Event {
            seq: Seq(u64::try_from(i).unwrap() + 1),
            tenant_id: c.tenant,
            at: t(9, 30),
            by: Attribution {
                actor: Actor::new("front desk").unwrap(),
                key_id: Some(ApiKeyId::generate()),
                request_id: Some(RequestId::new("req-42").unwrap()),
            },
            payload,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], kind.as_str());
        assert_eq!(json["version"], PAYLOAD_VERSION);
        assert_eq!(json["actor"], "front desk");
        assert_eq!(json["request_id"], "req-42");
        assert!(json["data"].is_object(), "{kind}: {json}");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event, "{kind} through the envelope");
        let stored = EventPayload::decode(kind.as_str(), PAYLOAD_VERSION, event.payload.data());
        assert_eq!(
            stored.as_ref(),
            Ok(&event.payload),
            "{kind} through the columns"
        );
    }
}

#[test]
fn a_stored_event_this_code_cannot_read_is_an_error_not_a_guess() {
    let data = serde_json::json!({"before": null, "after": null});
    assert_eq!(
        EventPayload::decode("BranchRenamed", 1, data.clone()),
        Err(EventDecodeError::UnknownType("BranchRenamed".into()))
    );
    assert!(matches!(
        EventPayload::decode("BranchCreated", PAYLOAD_VERSION + 1, data),
        Err(EventDecodeError::UnknownVersion { .. })
    ));
    assert!(matches!(
        EventPayload::decode("StockChanged", 1, serde_json::json!({"before": 1})),
        Err(EventDecodeError::Invalid { .. })
    ));
}

#[test]
fn a_reservation_written_before_the_payload_structs_reads_as_it_was() {
    // A row of the log as the code before the payload structs wrote it:
    // the domain's serde shape, tagged with "type" and "kind".
    let (_, rows) = booking_testkit::legacy::rows();
    for row in rows {
        let data: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
        let decoded = EventPayload::decode(&row.event_type, 1, data).unwrap();
        assert_eq!(decoded.type_name(), row.event_type);
    }
}
