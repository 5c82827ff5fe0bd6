//! What each event records: explicit payload structs, separate from the
//! domain types (which may change) and from the API's types. The log is
//! kept forever, so these shapes are a contract with every row ever
//! written:
//!
//! - a field is never renamed or retyped, and a variant never removed;
//! - a new field must be optional (`#[serde(default)]`), and a new enum
//!   variant may be added, without a new version;
//! - anything else is a new version: the old struct moves to a `v1`
//!   module, the decoder ([`super::EventPayload::decode`]) upgrades it, and
//!   [`super::PAYLOAD_VERSION`] goes up.
//!
//! Fields hold plain values (UUIDs, instants, text, integers), not the
//! domain's validated types, so a row stays readable even if a rule
//! tightens later (a shorter name limit, a withdrawn currency). Unknown
//! fields are ignored: the reservation and stock rows written before these
//! structs existed carried extra `"type"` / `"kind"` keys, and decode here
//! unchanged (the fixture-row tests prove it).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    ApiKey, Branch, Money, PriceSnapshot, PricedItem, Product, ProductBranch, Reservation,
    Resource, ResourceBranch, ResourceKind, Role, Schedule, ServiceItem, ServiceItemBranch,
    ServiceResource, Status, Tenant, TenantSettings, schedule,
};

/// Derives what every payload type derives, and its OpenAPI schema when
/// the `openapi` feature is on.
macro_rules! payload {
    ($($item:item)*) => {$(
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $item
    )*};
}

payload! {
    /// An amount of money: `amount_minor` units of the currency's minor
    /// unit (cents for EUR).
    pub struct Amount {
        /// Minor units, e.g. 4500 for 45.00 EUR.
        pub amount_minor: i64,
        /// ISO 4217 code, e.g. `EUR`.
        pub currency: String,
    }

    /// A reservation's state after (or before) a change.
    pub struct ReservationSnapshot {
        /// The reservation.
        pub id: Uuid,
        /// Owning tenant.
        pub tenant_id: Uuid,
        /// The branch.
        pub branch_id: Uuid,
        /// The booked resource.
        pub resource_id: Uuid,
        /// The service, if one was booked.
        pub service_id: Option<Uuid>,
        /// The appointment, `[start, end)`.
        pub range: Range,
        /// Minutes blocked before the appointment.
        pub buffer_before: u32,
        /// Minutes blocked after the appointment.
        pub buffer_after: u32,
        /// Products taken from the branch's stock.
        pub lines: Vec<Line>,
        /// The prices fixed when it was made.
        pub price: Price,
        /// `held`, `confirmed`, `completed`, `cancelled` or `expired`.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        pub status: Status,
        /// When a hold runs out.
        pub hold_expires_at: Option<DateTime<Utc>>,
        /// Staff's note.
        pub note: Option<String>,
        /// The reservation's version after this change.
        pub version: u64,
        /// Who made the reservation.
        pub created_by: String,
        /// The key that made it (absent when none did, and on events
        /// written before keys were recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub created_by_key: Option<Uuid>,
        /// When it was made.
        pub created_at: DateTime<Utc>,
        /// When it last changed.
        pub updated_at: DateTime<Utc>,
    }

    /// A half-open time range in UTC.
    pub struct Range {
        /// First instant.
        pub start: DateTime<Utc>,
        /// First instant after.
        pub end: DateTime<Utc>,
    }

    /// A product taken with a reservation.
    pub struct Line {
        /// The product.
        pub product_id: Uuid,
        /// Units.
        pub quantity: u32,
    }

    /// A price snapshot: one line per item and the total.
    pub struct Price {
        /// The lines.
        pub lines: Vec<PriceLine>,
        /// Their sum; `null` when nothing is charged.
        pub total: Option<Amount>,
    }

    /// One line of a price snapshot.
    pub struct PriceLine {
        /// What is charged.
        pub item: PriceItem,
        /// Its name then.
        pub description: String,
        /// Unit price at the branch then.
        pub unit_price: Amount,
        /// Units.
        pub quantity: u32,
        /// `unit_price × quantity`.
        pub line_total: Amount,
    }

    /// What a price line charges for.
    #[serde(tag = "kind", content = "id", rename_all = "snake_case")]
    pub enum PriceItem {
        /// The booked service.
        Service(Uuid),
        /// A product.
        Product(Uuid),
    }

    /// `ReservationHeld`, `ReservationCreated`, `ReservationConfirmed`,
    /// `ReservationMoved`, `ReservationExtended`, `ReservationReleased`,
    /// `ReservationCancelled`, `ReservationCompleted`, `ReservationExpired`:
    /// the reservation before (`null` when created) and after.
    pub struct ReservationChange {
        /// Before the change; `null` when it was created.
        pub before: Option<ReservationSnapshot>,
        /// After the change.
        pub after: ReservationSnapshot,
    }

    /// `StockChanged`: a branch's units of a product before and after, and
    /// why.
    pub struct StockLevelChange {
        /// The product.
        pub product_id: Uuid,
        /// The branch.
        pub branch_id: Uuid,
        /// Units before.
        pub before: u32,
        /// Units after.
        pub after: u32,
        /// Why.
        pub cause: StockCause,
    }

    /// Why stock changed: `{"kind": "set"}`, `{"kind": "restock"}`,
    /// `{"kind": "removed"}` (with its product or branch, or no longer
    /// sold there), or `{"kind": "reservation", "reservation_id": …}`.
    #[serde(tag = "kind", content = "reservation_id", rename_all = "snake_case")]
    pub enum StockCause {
        /// An administrator set the level.
        Set,
        /// An administrator added delivered units.
        Restock,
        /// The stock record went (its product or branch was deleted, or the
        /// product is no longer sold at the branch).
        Removed,
        /// A reservation took or gave back units.
        Reservation(Uuid),
    }

    /// A branch.
    pub struct BranchSnapshot {
        /// The branch.
        pub id: Uuid,
        /// Its name.
        pub name: String,
        /// IANA time zone.
        pub time_zone: String,
    }

    /// `BranchCreated`, `BranchUpdated`, `BranchDeleted`.
    pub struct BranchChange {
        /// Before; `null` when created.
        pub before: Option<BranchSnapshot>,
        /// After; `null` when deleted.
        pub after: Option<BranchSnapshot>,
    }

    /// A resource.
    pub struct ResourceSnapshot {
        /// The resource.
        pub id: Uuid,
        /// Its name.
        pub name: String,
        /// `staff`, `room` or `equipment`.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        pub kind: ResourceKind,
    }

    /// `ResourceCreated`, `ResourceUpdated`, `ResourceDeleted`.
    pub struct ResourceChange {
        /// Before; `null` when created.
        pub before: Option<ResourceSnapshot>,
        /// After; `null` when deleted.
        pub after: Option<ResourceSnapshot>,
    }

    /// A service.
    pub struct ServiceSnapshot {
        /// The service.
        pub id: Uuid,
        /// Its name.
        pub name: String,
        /// Usual length, in minutes.
        pub duration_minutes: u32,
        /// Base price.
        pub price: Amount,
        /// Minutes blocked before.
        pub buffer_before_minutes: u32,
        /// Minutes blocked after.
        pub buffer_after_minutes: u32,
    }

    /// `ServiceCreated`, `ServiceUpdated`, `ServiceDeleted`.
    pub struct ServiceChange {
        /// Before; `null` when created.
        pub before: Option<ServiceSnapshot>,
        /// After; `null` when deleted.
        pub after: Option<ServiceSnapshot>,
    }

    /// A product.
    pub struct ProductSnapshot {
        /// The product.
        pub id: Uuid,
        /// Its name.
        pub name: String,
        /// Base price.
        pub price: Amount,
    }

    /// `ProductCreated`, `ProductUpdated`, `ProductDeleted`.
    pub struct ProductChange {
        /// Before; `null` when created.
        pub before: Option<ProductSnapshot>,
        /// After; `null` when deleted.
        pub after: Option<ProductSnapshot>,
    }

    /// Working hours as the API writes them: `{"monday": [["09:00",
    /// "17:00"]]}` (a missing day is closed; `null` means any time) and
    /// dated exceptions (`{"2030-12-24": []}` closes a day).
    pub struct ScheduleSnapshot {
        /// Weekly hours by weekday name; `null` means any time.
        pub working_hours: Option<BTreeMap<String, Vec<(String, String)>>>,
        /// Dates whose hours replace the weekly ones.
        pub exceptions: BTreeMap<NaiveDate, Vec<(String, String)>>,
    }

    /// `ResourceLinked` (to a branch, `before` is `null`),
    /// `WorkingHoursChanged`, `ResourceUnlinked` (`after` is `null`).
    pub struct ScheduleChange {
        /// The resource.
        pub resource_id: Uuid,
        /// The branch.
        pub branch_id: Uuid,
        /// Hours before; `null` when linked.
        pub before: Option<ScheduleSnapshot>,
        /// Hours after; `null` when unlinked.
        pub after: Option<ScheduleSnapshot>,
    }

    /// `ServicePriceSet`, `ServicePriceCleared`: a branch's own price for a
    /// service (`null`: the service's base price applies).
    pub struct ServicePriceChange {
        /// The service.
        pub service_id: Uuid,
        /// The branch.
        pub branch_id: Uuid,
        /// The branch's price before.
        pub before: Option<Amount>,
        /// The branch's price after.
        pub after: Option<Amount>,
    }

    /// `ProductPriceSet`, `ProductPriceCleared`: a branch's own price for a
    /// product (`null`: the product's base price applies).
    pub struct ProductPriceChange {
        /// The product.
        pub product_id: Uuid,
        /// The branch.
        pub branch_id: Uuid,
        /// The branch's price before.
        pub before: Option<Amount>,
        /// The branch's price after.
        pub after: Option<Amount>,
    }

    /// `TenantCreated`.
    pub struct TenantCreated {
        /// The tenant.
        pub tenant_id: Uuid,
        /// Its name.
        pub name: String,
        /// The settings it starts with (absent on tenants created before
        /// settings existed, which started with the defaults).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub settings: Option<SettingsSnapshot>,
    }

    /// A tenant's booking settings.
    pub struct SettingsSnapshot {
        /// How long before its start a booking must be made.
        pub min_notice_minutes: u32,
        /// How many days ahead bookings may start.
        pub horizon_days: u32,
        /// How long a hold lasts.
        pub hold_minutes: u32,
        /// How many unexpired holds one key may keep.
        pub max_active_holds_per_key: u32,
    }

    /// `SettingsChanged`: the tenant's booking settings before and after.
    pub struct SettingsChange {
        /// The tenant.
        pub tenant_id: Uuid,
        /// Before.
        pub before: SettingsSnapshot,
        /// After.
        pub after: SettingsSnapshot,
    }

    /// `ServiceResourceAdded`, `ServiceResourceRemoved`: a resource now
    /// performs a service, or no longer does (a service with none listed
    /// can be done by any resource).
    pub struct ServiceResourceChange {
        /// The service.
        pub service_id: Uuid,
        /// The resource.
        pub resource_id: Uuid,
    }

    /// An API key's record (never its secret or hash).
    pub struct KeySnapshot {
        /// The key.
        pub id: Uuid,
        /// `admin`, `staff` or `viewer`.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        pub role: Role,
        /// The actor name recorded on its events.
        pub actor: String,
        /// When it stops working, if ever.
        pub expires_at: Option<DateTime<Utc>>,
        /// When it was revoked.
        pub revoked_at: Option<DateTime<Utc>>,
    }

    /// `ApiKeyCreated`, `ApiKeyRevoked`, `ApiKeyRoleChanged`: the key
    /// before (`null` when created) and after.
    pub struct KeyChange {
        /// Before; `null` when created.
        pub before: Option<KeySnapshot>,
        /// After.
        pub after: KeySnapshot,
    }
}

impl From<Money> for Amount {
    fn from(m: Money) -> Self {
        Self {
            amount_minor: m.amount_minor(),
            currency: m.currency().code().to_owned(),
        }
    }
}

impl From<&Reservation> for ReservationSnapshot {
    fn from(r: &Reservation) -> Self {
        Self {
            id: r.id.as_uuid(),
            tenant_id: r.tenant_id.as_uuid(),
            branch_id: r.branch_id.as_uuid(),
            resource_id: r.resource_id.as_uuid(),
            service_id: r.service_id.map(|s| s.as_uuid()),
            range: Range {
                start: r.range.start(),
                end: r.range.end(),
            },
            buffer_before: r.buffer_before.get(),
            buffer_after: r.buffer_after.get(),
            lines: r
                .lines
                .iter()
                .map(|l| Line {
                    product_id: l.product_id.as_uuid(),
                    quantity: l.quantity.get(),
                })
                .collect(),
            price: (&r.price).into(),
            status: r.status,
            hold_expires_at: r.hold_expires_at,
            note: r.note.as_ref().map(|n| n.as_str().to_owned()),
            version: r.version,
            created_by: r.created_by.as_str().to_owned(),
            created_by_key: r.created_by_key.map(|k| k.as_uuid()),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<&PriceSnapshot> for Price {
    fn from(p: &PriceSnapshot) -> Self {
        Self {
            lines: p
                .lines
                .iter()
                .map(|l| PriceLine {
                    item: match l.item {
                        PricedItem::Service(id) => PriceItem::Service(id.as_uuid()),
                        PricedItem::Product(id) => PriceItem::Product(id.as_uuid()),
                    },
                    description: l.description.as_str().to_owned(),
                    unit_price: l.unit_price.into(),
                    quantity: l.quantity.get(),
                    line_total: l.line_total.into(),
                })
                .collect(),
            total: p.total.map(Into::into),
        }
    }
}

impl From<&Branch> for BranchSnapshot {
    fn from(b: &Branch) -> Self {
        Self {
            id: b.id.as_uuid(),
            name: b.name.as_str().to_owned(),
            time_zone: b.time_zone.name().to_owned(),
        }
    }
}

impl From<&Resource> for ResourceSnapshot {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id.as_uuid(),
            name: r.name.as_str().to_owned(),
            kind: r.kind,
        }
    }
}

impl From<&ServiceItem> for ServiceSnapshot {
    fn from(s: &ServiceItem) -> Self {
        Self {
            id: s.id.as_uuid(),
            name: s.name.as_str().to_owned(),
            duration_minutes: s.duration.get(),
            price: s.price.into(),
            buffer_before_minutes: s.buffer_before.get(),
            buffer_after_minutes: s.buffer_after.get(),
        }
    }
}

impl From<&Product> for ProductSnapshot {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.as_uuid(),
            name: p.name.as_str().to_owned(),
            price: p.price.into(),
        }
    }
}

impl From<&Schedule> for ScheduleSnapshot {
    fn from(s: &Schedule) -> Self {
        let clocks = |list: &[schedule::DayInterval]| list.iter().map(|i| i.clock()).collect();
        Self {
            working_hours: s.weekly.as_ref().map(|w| {
                schedule::WEEKDAYS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !w.day(*i).is_empty())
                    .map(|(i, day)| ((*day).to_owned(), clocks(w.day(i))))
                    .collect()
            }),
            exceptions: s
                .exceptions
                .iter()
                .map(|(date, list)| (*date, clocks(list)))
                .collect(),
        }
    }
}

impl TenantCreated {
    /// A tenant created with these settings.
    #[must_use]
    pub fn of(t: &Tenant, settings: &TenantSettings) -> Self {
        Self {
            tenant_id: t.id.as_uuid(),
            name: t.name.as_str().to_owned(),
            settings: Some(settings.into()),
        }
    }
}

impl From<&TenantSettings> for SettingsSnapshot {
    fn from(s: &TenantSettings) -> Self {
        Self {
            min_notice_minutes: s.min_notice_minutes(),
            horizon_days: s.horizon_days(),
            hold_minutes: s.hold_minutes(),
            max_active_holds_per_key: s.max_active_holds_per_key(),
        }
    }
}

impl From<&ServiceResource> for ServiceResourceChange {
    fn from(l: &ServiceResource) -> Self {
        Self {
            service_id: l.service_id.as_uuid(),
            resource_id: l.resource_id.as_uuid(),
        }
    }
}

impl From<&ApiKey> for KeySnapshot {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            role: k.role,
            actor: k.actor.as_str().to_owned(),
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

impl ScheduleChange {
    /// The change of a resource's link to a branch.
    #[must_use]
    pub fn of(before: Option<&ResourceBranch>, after: Option<&ResourceBranch>) -> Option<Self> {
        let any = after.or(before)?;
        Some(Self {
            resource_id: any.resource_id.as_uuid(),
            branch_id: any.branch_id.as_uuid(),
            before: before.map(|l| (&l.schedule).into()),
            after: after.map(|l| (&l.schedule).into()),
        })
    }
}

impl ServicePriceChange {
    /// The change of a branch's own price for a service.
    #[must_use]
    pub fn of(
        before: Option<&ServiceItemBranch>,
        after: Option<&ServiceItemBranch>,
    ) -> Option<Self> {
        let any = after.or(before)?;
        Some(Self {
            service_id: any.service_id.as_uuid(),
            branch_id: any.branch_id.as_uuid(),
            before: before.map(|p| p.price.into()),
            after: after.map(|p| p.price.into()),
        })
    }
}

impl ProductPriceChange {
    /// The change of a branch's own price for a product, given the stock
    /// records before and after.
    #[must_use]
    pub fn of(before: Option<&ProductBranch>, after: Option<&ProductBranch>) -> Option<Self> {
        let any = after.or(before)?;
        Some(Self {
            product_id: any.product_id.as_uuid(),
            branch_id: any.branch_id.as_uuid(),
            before: before.and_then(|p| p.price).map(Into::into),
            after: after.and_then(|p| p.price).map(Into::into),
        })
    }
}
