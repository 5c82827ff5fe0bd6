//! Ports: what the core needs from the outside world. Each is a trait with
//! `dyn`-compatible async methods (`#[async_trait]`), documented with the
//! errors an implementation MUST return. `booking-memory` has in-memory
//! implementations of each, and `booking-testkit` a contract suite.
//!
//! - [`CatalogStore`], [`ReservationStore`], [`AccessStore`]: reads (and
//!   the idempotency records of the API).
//! - [`WriteStore`] / [`WriteTx`]: the store's transaction, as primitives;
//!   every write is composed from them by [`crate::engine`].
//! - [`LockService`], [`Broadcaster`], [`Clock`]: the lock, live push and
//!   time.

mod access;
mod broadcast;
mod catalog;
mod clock;
mod lock;
mod reservations;
mod write;

pub use access::AccessStore;
pub use broadcast::{BroadcastError, Broadcaster};
pub(crate) use catalog::only;
pub use catalog::{BranchOfferRows, CatalogList, CatalogPage, CatalogRead, CatalogStore, item_id};
pub use clock::{Clock, SystemClock};
pub use lock::{LockError, LockGuard, LockKey, LockRequest, LockService, LockToken};
pub use reservations::{
    Applied, ApplyError, BookingStore, EventQuery, ReservationCursor, ReservationQuery,
    ReservationStore, ReservationWrite,
};
pub use write::{
    CatalogKey, CatalogRecord, Refusal, Scope, StockDelta, StockLevel, Survey, TxError, WriteStore,
    WriteTx,
};
