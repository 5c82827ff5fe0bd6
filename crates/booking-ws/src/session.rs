//! One client's stream. It subscribes to the hub *before* replaying from
//! the event log, so nothing falls between the two; then it streams live
//! events in sequence order, filling any gap (a lost pub/sub message) from
//! the log, skipping what it already sent, and checking the log on every
//! heartbeat for a gap at the tail. Dead clients are closed; a client that
//! fell behind gets `resync` and is closed.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use booking_core::{BranchId, Event, Seq, Services, TenantId};

use crate::hub::{Hub, Subscription};
use crate::message;

const PAGE: usize = 500;

/// What a session needs.
pub(crate) struct Session {
    pub(crate) socket: WebSocket,
    pub(crate) services: Services,
    pub(crate) tenant: TenantId,
    pub(crate) branch: Option<BranchId>,
    pub(crate) heartbeat: std::time::Duration,
    /// The next sequence number the client expects (`None`: live only, from
    /// the first live event).
    next: Option<u64>,
}

/// The client went away or the socket failed: stop quietly.
struct Gone;

impl Session {
    pub(crate) fn new(
        socket: WebSocket,
        services: Services,
        tenant: TenantId,
        branch: Option<BranchId>,
        since: Option<u64>,
        heartbeat: std::time::Duration,
    ) -> Self {
        Self {
            socket,
            services,
            tenant,
            branch,
            heartbeat,
            next: since.map(|s| s + 1),
        }
    }

    async fn send(&mut self, event: &Event) -> Result<(), Gone> {
        if self
            .branch
            .is_none_or(|b| message::branch_of(event) == Some(b))
        {
            self.socket
                .send(Message::Text(message::event(event).into()))
                .await
                .map_err(|_| Gone)?;
        }
        self.next = Some(event.seq.0 + 1);
        Ok(())
    }

    /// Sends the logged events from `self.next` up to (not including)
    /// `until`, or to the end of the log.
    async fn catch_up(&mut self, until: Option<u64>) -> Result<(), Gone> {
        let Some(mut from) = self.next else {
            return Ok(());
        };
        loop {
            let page = match self
                .services
                .bookings()
                .events_since(self.tenant, Seq(from - 1), PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the event log for a stream");
                    return Ok(());
                }
            };
            let full = page.len() == PAGE;
            for event in page {
                if until.is_some_and(|u| event.seq.0 >= u) {
                    return Ok(());
                }
                self.send(&event).await?;
            }
            match self.next {
                Some(n) if full && n > from => from = n,
                _ => return Ok(()),
            }
        }
    }

    async fn on_live(&mut self, event: &Event) -> Result<(), Gone> {
        let seq = event.seq.0;
        match self.next {
            Some(n) if seq < n => return Ok(()),
            Some(n) if seq > n => self.catch_up(Some(seq)).await?,
            _ => {}
        }
        if self.next.is_some_and(|n| seq < n) {
            return Ok(());
        }
        self.send(event).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }

    pub(crate) async fn run(mut self, hub: &Arc<Hub>) {
        let mut live: Subscription = hub.subscribe(self.tenant);
        if self.catch_up(None).await.is_err() {
            return;
        }
        let mut heartbeat = tokio::time::interval(self.heartbeat);
        heartbeat.tick().await;
        let mut last_heard = Instant::now();
        loop {
            let step = tokio::select! {
                event = live.recv() => match event {
                    Some(event) => self.on_live(&event).await,
                    None => {
                        if live.lagged() {
                            let last = self.next.map_or(0, |n| n - 1);
                            let _ = self.socket.send(Message::Text(message::resync(last).into())).await;
                            self.close(1013, "fell behind; reconnect with since").await;
                        }
                        return;
                    }
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > self.heartbeat * 3 {
                        self.close(1001, "no answer to heartbeats").await;
                        return;
                    }
                    if self.socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return;
                    }
                    // A gap at the tail shows no later event; look.
                    self.catch_up(None).await
                },
                incoming = self.socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(Message::Text(text))) => {
                        tracing::debug!(message = %message::ignored(&text), "client message ignored");
                        last_heard = Instant::now();
                        Ok(())
                    }
                    Some(Ok(_)) => {
                        last_heard = Instant::now();
                        Ok(())
                    }
                },
            };
            if step.is_err() {
                return;
            }
        }
    }
}
