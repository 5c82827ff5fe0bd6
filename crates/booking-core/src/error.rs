//! Refusals shared by the store port and the use cases. Each carries what a
//! caller needs to explain itself ("taken by reservation X from 10:00").

use std::fmt;

use serde::Serialize;

use crate::{
    ApiKeyId, BranchId, ProductId, ReservationId, ResourceId, ServiceId, TenantId, TimeRange,
};

/// A record that does not exist for the tenant asking. A record of another
/// tenant is reported exactly like a missing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "entity", content = "id", rename_all = "snake_case")]
pub enum Entity {
    /// A tenant.
    Tenant(TenantId),
    /// A branch.
    Branch(BranchId),
    /// A resource.
    Resource(ResourceId),
    /// A service.
    Service(ServiceId),
    /// A product.
    Product(ProductId),
    /// A product that is not sold at a branch.
    ProductAtBranch(ProductId, BranchId),
    /// A reservation.
    Reservation(ReservationId),
    /// An API key.
    ApiKey(ApiKeyId),
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(id) => write!(f, "tenant {id}"),
            Self::Branch(id) => write!(f, "branch {id}"),
            Self::Resource(id) => write!(f, "resource {id}"),
            Self::Service(id) => write!(f, "service {id}"),
            Self::Product(id) => write!(f, "product {id}"),
            Self::ProductAtBranch(p, b) => write!(f, "product {p} at branch {b}"),
            Self::Reservation(id) => write!(f, "reservation {id}"),
            Self::ApiKey(id) => write!(f, "API key {id}"),
        }
    }
}

/// The slot is taken: another active reservation of the same resource
/// overlaps the requested time (buffers included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("the slot is taken by reservation {conflicting}, which occupies {range}")]
pub struct SlotTaken {
    /// The reservation in the way.
    pub conflicting: ReservationId,
    /// The time it occupies (buffers included).
    pub range: TimeRange,
}

/// Not enough units of a product at the branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("product {product_id} at branch {branch_id}: {requested} requested, {available} available")]
pub struct OutOfStock {
    /// The product.
    pub product_id: ProductId,
    /// The branch.
    pub branch_id: BranchId,
    /// Units asked for.
    pub requested: u32,
    /// Units available.
    pub available: u32,
}

/// The reservation changed since the caller read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("the reservation is at version {actual}, not {expected}; reload it and try again")]
pub struct StaleVersion {
    /// The version the caller had.
    pub expected: u64,
    /// The version stored now.
    pub actual: u64,
}

/// The resource does not work at the branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("resource {resource_id} does not work at branch {branch_id}")]
pub struct ResourceNotAtBranch {
    /// The resource.
    pub resource_id: ResourceId,
    /// The branch.
    pub branch_id: BranchId,
}

/// The service lists the resources that perform it, and this one is not
/// among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("resource {resource_id} does not perform service {service_id}")]
pub struct ResourceCannotPerform {
    /// The service.
    pub service_id: ServiceId,
    /// The resource.
    pub resource_id: ResourceId,
}

/// The requested time is outside the resource's working hours there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{range} is outside the working hours of resource {resource_id} at branch {branch_id}")]
pub struct OutsideWorkingHours {
    /// The resource.
    pub resource_id: ResourceId,
    /// The branch.
    pub branch_id: BranchId,
    /// The requested appointment.
    pub range: TimeRange,
}

/// Input that is well-formed but not acceptable, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The field, as the caller named it (e.g. `products[1].quantity`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl InvalidInput {
    /// Builds an invalid-input refusal.
    pub fn new(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// A failure of the storage backend itself: not a refusal of the request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist for this tenant.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The backend cannot be reached or timed out; retrying may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the message is for logs, never for clients.
    #[error("store failure: {0}")]
    Internal(String),
}
