//! The backplane records how old events are when they arrive from Valkey,
//! on the global meter (its own test binary: the meter is process-wide).

use std::sync::Arc;
use std::time::Duration;

use booking_core::event::payload::StockLevelChange;
use booking_core::{Attribution, Broadcaster, Event, EventPayload, Seq, StockCause, TenantId};
use booking_test_services::valkey::ValkeyServer;
use booking_valkey_backplane::{BackplaneSettings, ValkeyBackplane};

/// A node's local hub, as far as this test cares: what arrives.
#[derive(Debug)]
struct LocalHub(tokio::sync::broadcast::Sender<Event>);

impl LocalHub {
    fn new() -> Arc<Self> {
        Arc::new(Self(tokio::sync::broadcast::channel(64).0))
    }
}

#[async_trait::async_trait]
impl Broadcaster for LocalHub {
    async fn publish(&self, events: &[Event]) -> Result<(), booking_core::BroadcastError> {
        for event in events {
            let _ = self.0.send(event.clone());
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arriving_over_valkey_are_measured_by_age() {
    let telemetry = booking_telemetry::Telemetry::builder()
        .log_format(booking_telemetry::LogFormat::Off)
        .otlp(false)
        .install()
        .expect("install telemetry");
    let valkey = ValkeyServer::start();
    // Node A publishes; node B's hub hears it only through Valkey (A's own
    // hub gets it directly, unmeasured).
    let node = |local: Arc<LocalHub>| {
        let settings = BackplaneSettings::new(valkey.url(), "a test secret of 16+ bytes")
            .expect("valid settings");
        ValkeyBackplane::start(settings, local).expect("valid settings")
    };
    let a = node(LocalHub::new());
    let b_local = LocalHub::new();
    let mut arrived = b_local.0.subscribe();
    let b = node(b_local);
    for backplane in [&a, &b] {
        assert!(
            backplane.wait_connected(Duration::from_secs(5)).await,
            "the backplane connects"
        );
    }

    // An event committed two seconds ago.
    let event = Event {
        seq: Seq(1),
        tenant_id: TenantId::generate(),
        at: chrono::Utc::now() - chrono::Duration::seconds(2),
        by: Attribution::system(),
        payload: EventPayload::StockChanged(StockLevelChange {
            product_id: booking_core::ProductId::generate().as_uuid(),
            branch_id: booking_core::BranchId::generate().as_uuid(),
            before: 0,
            after: 1,
            cause: StockCause::Set,
        }),
    };
    // B's subscription may still be settling: publish until it arrives.
    let mut received = None;
    for _ in 0..50 {
        a.publish(std::slice::from_ref(&event))
            .await
            .expect("published");
        if let Ok(Ok(e)) = tokio::time::timeout(Duration::from_millis(100), arrived.recv()).await {
            received = Some(e);
            break;
        }
    }
    assert_eq!(
        received.map(|e| e.seq),
        Some(Seq(1)),
        "the event reached B over Valkey"
    );

    let text = telemetry.prometheus().render();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    let count = value("booking_backplane_lag_seconds_count");
    let sum = value("booking_backplane_lag_seconds_sum");
    assert!(count >= 1.0, "{text}");
    assert!(
        sum / count >= 2.0,
        "the recorded age is at least the event's 2 s: {text}"
    );
    assert!(sum / count < 30.0, "{text}");
}
