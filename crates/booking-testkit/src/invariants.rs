//! Checks every DESIGN.md invariant on what a store holds, read through the
//! port only, so the same checker judges every adapter.

use std::collections::BTreeMap;

use booking_core::{
    BookingStore, Event, EventPayload, EventQuery, ReservationId, ReservationQuery, Seq,
    StockCause, StockKey, TenantId, project,
};
use chrono::{DateTime, Utc};

use crate::catalog_log::CatalogState;

/// Everything a tenant's store holds that the invariants speak about.
#[derive(Debug)]
pub struct Snapshot {
    /// Every reservation, by (start, id).
    pub reservations: Vec<booking_core::Reservation>,
    /// The whole event log, in order.
    pub events: Vec<Event>,
    /// The catalog, stock included.
    pub catalog: CatalogState,
}

/// Reads a tenant's whole state through the port.
///
/// # Errors
/// A description of the store failure.
pub async fn snapshot(store: &dyn BookingStore, tenant: TenantId) -> Result<Snapshot, String> {
    let err = |e: booking_core::StoreError| e.to_string();
    let mut reservations = Vec::new();
    let mut query = ReservationQuery {
        limit: 500,
        ..ReservationQuery::default()
    };
    loop {
        let page = store.reservations(tenant, &query).await.map_err(err)?;
        let Some(last) = page.last() else { break };
        query.after = Some(booking_core::ReservationCursor {
            starts_at: last.range.start(),
            id: last.id,
        });
        reservations.extend(page);
    }
    let mut events: Vec<Event> = Vec::new();
    loop {
        let after = events.last().map_or(Seq::ZERO, |e| e.seq);
        let page = store
            .events(tenant, &EventQuery::since(after, 500))
            .await
            .map_err(err)?;
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    Ok(Snapshot {
        reservations,
        events,
        catalog: CatalogState::of_store(store, tenant).await?,
    })
}

/// Checks, at `now`:
/// 1. no two active reservations of one resource overlap (any branch);
/// 2. the catalog — every branch, resource, service, product, link,
///    branch price and stock level — equals the fold of its events, each
///    continuing from the last (every change is an event), and each
///    reservation's net stock movement is exactly its lines while it holds
///    stock and zero otherwise (conservation);
/// 3. sequence numbers are 1, 2, 3, … without gaps;
/// 4. each reservation equals the projection of its events, and every
///    transition in its history is allowed (terminal stays terminal).
///
/// # Errors
/// A description of the first violation found.
pub fn check(s: &Snapshot, now: DateTime<Utc>) -> Result<(), String> {
    for (i, a) in s.reservations.iter().enumerate() {
        for b in &s.reservations[i + 1..] {
            if a.conflicts_with(b, now) {
                return Err(format!(
                    "double booking: {} {} and {} {} on resource {}",
                    a.id,
                    a.occupied(),
                    b.id,
                    b.occupied(),
                    a.resource_id
                ));
            }
        }
    }

    for (i, e) in s.events.iter().enumerate() {
        let expected = Seq(i as u64 + 1);
        if e.seq != expected {
            return Err(format!(
                "event sequence gap: expected {expected}, found {}",
                e.seq
            ));
        }
    }

    let told = CatalogState::of_events(&s.events)?;
    if told != s.catalog {
        return Err(format!(
            "the catalog differs from what its events tell:\n held: {:?}\n told: {told:?}",
            s.catalog
        ));
    }
    let mut net: BTreeMap<(ReservationId, StockKey), i64> = BTreeMap::new();
    for e in &s.events {
        if let EventPayload::StockChanged(c) = &e.payload
            && let StockCause::Reservation(id) = c.cause
        {
            let key = StockKey {
                product_id: booking_core::ProductId::from_uuid(c.product_id),
                branch_id: booking_core::BranchId::from_uuid(c.branch_id),
            };
            *net.entry((ReservationId::from_uuid(id), key)).or_default() +=
                i64::from(c.after) - i64::from(c.before);
        }
    }
    for r in &s.reservations {
        for line in &r.lines {
            let key = StockKey {
                product_id: line.product_id,
                branch_id: r.branch_id,
            };
            let moved = net.get(&(r.id, key)).copied().unwrap_or(0);
            let expected = if r.status.holds_stock() {
                -i64::from(line.quantity.get())
            } else {
                0
            };
            if moved != expected {
                return Err(format!(
                    "reservation {} ({:?}) moved {moved} units of {key:?}, expected {expected}",
                    r.id, r.status
                ));
            }
        }
    }

    for r in &s.reservations {
        let mine = s.events.iter().filter(|e| e.reservation_id() == Some(r.id));
        match project(mine) {
            Ok(Some(p)) if p == r.into() => {}
            Ok(other) => {
                return Err(format!(
                    "reservation {} differs from the projection of its events: {other:?}",
                    r.id
                ));
            }
            Err(e) => return Err(format!("reservation {}: {e}", r.id)),
        }
    }
    Ok(())
}

/// Reads a snapshot and checks it.
///
/// # Errors
/// A description of the first violation or store failure.
pub async fn check_store(
    store: &dyn BookingStore,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<(), String> {
    check(&snapshot(store, tenant).await?, now)
}
