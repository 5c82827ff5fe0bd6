//! Capturing the spans of one test while other tests of the same binary
//! run beside it.
//!
//! `tracing` caches each callsite's interest process-wide, computed when
//! the callsite is first hit, and — while one dispatcher exists — from the
//! hitting thread's subscriber only. A sibling test that reaches a booking
//! callsite first, on a thread without a subscriber, caches "never", and a
//! test that installs its own subscriber with `set_default` then captures
//! nothing (seen as a flaky test). [`scoped`] prevents that: it installs,
//! once per process, a global default that is interested in everything
//! "sometimes" and enabled for nothing, so callsites always ask the current
//! thread's subscriber; then it installs the test's subscriber for this
//! thread and rebuilds the interest cache.

use std::sync::OnceLock;

use tracing::dispatcher::{DefaultGuard, Dispatch};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber, span};

/// Interested in every callsite "sometimes", enabled for nothing.
struct Anchor;

impl Subscriber for Anchor {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

/// Installs `subscriber` for the current thread until the guard drops,
/// such that it sees every span of this thread even with sibling tests
/// running (see the module doc).
///
/// # Panics
/// If another global default subscriber was installed in this process.
#[must_use]
pub fn scoped(subscriber: impl Subscriber + Send + Sync + 'static) -> DefaultGuard {
    static ANCHOR: OnceLock<()> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        tracing::dispatcher::set_global_default(Dispatch::new(Anchor))
            .expect("no other global subscriber in a test binary that captures spans");
    });
    let guard = tracing::dispatcher::set_default(&Dispatch::new(subscriber));
    tracing::callsite::rebuild_interest_cache();
    guard
}
