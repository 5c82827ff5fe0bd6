//! # booking-valkey-backplane
//!
//! The broadcaster port on Valkey pub/sub, for several server nodes. A node
//! hands committed events to its own clients first (so they are served
//! even with Valkey down), then publishes them on their tenant's channel
//! (`booking:events:{<tenant id>}`, hash-tagged for a cluster); every node
//! subscribes to the channels' pattern and hands what it hears to its local
//! hub.
//!
//! Messages are authenticated: `<hex HMAC-SHA256>.<JSON events>`, the MAC
//! over the channel and the JSON with a secret every node shares. A node
//! drops (and counts, `booking.backplane.rejected`) a message whose MAC does
//! not match, whose events are not all of the channel's tenant, or whose
//! numbers do not run one after another — whoever can reach Valkey without
//! the secret can neither inject events nor blind a stream with a forged
//! sequence number. Nor can they publish an authentic message again: one
//! whose events are older than [`BackplaneSettings::max_age`] (by their
//! `at`; keep the nodes' clocks in step, NTP) or numbered no later than
//! what this node already heard of the tenant is dropped too. Pub/sub is
//! at-most-once and a node also hears itself: the WebSocket sessions skip
//! what they already sent and fill gaps from the event log, so clients
//! neither miss nor repeat an event. The subscriber resubscribes by itself
//! after Valkey restarts.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::{BroadcastError, Broadcaster, Event, TenantId};
use fred::clients::SubscriberClient;
use fred::prelude::{
    Builder, Client, ClientLike, Config, EventInterface, PubsubInterface, ReconnectPolicy,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Where and how to reach Valkey.
#[derive(Clone)]
pub struct BackplaneSettings {
    url: String,
    secret: Vec<u8>,
    /// The prefix of the per-tenant pub/sub channels all nodes share.
    pub channel_prefix: String,
    /// How long a publish may take before it is given up (the events are
    /// committed; other nodes' clients catch up from the log).
    pub publish_timeout: Duration,
    /// Messages whose events were made longer ago than this (or this far
    /// in the future) are dropped as replays; streams fill such gaps from
    /// the log.
    pub max_age: Duration,
}

/// The shortest shared secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

impl BackplaneSettings {
    /// Settings for `url`, signing with `secret` (the same on every node),
    /// on channels `booking:events:{<tenant>}`, 250 ms per publish.
    ///
    /// # Errors
    /// [`SetupError`] if the secret is shorter than [`MIN_SECRET_LEN`].
    pub fn new(url: impl Into<String>, secret: &str) -> Result<Self, SetupError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(SetupError::Secret);
        }
        Ok(Self {
            url: url.into(),
            secret: secret.as_bytes().to_vec(),
            channel_prefix: "booking:events:".into(),
            publish_timeout: Duration::from_millis(250),
            max_age: Duration::from_secs(30),
        })
    }

    /// The channel of `tenant`'s events.
    #[must_use]
    pub fn channel(&self, tenant: TenantId) -> String {
        format!("{}{{{tenant}}}", self.channel_prefix)
    }

    fn mac(&self, channel: &str, json: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes a key of any size");
        mac.update(channel.as_bytes());
        mac.update(b"\n");
        mac.update(json.as_bytes());
        mac
    }

    /// The message carrying `events` (all of one tenant) on `channel`, as
    /// a node publishes it: `<hex HMAC-SHA256 of channel and JSON>.<JSON>`.
    ///
    /// # Errors
    /// Events that do not serialize (they always do).
    pub fn seal(&self, channel: &str, events: &[Event]) -> Result<String, serde_json::Error> {
        let json = serde_json::to_string(events)?;
        let tag = hex::encode(self.mac(channel, &json).finalize().into_bytes());
        Ok(format!("{tag}.{json}"))
    }

    /// The events of a message heard on `channel` at `now`, if it is
    /// authentic, of the channel's tenant, numbered one after another, and
    /// fresh (made within [`Self::max_age`] of `now`).
    fn open(
        &self,
        channel: &str,
        message: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Event>, Rejected> {
        let (tag, json) = message.split_once('.').ok_or(Rejected::Mac)?;
        let tag = hex::decode(tag).map_err(|_| Rejected::Mac)?;
        self.mac(channel, json)
            .verify_slice(&tag)
            .map_err(|_| Rejected::Mac)?;
        let events: Vec<Event> = serde_json::from_str(json).map_err(|_| Rejected::Unreadable)?;
        if events.iter().any(|e| self.channel(e.tenant_id) != channel) {
            return Err(Rejected::Tenant);
        }
        if events.windows(2).any(|w| w[1].seq.0 != w[0].seq.0 + 1) {
            return Err(Rejected::Sequence);
        }
        let max_age = chrono::Duration::from_std(self.max_age).unwrap_or(chrono::Duration::MAX);
        if events.iter().any(|e| (now - e.at).abs() > max_age) {
            return Err(Rejected::Stale);
        }
        Ok(events)
    }
}

/// The last event number this node heard of each tenant, to drop a
/// message heard again; entries not heard from within the freshness
/// window are forgotten (a replay that old is refused as stale anyway).
#[derive(Debug, Default)]
struct Heard(std::sync::Mutex<std::collections::HashMap<TenantId, (u64, std::time::Instant)>>);

impl Heard {
    /// Records `events` of one tenant; `false` if none is newer than what
    /// was heard (a repeat).
    fn fresh(&self, events: &[Event], max_age: Duration) -> bool {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return false;
        };
        let mut heard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if heard.len() > 10_000 {
            heard.retain(|_, (_, at)| now.duration_since(*at) < max_age);
        }
        match heard.get_mut(&first.tenant_id) {
            Some((seq, _)) if last.seq.0 <= *seq => false,
            Some(entry) => {
                *entry = (last.seq.0, now);
                true
            }
            None => {
                heard.insert(first.tenant_id, (last.seq.0, now));
                true
            }
        }
    }
}

/// Why a message heard on the backplane was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rejected {
    /// No MAC, or not made with the shared secret.
    Mac,
    /// Authentic but not events.
    Unreadable,
    /// An event of another tenant than the channel's.
    Tenant,
    /// Numbers that do not run one after another.
    Sequence,
    /// Events made too long ago (or ahead): a replay.
    Stale,
    /// Events this node already heard (or later ones of the tenant): a
    /// replay, or a message overtaken by a later one.
    Repeated,
}

impl Rejected {
    /// Whether it points at someone tampering (rather than at messages of
    /// several nodes arriving out of order).
    const fn is_suspicious(self) -> bool {
        !matches!(self, Self::Repeated)
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Mac => "mac",
            Self::Unreadable => "unreadable",
            Self::Tenant => "tenant",
            Self::Sequence => "sequence",
            Self::Stale => "stale",
            Self::Repeated => "repeated",
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
            .field("channel_prefix", &self.channel_prefix)
            .finish_non_exhaustive()
    }
}

/// The settings could not be turned into clients.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL is not a Valkey URL.
    #[error("invalid Valkey configuration: {0}")]
    Url(#[source] fred::error::Error),
    /// The shared secret is too short to authenticate anything.
    #[error(
        "the backplane secret must be at least {MIN_SECRET_LEN} bytes (the same on every node)"
    )]
    Secret,
}

/// The cluster-wide broadcaster.
pub struct ValkeyBackplane {
    publisher: Client,
    subscriber: SubscriberClient,
    local: Arc<dyn Broadcaster>,
    settings: BackplaneSettings,
    /// Age of events when they arrive here (now − event time), in seconds.
    lag: opentelemetry::metrics::Histogram<f64>,
    /// Messages dropped, by reason.
    rejected: opentelemetry::metrics::Counter<u64>,
    /// Whether the subscription is in place (what another node publishes
    /// now reaches this node).
    subscribed: tokio::sync::watch::Sender<bool>,
    /// The last event number heard per tenant.
    heard: Heard,
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
        let mut config = Config::from_url(&settings.url).map_err(SetupError::Url)?;
        config.fail_fast = false;
        let builder = {
            let mut b = Builder::from_config(config);
            b.with_performance_config(|p| p.default_command_timeout = settings.publish_timeout)
                .with_connection_config(|c| c.connection_timeout = settings.publish_timeout)
                .set_policy(ReconnectPolicy::new_exponential(0, 50, 2000, 2));
            b
        };
        let publisher = builder.build().map_err(SetupError::Url)?;
        let subscriber = builder.build_subscriber_client().map_err(SetupError::Url)?;
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
        let rejected = opentelemetry::global::meter("booking-valkey-backplane")
            .u64_counter("booking.backplane.rejected")
            .with_description(
                "Backplane messages dropped: a MAC that does not match, another tenant's \
                 events, numbers out of order",
            )
            .build();
        let this = Arc::new(Self {
            publisher,
            subscriber,
            local,
            settings,
            lag,
            rejected,
            subscribed: tokio::sync::watch::Sender::new(false),
            heard: Heard::default(),
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
        let pattern = format!("{}*", self.settings.channel_prefix);
        while let Err(e) = self.subscriber.psubscribe(pattern.as_str()).await {
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
                    let opened = self
                        .settings
                        .open(&message.channel, &text, chrono::Utc::now())
                        .and_then(|events| {
                            if self.heard.fresh(&events, self.settings.max_age) {
                                Ok(events)
                            } else {
                                Err(Rejected::Repeated)
                            }
                        });
                    match opened {
                        Ok(events) => {
                            if let Some(first) = events.first() {
                                let age = chrono::Utc::now() - first.at;
                                self.lag
                                    .record(age.to_std().unwrap_or_default().as_secs_f64(), &[]);
                            }
                            let _ = self.local.publish(&events).await;
                        }
                        Err(why) => {
                            self.rejected
                                .add(1, &[opentelemetry::KeyValue::new("reason", why.label())]);
                            if why.is_suspicious() {
                                tracing::warn!(
                                    channel = %message.channel,
                                    reason = why.label(),
                                    "backplane message dropped"
                                );
                            } else {
                                // Messages of several nodes overtake each
                                // other: the later one carried the news.
                                tracing::debug!(reason = why.label(), "backplane message dropped");
                            }
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
        // One message per tenant, on its channel (a batch is one tenant's
        // in practice: one transaction's events).
        let mut rest = events;
        while let Some(first) = rest.first() {
            let n = rest
                .iter()
                .take_while(|e| e.tenant_id == first.tenant_id)
                .count();
            let (batch, after) = rest.split_at(n);
            rest = after;
            let channel = self.settings.channel(first.tenant_id);
            let payload = self
                .settings
                .seal(&channel, batch)
                .map_err(|e| BroadcastError(e.to_string()))?;
            self.publisher
                .publish::<i64, _, _>(channel.as_str(), payload)
                .await
                .map_err(|e| BroadcastError(format!("Valkey publish: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use booking_testkit::fixture::stock_events as events;

    #[test]
    fn only_sealed_in_order_events_of_the_channels_tenant_open() {
        let s = BackplaneSettings::new("redis://127.0.0.1:1", "0123456789abcdef").unwrap();
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let on_a = s.channel(a);
        assert!(on_a.ends_with(&format!("{{{a}}}")), "hash-tagged: {on_a}");
        let sealed = s.seal(&on_a, &events(a, &[4, 5])).unwrap();
        // The fixture's events are made at 07:00 on its day.
        let now = events(a, &[1])[0].at;
        assert_eq!(s.open(&on_a, &sealed, now).unwrap().len(), 2);
        // Replayed on another tenant's channel: the MAC covers the channel.
        assert_eq!(s.open(&s.channel(b), &sealed, now), Err(Rejected::Mac));
        // Another secret, or a changed byte.
        let forged = BackplaneSettings::new("redis://127.0.0.1:1", "another secret!!")
            .unwrap()
            .seal(&on_a, &events(a, &[6]))
            .unwrap();
        assert_eq!(s.open(&on_a, &forged, now), Err(Rejected::Mac));
        let tampered = sealed.replacen("\"seq\":4", "\"seq\":9", 1);
        assert_eq!(s.open(&on_a, &tampered, now), Err(Rejected::Mac));
        assert_eq!(s.open(&on_a, "no mac at all", now), Err(Rejected::Mac));
        // Sealed with the secret (a node's bug, or a leaked secret with
        // the channel's tenant wrong), still refused.
        let foreign = s.seal(&on_a, &events(b, &[1])).unwrap();
        assert_eq!(s.open(&on_a, &foreign, now), Err(Rejected::Tenant));
        let jump = s.seal(&on_a, &events(a, &[7, 9])).unwrap();
        assert_eq!(s.open(&on_a, &jump, now), Err(Rejected::Sequence));
        assert!(matches!(
            BackplaneSettings::new("redis://127.0.0.1:1", "short"),
            Err(SetupError::Secret)
        ));
    }

    /// An authentic message published again, by anyone who can reach
    /// Valkey, is dropped: past the freshness window by its events' time,
    /// within it because this node heard those numbers already.
    #[test]
    fn an_authentic_message_heard_again_or_too_late_is_dropped() {
        let s = BackplaneSettings::new("redis://127.0.0.1:1", "0123456789abcdef").unwrap();
        let a = TenantId::generate();
        let on_a = s.channel(a);
        let old = events(a, &[33]);
        let sealed = s.seal(&on_a, &old).unwrap();
        let made = old[0].at;
        assert!(
            s.open(&on_a, &sealed, made + chrono::Duration::seconds(5))
                .is_ok()
        );
        assert_eq!(
            s.open(&on_a, &sealed, made + chrono::Duration::seconds(31)),
            Err(Rejected::Stale)
        );
        assert_eq!(
            s.open(&on_a, &sealed, made - chrono::Duration::seconds(31)),
            Err(Rejected::Stale),
            "nor from the future"
        );
        let heard = Heard::default();
        let window = s.max_age;
        assert!(heard.fresh(&events(a, &[33, 34]), window));
        assert!(!heard.fresh(&events(a, &[33, 34]), window), "heard again");
        assert!(!heard.fresh(&events(a, &[30]), window), "overtaken");
        assert!(heard.fresh(&events(a, &[35]), window));
        assert!(
            heard.fresh(&events(TenantId::generate(), &[1]), window),
            "per tenant"
        );
    }
}
