//! Event rows as the log held them before every change became an event:
//! real rows, written by the code that ran in production up to commit
//! `f1bfe3a` (schema of migrations 0001–0003, payloads serialized from the
//! domain types, with `"type"`/`"kind"` tags and no key or request id), kept
//! in `fixtures/events-before-audit.jsonl`. The log is never rewritten, so
//! every store must read these rows through today's code: each store's
//! tests insert them with the old schema, migrate, and call [`check`].
//!
//! The fixture's first line is the tenant (`tenant_id`, `name`); each
//! other line one `reservation_events` row (`seq`, `at`, `actor`, `type`,
//! `reservation_id`, and `payload` as the exact JSON text stored).

use booking_core::event::payload::StockCause;
use booking_core::{
    BookingStore, Event, EventPayload, EventQuery, EventType, Seq, TenantId, project,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

const FIXTURE: &str = include_str!("../fixtures/events-before-audit.jsonl");

/// The tenant the rows belong to.
#[derive(Clone, Debug, Deserialize)]
pub struct LegacyTenant {
    /// Its id.
    pub tenant_id: Uuid,
    /// Its name.
    pub name: String,
}

/// One row of the old `reservation_events` table.
#[derive(Clone, Debug, Deserialize)]
pub struct LegacyRow {
    /// Its number in the tenant's log.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (free text).
    pub actor: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The reservation, for reservation events.
    pub reservation_id: Option<Uuid>,
    /// The payload, exactly as stored.
    pub payload: String,
}

/// The fixture: the tenant and its rows, in order.
///
/// # Panics
/// If the fixture file is damaged.
#[must_use]
pub fn rows() -> (LegacyTenant, Vec<LegacyRow>) {
    let mut lines = FIXTURE.lines().filter(|l| !l.trim().is_empty());
    let tenant =
        serde_json::from_str(lines.next().expect("the tenant line")).expect("a valid tenant line");
    let rows = lines
        .map(|l| serde_json::from_str(l).expect("a valid row"))
        .collect();
    (tenant, rows)
}

/// Reads the fixture's log back through `store`, after the rows were
/// inserted with the old schema and the store migrated, and checks that
/// nothing is lost: every row decodes to the event it was, in order, with
/// its actor and no key or request id; each reservation's history projects
/// cleanly; and the rows are found by what they are about (the migration
/// filled in the subjects of old stock events).
///
/// # Panics
/// On any difference, with a message.
pub async fn check(store: &dyn BookingStore) {
    let (tenant, rows) = rows();
    let tenant = TenantId::from_uuid(tenant.tenant_id);
    let events = store
        .events(tenant, &EventQuery::since(Seq::ZERO, 1000))
        .await
        .expect("the old rows decode");
    assert_eq!(events.len(), rows.len(), "every old row is read");
    for (event, row) in events.iter().zip(&rows) {
        assert_eq!(i64::try_from(event.seq.0).ok(), Some(row.seq));
        assert_eq!(event.type_name(), row.event_type);
        assert_eq!(event.at, row.at);
        assert_eq!(event.by.actor.as_str(), row.actor);
        assert_eq!((event.by.key_id, &event.by.request_id), (None, &None));
        assert_eq!(
            event.reservation_id().map(|r| r.as_uuid()),
            row.reservation_id
        );
        let stored: serde_json::Value = serde_json::from_str(&row.payload).expect("JSON");
        assert_eq!(
            without_tags(stored),
            event.payload.data(),
            "seq {}: the payload reads back field for field",
            row.seq
        );
    }

    let reservations: std::collections::BTreeSet<Uuid> =
        rows.iter().filter_map(|r| r.reservation_id).collect();
    for id in &reservations {
        let history = about(store, tenant, *id).await;
        assert!(!history.is_empty(), "reservation {id} has its history");
        let state = project(&history).expect("an old history projects");
        assert_eq!(state.map(|s| s.id), Some(*id));
    }

    let stock: Vec<&Event> = events
        .iter()
        .filter(|e| e.payload.event_type() == EventType::StockChanged)
        .collect();
    let EventPayload::StockChanged(first) = &stock[0].payload else {
        unreachable!("filtered")
    };
    assert!(
        stock.iter().any(|e| matches!(&e.payload,
            EventPayload::StockChanged(c) if matches!(c.cause, StockCause::Reservation(_)))),
        "old stock events keep their cause"
    );
    let of_product = about(store, tenant, first.product_id).await;
    assert_eq!(
        of_product.len(),
        stock.len(),
        "an old stock event is found by its product"
    );
    let at_branch = about(store, tenant, first.branch_id).await;
    assert!(
        !at_branch.is_empty()
            && at_branch.iter().all(|e| e.payload.branch_id()
                == Some(booking_core::BranchId::from_uuid(first.branch_id))),
        "and by its branch"
    );
}

async fn about(store: &dyn BookingStore, tenant: TenantId, entity: Uuid) -> Vec<Event> {
    let query = EventQuery {
        entity: Some(entity),
        ..EventQuery::since(Seq::ZERO, 1000)
    };
    store.events(tenant, &query).await.expect("events")
}

/// The stored JSON without the tags the old rows carried (`"type"` on
/// every payload, `"kind"` on reservation ones), which the type column
/// now says.
fn without_tags(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(object) = value.as_object_mut() {
        object.remove("type");
        if object.contains_key("after") && object.contains_key("before") {
            object.remove("kind");
        }
    }
    value
}
