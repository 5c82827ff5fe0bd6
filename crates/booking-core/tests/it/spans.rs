//! The booking flow's spans: one per operation with its attributes and
//! outcome, children for the lock, the check, the store write and the
//! broadcast.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::engine::InMemoryEngine;
use booking_core::{NewReservation, ProductLine, Quantity};
use booking_testkit::fixture::{Clinic, range, t};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone, Debug, Default)]
struct Span {
    name: String,
    parent: Option<String>,
    fields: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(u64, Span)>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut span = Span {
            name: attrs.metadata().name().to_owned(),
            parent: ctx
                .span(id)
                .and_then(|s| s.parent())
                .map(|p| p.name().to_owned()),
            fields: HashMap::new(),
        };
        attrs.record(&mut Fields(&mut span.fields));
        self.0.lock().unwrap().push((id.into_u64(), span));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, span)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
}

impl Capture {
    fn named(&self, name: &str) -> Vec<Span> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

fn request(c: &Clinic) -> NewReservation {
    NewReservation {
        id: None,
        tenant_id: c.tenant,
        branch_id: c.madrid,
        resource_id: c.dentist,
        service_id: None,
        range: range((10, 0), (11, 0)),
        products: vec![ProductLine {
            product_id: c.kit,
            quantity: Quantity::new(1).unwrap(),
        }],
        note: None,
        hold_for: None,
        override_hours: None,
        override_start: None,
        by: c.by.clone(),
    }
}

#[tokio::test]
async fn a_booking_leaves_a_span_tree_with_its_attributes_and_outcome() {
    let capture = Capture::default();
    let _guard = booking_testkit::tracing_capture::scoped(
        tracing_subscriber::registry().with(capture.clone()),
    );
    let e = InMemoryEngine::new(t(7, 0));
    let c = Clinic::setup(&*e.store).await;

    e.bookings().create(request(&c)).await.unwrap();
    let create = &capture.named("booking.create")[0];
    assert_eq!(create.fields["tenant_id"], c.tenant.to_string());
    assert_eq!(create.fields["resource_id"], c.dentist.to_string());
    assert_eq!(create.fields["outcome"], "created");
    let lock = &capture.named("lock.acquire")[0];
    assert_eq!(
        (lock.parent.as_deref(), lock.fields["state"].as_str()),
        (Some("booking.create"), "acquired")
    );
    assert_eq!(
        lock.fields["keys"], "1",
        "the one hour of the resource it occupies (stock is guarded by its row)"
    );
    for child in ["booking.check", "store.apply", "broadcast"] {
        assert_eq!(
            capture.named(child)[0].parent.as_deref(),
            Some("booking.create"),
            "{child}"
        );
    }
    assert_eq!(capture.named("store.apply")[0].fields["outcome"], "written");

    e.bookings().create(request(&c)).await.unwrap_err();
    assert_eq!(
        capture.named("booking.create")[1].fields["outcome"],
        "slot_taken"
    );

    e.locks.set_available(false);
    let mut later = request(&c);
    later.range = range((12, 0), (13, 0));
    e.bookings().create(later).await.unwrap();
    assert_eq!(
        capture.named("booking.create")[2].fields["outcome"],
        "degraded"
    );
    assert_eq!(
        capture.named("lock.acquire")[2].fields["state"],
        "unavailable"
    );
}
