//! Ports: what the core needs from the outside world. Each is a trait with
//! `dyn`-compatible async methods (`#[async_trait]`), documented with the
//! errors an implementation MUST return. The testkit has in-memory
//! implementations and a contract suite for each.

mod access;
mod broadcast;
mod clock;
mod lock;
mod store;

pub use access::AccessStore;
pub use broadcast::{BroadcastError, Broadcaster};
pub use clock::{Clock, SystemClock};
pub use lock::{LockError, LockGuard, LockKey, LockRequest, LockService, LockToken};
pub use store::{
    Applied, ApplyError, BookingStore, CatalogItem, CatalogStore, DeleteError, ReservationCursor,
    ReservationQuery, ReservationStore, ReservationWrite, StockChange, StockError, StockOp,
};
