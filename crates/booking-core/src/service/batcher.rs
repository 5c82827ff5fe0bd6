//! Bookings arriving together written together: [`WriteBatching`].
//!
//! A create waits in a queue only while `in_flight` batches are already
//! being written; whatever queued meanwhile (up to `max_batch`) goes next,
//! in one transaction ([`crate::engine::apply_batch`]). Alone, a booking is
//! written at once, as without batching; under load a batch pays
//! `BEGIN`, `COMMIT` and the rows every booking of a product and a tenant
//! queues on once for many bookings.
//!
//! Each booking still holds its own lock keys while it waits and is
//! written, so writes that contend for the same hours are not in flight
//! together; the engine answers each write of a batch as if it ran alone.
//! A write whose request goes away before its batch starts is dropped; one
//! already being written runs to its end with its batch (its request's lock
//! is released at once, and the store's constraints stand behind it, as
//! for a write whose commit was already sent).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use futures::channel::oneshot;
use tracing::Instrument;

use crate::{Applied, ApplyError, BookingStore, ReservationWrite, StoreError};

/// Runs work detached from the request that started it (a task on the
/// embedder's runtime): a batch is written to the end even when the
/// request that happened to start it goes away.
pub trait Spawn: Send + Sync + fmt::Debug {
    /// Starts `work` and returns at once.
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>);
}

/// How bookings are batched ([`crate::Services::with_write_batching`]).
#[derive(Clone, Debug)]
pub struct WriteBatching {
    /// Where batches run.
    pub spawner: Arc<dyn Spawn>,
    /// Most bookings in one transaction (at least 1).
    pub max_batch: usize,
    /// Batches written at the same time (at least 1); bookings queue only
    /// while this many are in flight.
    pub in_flight: usize,
}

type Answer = Result<Applied, ApplyError>;

/// A queued write: what to write, where to answer, and the span of the
/// request that asked (its trace continues into the batch).
type Queued = (ReservationWrite, oneshot::Sender<Answer>, tracing::Span);

struct State {
    queue: VecDeque<Queued>,
    running: usize,
}

/// The queue and the batches in flight of one [`crate::Services`].
pub(super) struct Batcher {
    store: Arc<dyn BookingStore>,
    spawner: Arc<dyn Spawn>,
    max_batch: usize,
    in_flight: usize,
    state: Mutex<State>,
}

impl fmt::Debug for Batcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("max_batch", &self.max_batch)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

/// Gives a batch's slot back, and starts what queued meanwhile, however
/// the batch ended.
struct Running(Arc<Batcher>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lock().running -= 1;
        Batcher::start(&self.0);
    }
}

impl Batcher {
    pub(super) fn new(store: Arc<dyn BookingStore>, batching: &WriteBatching) -> Arc<Self> {
        Arc::new(Self {
            store,
            spawner: Arc::clone(&batching.spawner),
            max_batch: batching.max_batch.max(1),
            in_flight: batching.in_flight.max(1),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                running: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `write` alone or with the bookings queued beside it.
    pub(super) async fn apply(this: &Arc<Self>, write: ReservationWrite) -> Answer {
        let (tx, rx) = oneshot::channel();
        this.lock()
            .queue
            .push_back((write, tx, tracing::Span::current()));
        Self::start(this);
        rx.await.unwrap_or_else(|_| {
            Err(ApplyError::Store(StoreError::Internal(
                "the batch of this write stopped before answering".into(),
            )))
        })
    }

    /// Starts batches of what is queued while fewer than `in_flight` run.
    fn start(this: &Arc<Self>) {
        let mut batches = Vec::new();
        {
            let mut state = this.lock();
            // A write whose request went away before its batch started is
            // not written (its lock is released already).
            state.queue.retain(|(_, to, _)| !to.is_canceled());
            while state.running < this.in_flight && !state.queue.is_empty() {
                let n = state.queue.len().min(this.max_batch);
                batches.push(state.queue.drain(..n).collect::<Vec<_>>());
                state.running += 1;
            }
        }
        for batch in batches {
            let running = Running(Arc::clone(this));
            let mut writes = Vec::with_capacity(batch.len());
            let mut answer_to = Vec::with_capacity(batch.len());
            let mut spans = Vec::with_capacity(batch.len());
            for (write, to, span) in batch {
                writes.push(write);
                answer_to.push(to);
                spans.push(span);
            }
            // A write alone runs in its request's span; a batch in a span
            // under the first request's, linked to the others'.
            let span = match &spans[..] {
                [one] => one.clone(),
                [first, rest @ ..] => {
                    let span =
                        tracing::info_span!(parent: first, "store.batch", writes = spans.len());
                    for other in rest {
                        span.follows_from(other);
                    }
                    span
                }
                [] => tracing::Span::none(),
            };
            this.spawner.spawn(Box::pin(
                async move {
                    let answers =
                        crate::engine::apply_batch(running.0.store.as_ref(), &writes).await;
                    for (to, answer) in answer_to.into_iter().zip(answers) {
                        // The request may have gone away; its write stands.
                        let _ = to.send(answer);
                    }
                    drop(running);
                }
                .instrument(span),
            ));
        }
    }
}
