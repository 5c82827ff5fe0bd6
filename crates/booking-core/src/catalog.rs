//! The catalog: what a tenant offers, where. Field types are already
//! validated (names, money, minutes), so the structs are plain data.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{BranchId, Minutes, Money, Name, ProductId, ResourceId, Schedule, ServiceId, TenantId};

/// A business using the engine. Every other record belongs to exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The tenant's id.
    pub id: TenantId,
    /// Display name.
    pub name: Name,
}

/// One location of a tenant. Working hours are read in its time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    /// The branch's id.
    pub id: BranchId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: Name,
    /// IANA time zone, e.g. `Europe/Madrid`.
    pub time_zone: Tz,
}

/// What kind of thing a resource is. It changes nothing in the rules; it
/// helps the calendar group rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A person: a dentist, a hygienist.
    Staff,
    /// A room or chair.
    Room,
    /// A piece of equipment.
    Equipment,
}

impl ResourceKind {
    /// The kind's name as stored and shown.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Room => "room",
            Self::Equipment => "equipment",
        }
    }
}

impl std::str::FromStr for ResourceKind {
    type Err = String;

    /// Parses the names of [`ResourceKind::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Staff, Self::Room, Self::Equipment]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown resource kind {s:?}"))
    }
}

/// Something that can be booked for a time range. A resource can work at
/// several branches, but it can only be in one place at a time: overlap is
/// checked across all its branches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's id.
    pub id: ResourceId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: Name,
    /// Staff, room or equipment.
    pub kind: ResourceKind,
}

/// A resource works at a branch, with a schedule in branch-local time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceBranch {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The resource.
    pub resource_id: ResourceId,
    /// The branch it works at.
    pub branch_id: BranchId,
    /// When it works there; [`Schedule::unrestricted`] if no hours are set.
    pub schedule: Schedule,
}

/// A bookable service (a treatment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceItem {
    /// The service's id.
    pub id: ServiceId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: Name,
    /// The usual length of an appointment; a UI's default for `ends_at`.
    pub duration: Minutes,
    /// Base price, used where a branch sets no override.
    pub price: Money,
    /// Time the resource is blocked before the appointment (preparation).
    pub buffer_before: Minutes,
    /// Time the resource is blocked after the appointment (cleaning).
    pub buffer_after: Minutes,
}

/// A branch's own price for a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceItemBranch {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The service.
    pub service_id: ServiceId,
    /// The branch whose price this is.
    pub branch_id: BranchId,
    /// The price at this branch.
    pub price: Money,
}

/// A resource that performs a service: when a service lists any, only
/// those resources are offered for it (a service with none listed can be
/// done by any resource).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServiceResource {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The service.
    pub service_id: ServiceId,
    /// A resource that performs it.
    pub resource_id: ResourceId,
}

/// A product sold alongside services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The product's id.
    pub id: ProductId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: Name,
    /// Base price, used where a branch sets no override.
    pub price: Money,
}

/// A product's stock (and optional price) at one branch. A product is sold
/// at a branch only if this record exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductBranch {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The product.
    pub product_id: ProductId,
    /// The branch holding the stock.
    pub branch_id: BranchId,
    /// Units on hand and not held by any reservation.
    pub stock: u32,
    /// The branch's price, if it differs from the product's.
    pub price: Option<Money>,
}

impl ProductBranch {
    /// The most units one branch may hold; fits every store's integer type.
    pub const MAX_STOCK: u32 = 1_000_000_000;
}
