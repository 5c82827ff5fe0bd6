//! What one node lets streams take: how many are open (per key, per tenant,
//! in all), how large a client's message may be, how long a send may wait
//! for a client that stopped reading, and how far back a replay may start.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use booking_core::tally::Tally;
use booking_core::{ApiKeyId, TenantId};

/// Bounds on this node's streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Open streams per API key.
    pub per_key: usize,
    /// Open streams per tenant.
    pub per_tenant: usize,
    /// Open streams on the node.
    pub per_node: usize,
    /// The largest message (and frame) a client may send: clients send
    /// only control frames and pongs.
    pub max_message: usize,
    /// How long one send may wait for a client that does not read before
    /// the stream is closed and forgotten.
    pub send_timeout: Duration,
    /// How many events a replay may send: a `since` further behind gets
    /// `resync` with the current `seq` (reload, then stream from there).
    pub max_replay: u64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_key: 20,
            per_tenant: 1_000,
            per_node: 20_000,
            max_message: 4 * 1024,
            send_timeout: Duration::from_secs(10),
            max_replay: 10_000,
        }
    }
}

/// Which cap a new stream would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Over {
    Key(usize),
    Tenant(usize),
    Node(usize),
}

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(n) => write!(f, "this API key has {n} streams open, as many as it may"),
            Self::Tenant(n) => write!(f, "this tenant has {n} streams open, as many as it may"),
            Self::Node(n) => write!(f, "this server has {n} streams open, as many as it takes"),
        }
    }
}

#[derive(Default)]
struct Counts {
    keys: Tally<ApiKeyId>,
    tenants: Tally<TenantId>,
    all: usize,
}

/// The open streams of a node, counted per key, per tenant and in all.
#[derive(Default)]
pub(crate) struct Open {
    counts: Mutex<Counts>,
}

impl std::fmt::Debug for Open {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open")
            .field("all", &self.counts().all)
            .finish()
    }
}

/// A counted stream; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Place {
    open: Arc<Open>,
    key: ApiKeyId,
    tenant: TenantId,
}

impl Open {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a place for a stream of `key` in `tenant`, unless a cap is
    /// reached.
    pub(crate) fn take(
        self: &Arc<Self>,
        limits: &StreamLimits,
        key: ApiKeyId,
        tenant: TenantId,
    ) -> Result<Place, Over> {
        let mut c = self.counts();
        if c.all >= limits.per_node {
            return Err(Over::Node(c.all));
        }
        c.tenants
            .take(tenant, limits.per_tenant)
            .map_err(Over::Tenant)?;
        if let Err(held) = c.keys.take(key, limits.per_key) {
            c.tenants.give_back(&tenant);
            return Err(Over::Key(held));
        }
        c.all += 1;
        Ok(Place {
            open: Arc::clone(self),
            key,
            tenant,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut c = self.open.counts();
        c.keys.give_back(&self.key);
        c.tenants.give_back(&self.tenant);
        c.all -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_holds_and_a_closed_stream_frees_its_place() {
        let limits = StreamLimits {
            per_key: 2,
            per_tenant: 3,
            per_node: 4,
            ..StreamLimits::default()
        };
        let open = Arc::new(Open::default());
        let (t1, t2) = (TenantId::generate(), TenantId::generate());
        let (a, b, c, d) = (
            ApiKeyId::generate(),
            ApiKeyId::generate(),
            ApiKeyId::generate(),
            ApiKeyId::generate(),
        );
        let a1 = open.take(&limits, a, t1).unwrap();
        let _a2 = open.take(&limits, a, t1).unwrap();
        assert_eq!(open.take(&limits, a, t1).unwrap_err(), Over::Key(2));
        let _b1 = open.take(&limits, b, t1).unwrap();
        assert_eq!(open.take(&limits, b, t1).unwrap_err(), Over::Tenant(3));
        let _c1 = open.take(&limits, c, t2).unwrap();
        assert_eq!(open.take(&limits, d, t2).unwrap_err(), Over::Node(4));
        drop(a1);
        let _d1 = open.take(&limits, d, t2).unwrap();
        assert_eq!(open.counts().all, 4);
        assert_eq!(open.counts().keys.count(&a), 1);
    }
}
