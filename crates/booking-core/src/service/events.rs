//! [`EventLog`]: the audit log — every change of a tenant, who made it
//! (key id, actor name, request id) and when, in sequence order.

use std::sync::Arc;

use super::Shared;
use crate::{CatalogKey, Event, EventQuery, Role, Seq, StoreError, TenantId};

/// The audit log's reads.
#[derive(Clone, Debug)]
pub struct EventLog(pub(super) Arc<Shared>);

impl EventLog {
    /// The tenant's events matching `query` that a key of `role` may read
    /// ([`Role::may_read`]: events about tenants and keys are for
    /// administrators).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn visible(
        &self,
        tenant: TenantId,
        role: Role,
        query: EventQuery,
    ) -> Result<Vec<Event>, StoreError> {
        let query = EventQuery {
            include_access: query.include_access && role.may_administer(),
            ..query
        };
        self.0.ports.store.events(tenant, &query).await
    }

    /// One catalog item's history: the events about `item` (its own, and
    /// those of its links, branch prices and stock) after `query.after`,
    /// still readable once the item is deleted. An item that neither
    /// exists nor ever had an event is not found.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] as described; backend failures.
    pub async fn of_item(
        &self,
        tenant: TenantId,
        role: Role,
        item: CatalogKey,
        query: EventQuery,
    ) -> Result<Vec<Event>, StoreError> {
        let after = query.after;
        let query = EventQuery {
            entity: Some(item.id()),
            ..query
        };
        let events = self.visible(tenant, role, query).await?;
        if events.is_empty()
            && after == Seq::ZERO
            && self
                .0
                .ports
                .store
                .catalog_record(tenant, item)
                .await?
                .is_none()
        {
            return Err(StoreError::NotFound(item.entity()));
        }
        Ok(events)
    }

    /// The number of the tenant's last committed event: read it before
    /// the state a client shows, then follow the log (or the stream) from
    /// it, and nothing is missed.
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn head(&self, tenant: TenantId) -> Result<Seq, StoreError> {
        self.0.ports.store.last_event_seq(tenant).await
    }

    /// Every event of the tenant after `query.after` matching `query`,
    /// whoever may read it (for the live stream, which checks each
    /// client's role itself).
    ///
    /// # Errors
    /// Backend failures only.
    pub async fn all(
        &self,
        tenant: TenantId,
        query: &EventQuery,
    ) -> Result<Vec<Event>, StoreError> {
        self.0.ports.store.events(tenant, query).await
    }
}
