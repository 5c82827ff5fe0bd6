use std::fmt::Debug;

use async_trait::async_trait;

use crate::Event;

/// Publishing failed. Events are already committed when this happens;
/// clients catch up from the event log (`since=`), so it is never fatal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("broadcast failed: {0}")]
pub struct BroadcastError(pub String);

/// Sends committed events to live subscribers (one node's WebSocket hub,
/// or a pub/sub channel every node listens to).
#[async_trait]
pub trait Broadcaster: Send + Sync + Debug {
    /// Publishes events, all of one tenant, in sequence order. At-most-once
    /// delivery is acceptable: subscribers fill gaps from the store.
    ///
    /// # Errors
    /// [`BroadcastError`] if the events could not be handed to the
    /// transport. Implementations MUST NOT block for long; a slow subscriber
    /// must not delay the publisher.
    async fn publish(&self, events: &[Event]) -> Result<(), BroadcastError>;
}
