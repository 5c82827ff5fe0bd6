use std::fmt::Debug;

use chrono::{DateTime, Utc};

/// The time source. Injected so tests can move time (hold expiry) without
/// sleeping.
pub trait Clock: Send + Sync + Debug {
    /// The current instant, to the microsecond ([`crate::time::to_micros`]).
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::time::to_micros(Utc::now())
    }
}
