//! # booking-valkey-backplane
//!
//! The broadcaster port on Valkey pub/sub, for several server nodes. A node
//! hands committed events to its own clients first (so they are served
//! even with Valkey down), then publishes them on one channel; every node
//! subscribes and hands what it hears to its local hub. Pub/sub is
//! at-most-once and a node also hears itself: the WebSocket sessions skip
//! what they already sent and fill gaps from the event log, so clients
//! neither miss nor repeat an event. The subscriber resubscribes by itself
//! after Valkey restarts.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{BroadcastError, Broadcaster, Event};
use fred::clients::SubscriberClient;
use fred::prelude::{
    Builder, Client, ClientLike, Config, EventInterface, PubsubInterface, ReconnectPolicy,
};

/// Where and how to reach Valkey.
#[derive(Clone)]
pub struct BackplaneSettings {
    url: String,
    /// The pub/sub channel all nodes share.
    pub channel: String,
    /// How long a publish may take before it is given up (the events are
    /// committed; other nodes' clients catch up from the log).
    pub publish_timeout: Duration,
}

impl BackplaneSettings {
    /// Settings for `url` on channel `booking:events`, 250 ms per publish.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            channel: "booking:events".into(),
            publish_timeout: Duration::from_millis(250),
        }
    }
}

impl std::fmt::Debug for BackplaneSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self
            .url
            .rsplit_once('@')
            .map_or(self.url.as_str(), |(_, h)| h);
        f.debug_struct("BackplaneSettings")
            .field("host", &host)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The settings could not be turned into clients.
#[derive(Debug, thiserror::Error)]
#[error("invalid Valkey configuration: {0}")]
pub struct SetupError(#[source] fred::error::Error);

/// The cluster-wide broadcaster.
pub struct ValkeyBackplane {
    publisher: Client,
    subscriber: SubscriberClient,
    local: Arc<dyn Broadcaster>,
    settings: BackplaneSettings,
    /// Age of events when they arrive here (now − event time), in seconds.
    lag: opentelemetry::metrics::Histogram<f64>,
    /// Whether the subscription is in place (what another node publishes
    /// now reaches this node).
    subscribed: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for ValkeyBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValkeyBackplane")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ValkeyBackplane {
    /// Connects (in the background: Valkey may be down at start), subscribes
    /// and starts forwarding what every node publishes to `local`.
    ///
    /// # Errors
    /// [`SetupError`] if the URL is not a valid Valkey URL.
    pub fn start(
        settings: BackplaneSettings,
        local: Arc<dyn Broadcaster>,
    ) -> Result<Arc<Self>, SetupError> {
        let mut config = Config::from_url(&settings.url).map_err(SetupError)?;
        config.fail_fast = false;
        let builder = {
            let mut b = Builder::from_config(config);
            b.with_performance_config(|p| p.default_command_timeout = settings.publish_timeout)
                .with_connection_config(|c| c.connection_timeout = settings.publish_timeout)
                .set_policy(ReconnectPolicy::new_exponential(0, 50, 2000, 2));
            b
        };
        let publisher = builder.build().map_err(SetupError)?;
        let subscriber = builder.build_subscriber_client().map_err(SetupError)?;
        // Each returns the handle of a task that is already running;
        // dropping a handle detaches the task.
        drop(publisher.connect());
        drop(subscriber.connect());
        drop(subscriber.manage_subscriptions());
        // The global meter: the server installs telemetry before starting
        // the backplane; without it this is a no-op instrument.
        let lag = opentelemetry::global::meter("booking-valkey-backplane")
            .f64_histogram("booking.backplane.lag")
            .with_unit("s")
            .with_description("Age of events arriving over the backplane (now minus event time)")
            .build();
        let this = Arc::new(Self {
            publisher,
            subscriber,
            local,
            settings,
            lag,
            subscribed: tokio::sync::watch::Sender::new(false),
        });
        tokio::spawn(Arc::clone(&this).forward());
        Ok(this)
    }

    /// Waits until both connections are up and the subscription is in
    /// place, at most `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut subscribed = self.subscribed.subscribe();
        let ready = async {
            self.publisher.wait_for_connect().await?;
            self.subscriber.wait_for_connect().await?;
            let _ = subscribed.wait_for(|s| *s).await;
            Ok::<(), fred::error::Error>(())
        };
        matches!(tokio::time::timeout(timeout, ready).await, Ok(Ok(())))
    }

    /// Subscribes (retrying until Valkey answers), then hands every message
    /// to the local hub. Resubscription after a restart is fred's
    /// `manage_subscriptions`.
    async fn forward(self: Arc<Self>) {
        let mut messages = self.subscriber.message_rx();
        while let Err(e) = self
            .subscriber
            .subscribe(self.settings.channel.as_str())
            .await
        {
            tracing::debug!(error = %e, "backplane not subscribed yet; retrying");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.subscribed.send_replace(true);
        loop {
            match messages.recv().await {
                Ok(message) => {
                    let Some(text) = message.value.as_string() else {
                        continue;
                    };
                    match serde_json::from_str::<Vec<Event>>(&text) {
                        Ok(events) => {
                            if let Some(first) = events.first() {
                                let age = chrono::Utc::now() - first.at;
                                self.lag
                                    .record(age.to_std().unwrap_or_default().as_secs_f64(), &[]);
                            }
                            let _ = self.local.publish(&events).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable backplane message ignored")
                        }
                    }
                }
                // Messages were skipped: sessions fill the gap from the log.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "backplane receiver lagged");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[async_trait]
impl Broadcaster for ValkeyBackplane {
    async fn publish(&self, events: &[Event]) -> Result<(), BroadcastError> {
        self.local.publish(events).await?;
        let payload = serde_json::to_string(events).map_err(|e| BroadcastError(e.to_string()))?;
        self.publisher
            .publish::<i64, _, _>(self.settings.channel.as_str(), payload)
            .await
            .map(|_| ())
            .map_err(|e| BroadcastError(format!("Valkey publish: {e}")))
    }
}
