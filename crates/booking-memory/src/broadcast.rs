//! [`InMemoryBroadcaster`]: the broadcaster port for one process — the
//! local hub's feed in one-node mode, and an observable sink in tests.

use async_trait::async_trait;
use booking_core::{BroadcastError, Broadcaster, Event};
use tokio::sync::broadcast;

/// Fans committed events out to in-process subscribers. A subscriber that
/// falls more than `capacity` events behind gets `Lagged` and must catch up
/// from the store, exactly like a client behind a lossy pub/sub channel.
#[derive(Debug)]
pub struct InMemoryBroadcaster {
    sender: broadcast::Sender<Event>,
}

impl InMemoryBroadcaster {
    /// A broadcaster whose subscribers buffer up to `capacity` events.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    /// A new subscription, starting with the next published event.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for InMemoryBroadcaster {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[async_trait]
impl Broadcaster for InMemoryBroadcaster {
    async fn publish(&self, events: &[Event]) -> Result<(), BroadcastError> {
        for event in events {
            // No subscribers is not an error: nobody is listening yet.
            let _ = self.sender.send(event.clone());
        }
        Ok(())
    }
}
