//! Response bodies: the API's own types, separate from the domain and from
//! the event-log payloads, so either can change without breaking clients.
//! Each is documented in the OpenAPI document by its derive.

use std::collections::BTreeMap;

use booking_core::event::payload::ScheduleSnapshot;
use booking_core::{
    BranchOffer, Money, PriceLine, PricedItem, Product, ProductBranch, Reservation, Resource,
    ResourceBranch, Schedule, ServiceItem, ServiceItemBranch,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

mod availability;
mod events;
mod keys;

pub(crate) use availability::{AvailabilityView, SettingsView};
pub(crate) use events::{EventPage, EventView};
pub(crate) use keys::{KeyView, NewKeyView};

/// An amount in minor units of an ISO 4217 currency.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MoneyView {
    /// E.g. 4500 for 45.00.
    amount_minor: i64,
    /// ISO 4217 code, e.g. `EUR`.
    currency: String,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> Self {
        Self {
            amount_minor: m.amount_minor(),
            currency: m.currency().code().to_owned(),
        }
    }
}

/// A branch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BranchView {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    /// IANA time zone, e.g. `Europe/Madrid`.
    time_zone: String,
}

impl From<&booking_core::Branch> for BranchView {
    fn from(b: &booking_core::Branch) -> Self {
        Self {
            id: b.id.as_uuid(),
            tenant_id: b.tenant_id.as_uuid(),
            name: b.name.as_str().to_owned(),
            time_zone: b.time_zone.name().to_owned(),
        }
    }
}

/// A resource (a dentist, a chair).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ResourceView {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    /// `staff`, `room` or `equipment`.
    kind: String,
}

impl From<&Resource> for ResourceView {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id.as_uuid(),
            tenant_id: r.tenant_id.as_uuid(),
            name: r.name.as_str().to_owned(),
            kind: r.kind.as_str().to_owned(),
        }
    }
}

/// Working hours in the shape they are sent: `{"monday": [["09:00",
/// "17:00"]]}` (a missing day is closed; no `working_hours` means any time)
/// and dated exceptions (`{"2026-12-24": []}` closes a day).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleView {
    #[schema(value_type = Option<Object>)]
    working_hours: Option<BTreeMap<String, Vec<(String, String)>>>,
    #[schema(value_type = Object)]
    exceptions: BTreeMap<NaiveDate, Vec<(String, String)>>,
}

impl From<&Schedule> for ScheduleView {
    fn from(s: &Schedule) -> Self {
        // The log records schedules in the same shape.
        let ScheduleSnapshot {
            working_hours,
            exceptions,
        } = s.into();
        Self {
            working_hours,
            exceptions,
        }
    }
}

/// A resource working at a branch, with its hours there.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleLinkView {
    resource_id: Uuid,
    branch_id: Uuid,
    schedule: ScheduleView,
}

impl From<&ResourceBranch> for ScheduleLinkView {
    fn from(l: &ResourceBranch) -> Self {
        Self {
            resource_id: l.resource_id.as_uuid(),
            branch_id: l.branch_id.as_uuid(),
            schedule: (&l.schedule).into(),
        }
    }
}

/// A bookable service.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceView {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    duration_minutes: u32,
    /// The default price; branches may override it.
    price: MoneyView,
    buffer_before_minutes: u32,
    buffer_after_minutes: u32,
}

impl From<&ServiceItem> for ServiceView {
    fn from(s: &ServiceItem) -> Self {
        Self {
            id: s.id.as_uuid(),
            tenant_id: s.tenant_id.as_uuid(),
            name: s.name.as_str().to_owned(),
            duration_minutes: s.duration.get(),
            price: s.price.into(),
            buffer_before_minutes: s.buffer_before.get(),
            buffer_after_minutes: s.buffer_after.get(),
        }
    }
}

/// A service's price at one branch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServicePriceView {
    service_id: Uuid,
    branch_id: Uuid,
    price: MoneyView,
}

impl From<&ServiceItemBranch> for ServicePriceView {
    fn from(p: &ServiceItemBranch) -> Self {
        Self {
            service_id: p.service_id.as_uuid(),
            branch_id: p.branch_id.as_uuid(),
            price: p.price.into(),
        }
    }
}

/// A product sold with services.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProductView {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    /// The default price; branches may override it.
    price: MoneyView,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.as_uuid(),
            tenant_id: p.tenant_id.as_uuid(),
            name: p.name.as_str().to_owned(),
            price: p.price.into(),
        }
    }
}

/// A product's stock (and price override) at one branch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StockView {
    product_id: Uuid,
    branch_id: Uuid,
    stock: u32,
    /// The branch's price, if it overrides the product's.
    price: Option<MoneyView>,
}

impl From<&ProductBranch> for StockView {
    fn from(s: &ProductBranch) -> Self {
        Self {
            product_id: s.product_id.as_uuid(),
            branch_id: s.branch_id.as_uuid(),
            stock: s.stock,
            price: s.price.map(Into::into),
        }
    }
}

/// The answer to a stock change: the new level and the event it made.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StockChangedView {
    stock: StockView,
    /// The place in the tenant's log of the last event recording the
    /// change (`StockChanged`, or the branch price's); `null` when nothing
    /// changed.
    event_seq: Option<u64>,
}

impl StockChangedView {
    pub(crate) fn new(stock: &ProductBranch, event_seq: Option<u64>) -> Self {
        Self {
            stock: stock.into(),
            event_seq,
        }
    }
}

/// A resource in a branch's offer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferedResourceView {
    resource: ResourceView,
    schedule: ScheduleView,
}

/// A service at the branch's price.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferedServiceView {
    service: ServiceView,
    price: MoneyView,
}

/// A product with the branch's stock and price.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferedProductView {
    product: ProductView,
    stock: u32,
    price: MoneyView,
}

/// What a branch offers: who works there, services and products at its
/// prices.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferView {
    branch: BranchView,
    resources: Vec<OfferedResourceView>,
    services: Vec<OfferedServiceView>,
    products: Vec<OfferedProductView>,
}

impl From<&BranchOffer> for OfferView {
    fn from(o: &BranchOffer) -> Self {
        Self {
            branch: (&o.branch).into(),
            resources: o
                .resources
                .iter()
                .map(|r| OfferedResourceView {
                    resource: (&r.resource).into(),
                    schedule: (&r.schedule).into(),
                })
                .collect(),
            services: o
                .services
                .iter()
                .map(|s| OfferedServiceView {
                    service: (&s.service).into(),
                    price: s.price.into(),
                })
                .collect(),
            products: o
                .products
                .iter()
                .map(|p| OfferedProductView {
                    product: (&p.product).into(),
                    stock: p.stock,
                    price: p.price.into(),
                })
                .collect(),
        }
    }
}

/// One product taken with a reservation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LineView {
    product_id: Uuid,
    quantity: u32,
}

/// One charged line of a reservation's price.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PriceLineView {
    /// `service` or `product`.
    kind: &'static str,
    /// The service's or product's id.
    item_id: Uuid,
    /// Its name when the reservation was made.
    description: String,
    unit_price: MoneyView,
    quantity: u32,
    line_total: MoneyView,
}

impl From<&PriceLine> for PriceLineView {
    fn from(l: &PriceLine) -> Self {
        let (kind, item_id) = match l.item {
            PricedItem::Service(id) => ("service", id.as_uuid()),
            PricedItem::Product(id) => ("product", id.as_uuid()),
        };
        Self {
            kind,
            item_id,
            description: l.description.as_str().to_owned(),
            unit_price: l.unit_price.into(),
            quantity: l.quantity.get(),
            line_total: l.line_total.into(),
        }
    }
}

/// The prices fixed when the reservation was made.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PriceView {
    lines: Vec<PriceLineView>,
    /// The sum; absent when nothing is charged.
    total: Option<MoneyView>,
}

/// A reservation (a booking or a hold), as `POST /v1/reservations`
/// answers it and every reservation endpoint returns it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReservationView {
    id: Uuid,
    branch_id: Uuid,
    resource_id: Uuid,
    service_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    buffer_before_minutes: u32,
    buffer_after_minutes: u32,
    products: Vec<LineView>,
    price: PriceView,
    /// `held`, `confirmed`, `cancelled`, `completed` or `expired`.
    status: &'static str,
    /// When a hold lapses.
    hold_expires_at: Option<DateTime<Utc>>,
    note: Option<String>,
    /// Increases with every change; sent as the `ETag`, expected in
    /// `If-Match`.
    version: u64,
    created_by: String,
    /// The API key that made it (`null` when none did).
    created_by_key_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The write ran without the lock service (the store alone guarded
    /// it). Also sent as `Booking-Degraded: true`.
    degraded: bool,
}

impl ReservationView {
    pub(crate) fn new(r: &Reservation, degraded: bool) -> Self {
        Self {
            id: r.id.as_uuid(),
            branch_id: r.branch_id.as_uuid(),
            resource_id: r.resource_id.as_uuid(),
            service_id: r.service_id.map(|s| s.as_uuid()),
            starts_at: r.range.start(),
            ends_at: r.range.end(),
            buffer_before_minutes: r.buffer_before.get(),
            buffer_after_minutes: r.buffer_after.get(),
            products: r
                .lines
                .iter()
                .map(|l| LineView {
                    product_id: l.product_id.as_uuid(),
                    quantity: l.quantity.get(),
                })
                .collect(),
            price: PriceView {
                lines: r.price.lines.iter().map(Into::into).collect(),
                total: r.price.total.map(Into::into),
            },
            status: r.status.as_str(),
            hold_expires_at: r.hold_expires_at,
            note: r.note.as_ref().map(|n| n.as_str().to_owned()),
            version: r.version,
            created_by: r.created_by.as_str().to_owned(),
            created_by_key_id: r.created_by_key.map(|k| k.as_uuid()),
            created_at: r.created_at,
            updated_at: r.updated_at,
            degraded,
        }
    }
}

/// A hold (or the booking it became): the reservation and when the hold
/// runs out.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HoldView {
    #[serde(flatten)]
    reservation: ReservationView,
    /// When the hold runs out (`null` once it is confirmed or let go): the
    /// same instant as `hold_expires_at`.
    expires_at: Option<DateTime<Utc>>,
}

impl HoldView {
    pub(crate) fn new(r: &Reservation, degraded: bool) -> Self {
        Self {
            reservation: ReservationView::new(r, degraded),
            expires_at: r.hold_expires_at,
        }
    }
}

/// A resource that performs a service.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceResourceView {
    pub(crate) service_id: Uuid,
    pub(crate) resource_id: Uuid,
}

/// A page of reservations.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReservationPage {
    pub(crate) items: Vec<ReservationView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub(crate) next_cursor: Option<String>,
}

/// A list of catalog items.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Items<T: ToSchema> {
    pub(crate) items: Vec<T>,
}

/// A page of catalog items, by id.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemPage<T: ToSchema> {
    pub(crate) items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub(crate) next_cursor: Option<String>,
}

/// An RFC 9457 problem: every refusal and failure. Refusals add the fields
/// that explain them (`field`, `conflicting_reservation_id`, …).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProblemView {
    /// A stable kind, e.g. `/problems/slot-taken`.
    r#type: String,
    title: String,
    status: u16,
    /// What happened and what to fix.
    detail: String,
    /// The request's `x-request-id`, to quote in a report.
    request_id: Option<String>,
}

/// The refusals and failures every operation may answer, for the OpenAPI
/// document (`responses(…, Problems)` on each handler).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only documented, never built
pub(crate) enum Problems {
    /// A refusal, as problem+json.
    #[response(status = "4XX", content_type = "application/problem+json")]
    Refused(ProblemView),
    /// A failure, as problem+json with the request id.
    #[response(status = "5XX", content_type = "application/problem+json")]
    Failed(ProblemView),
}
