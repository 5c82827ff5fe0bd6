//! The write engine: every change the core makes, written once, over a
//! store transaction ([`crate::WriteTx`]). Each write is the same sequence:
//!
//! 1. **lock** what the write depends on (the reservation, the stale holds
//!    in its way, the stock rows, the catalog record) through primitives
//!    that lock in a fixed order;
//! 2. **plan** with the pure rules ([`rules`], [`crate::stock`],
//!    [`crate::pricing`]): is it allowed, what changes, which events record
//!    it;
//! 3. **write** the plan;
//! 4. **number** the events (the store's per-tenant counter, taken last);
//! 5. **commit**.
//!
//! A refused write commits nothing. When concurrent transactions collide
//! (deadlock, serialization failure) the whole sequence runs once more;
//! when the store's overlap guard fires (a writer that skipped the lock),
//! the engine names the reservation in the way from a fresh read.
//!
//! A new write kind is core code here, plus at most one primitive per
//! store.
//!
//! ## Layout
//!
//! `rules.rs` the pure rules of a reservation write; `reservation.rs` its
//! sequence ([`apply`]); `batch.rs` several in one transaction
//! ([`apply_batch`]); `stock.rs` stock adjustments; `catalog.rs`
//! catalog upserts and deletions; `access.rs` tenants and keys.

mod access;
mod batch;
pub mod catalog;
mod reservation;
pub mod rules;
mod stock;

use std::future::Future;
use std::pin::Pin;

pub use access::{KeyError, KeyUpdate, change_key, insert_api_key, insert_tenant, plan_key_change};
pub use batch::apply_batch;
pub use catalog::{CatalogError, CatalogWrite, PutMode, delete, put};
pub use reservation::apply;
pub use stock::{StockChange, StockOp, adjust_stock, plan_adjustment};

/// How many times a write runs when concurrent transactions collide.
const ATTEMPTS: u32 = 2;

/// How one run of a write ended, if not with a commit.
#[derive(Debug)]
enum Attempt<E> {
    /// A final answer.
    Done(E),
    /// Concurrent writers collided; run the whole write again.
    Again(String),
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs `attempt` until it stops asking for another run, at most
/// [`ATTEMPTS`] times; then answers `busy`. The number of extra runs is
/// recorded as `retries` on the current span (`store.apply` for bookings).
async fn retrying<'a, T, E>(
    mut attempt: impl FnMut() -> BoxFuture<'a, Result<T, Attempt<E>>>,
    busy: E,
) -> Result<T, E> {
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Done(e)) => return Err(e),
            Err(Attempt::Again(why)) => {
                tracing::Span::current().record("retries", n);
                tracing::debug!(attempt = n, %why, "concurrent writes collided; running the write again");
            }
        }
    }
    Err(busy)
}
