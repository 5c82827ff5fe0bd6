//! The node's background jobs, owned by the node: started with
//! [`crate::App::serve`], told to stop when it stops, and awaited, so none
//! outlives the server or is cut off in the middle of a write.

use std::time::Duration;

use booking_core::Services;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::Config;

/// How many expired holds the sweeper reads at a time.
const SWEEP_PAGE: usize = 500;

/// How often old idempotency records are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Running jobs and the switch that stops them.
pub(crate) struct Jobs {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Jobs {
    pub(crate) fn start(services: &Services, config: &Config) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(sweep_holds(
            services.clone(),
            config.hold_sweep.max(Duration::from_millis(100)),
            stopped.clone(),
        ));
        tasks.spawn(purge_idempotency(
            services.clone(),
            config.idempotency_retention,
            stopped,
        ));
        Self { stop, tasks }
    }

    /// Tells every job to stop and waits until they have.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a background job failed");
            }
        }
    }
}

/// Sleeps `period`; `false` if asked to stop meanwhile.
async fn wait(period: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    let stop_asked = tokio::select! {
        () = tokio::time::sleep(period) => false,
        _ = stopped.wait_for(|stop| *stop) => true,
    };
    !stop_asked && !*stopped.borrow()
}

/// Records expired holds every `every` ([`booking_core::HoldSweeper`]:
/// fair across tenants, holds it cannot expire parked and retried).
async fn sweep_holds(services: Services, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut sweeper = booking_core::HoldSweeper::new(services.bookings().clone(), SWEEP_PAGE);
    while wait(every, &mut stopped).await {
        match sweeper.sweep().await {
            Ok(swept) if swept.expired > 0 => {
                tracing::info!(expired = swept.expired, "recorded expired holds");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep expired holds"),
        }
    }
}

/// Forgets idempotency records older than `keep`, at start and every ten
/// minutes.
async fn purge_idempotency(
    services: Services,
    keep: chrono::Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        match services.access().purge_idempotency(keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "forgot old idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "could not purge idempotency keys"),
        }
        if !wait(PURGE_EVERY, &mut stopped).await {
            return;
        }
    }
}
