//! In-memory implementations of every port. They keep the same atomicity
//! and refusals as the real adapters and pass the same contract suites.

mod broadcast;
mod clock;
mod lock;
mod store;

pub use broadcast::InMemoryBroadcaster;
pub use clock::ManualClock;
pub use lock::InMemoryLocks;
pub use store::InMemoryStore;
