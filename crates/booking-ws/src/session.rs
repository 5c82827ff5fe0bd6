//! One client's stream. It subscribes to the hub *before* replaying from
//! the event log, so nothing falls between the two; then it streams live
//! events in sequence order, filling any gap (a lost pub/sub message) from
//! the log, skipping what it already sent, and checking the log on every
//! heartbeat for a gap at the tail. Dead clients are closed; a client that
//! fell behind gets `resync` and is closed, and so does one whose gap is
//! more than the replay cap (a gap fill is a replay too).
//!
//! The session reads every event of the tenant, in order, whatever it
//! sends: so it sees its own key revoked (`ApiKeyRevoked`, from whichever
//! node) and closes at once, follows a role change, and sends events about
//! keys and tenants to administrators only. A key that expires closes its
//! stream when it does. Should the revocation's event never reach it (the
//! backplane down), every heartbeat also reads the key from the store.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use booking_core::{ApiKey, BranchId, Event, EventPayload, EventQuery, Seq, Services, TenantId};

use crate::hub::{Hub, Subscription};
use crate::limits::StreamLimits;
use crate::{Start, message};

const PAGE: usize = 500;

/// What a session needs.
pub(crate) struct Session {
    pub(crate) socket: WebSocket,
    pub(crate) services: Services,
    pub(crate) tenant: TenantId,
    /// The key the client connected with, as it is now.
    pub(crate) key: ApiKey,
    pub(crate) branch: Option<BranchId>,
    pub(crate) heartbeat: std::time::Duration,
    limits: StreamLimits,
    /// The next sequence number the client expects (`None` only for a
    /// stream that is told to resync and closed).
    next: Option<u64>,
    /// Too far behind to replay: the log's head to resync at.
    resync_at: Option<u64>,
}

/// Why the stream stops.
enum Gone {
    /// The client went away or the socket failed: stop quietly.
    Away,
    /// The key was revoked: tell the client, then stop.
    Revoked,
    /// A gap wider than the replay cap: tell the client to reload and
    /// stream from `head`, then stop.
    TooFarBehind { head: u64 },
}

impl Session {
    pub(crate) fn new(
        socket: WebSocket,
        services: Services,
        key: ApiKey,
        branch: Option<BranchId>,
        start: Start,
        heartbeat: std::time::Duration,
        limits: StreamLimits,
    ) -> Self {
        let (next, resync_at) = match start {
            Start::From(since) => (since.checked_add(1), None),
            Start::Resync { head } => (None, Some(head)),
        };
        Self {
            socket,
            services,
            tenant: key.tenant_id,
            key,
            branch,
            heartbeat,
            limits,
            next,
            resync_at,
        }
    }

    /// Sends one message, waiting at most the send timeout for a client
    /// that stopped reading: past it, the stream is given up (its queue
    /// and buffers freed) even with the send still pending.
    async fn put(&mut self, message: Message) -> Result<(), Gone> {
        match tokio::time::timeout(self.limits.send_timeout, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Gone::Away),
            Err(_) => {
                tracing::info!(tenant_id = %self.tenant, "a stream client stopped reading; closed");
                Err(Gone::Away)
            }
        }
    }

    async fn send(&mut self, event: &Event) -> Result<(), Gone> {
        self.next = Some(event.seq.0 + 1);
        match &event.payload {
            EventPayload::ApiKeyRevoked(c) if c.after.id == self.key.id.as_uuid() => {
                return Err(Gone::Revoked);
            }
            EventPayload::ApiKeyRoleChanged(c) if c.after.id == self.key.id.as_uuid() => {
                self.key.role = c.after.role;
            }
            _ => {}
        }
        // Tenant-wide changes (a renamed resource, a product's price) reach
        // every branch's calendar.
        let at_branch = self
            .branch
            .is_none_or(|b| event.payload.branch_id().is_none_or(|e| e == b));
        if at_branch && self.key.role.may_read(event.payload.event_type()) {
            self.put(Message::Text(message::event(event).into()))
                .await?;
        }
        Ok(())
    }

    /// Sends the logged events from `self.next` up to (not including)
    /// `until`, or to the end of the log; no more than the replay cap
    /// ([`Gone::TooFarBehind`] past it).
    async fn catch_up(&mut self, until: Option<u64>) -> Result<(), Gone> {
        let Some(mut from) = self.next else {
            return Ok(());
        };
        let cap = self.limits.max_replay;
        if let Some(u) = until.filter(|u| u.saturating_sub(from) > cap) {
            return Err(Gone::TooFarBehind { head: u });
        }
        let mut read = 0u64;
        loop {
            let page = match self
                .services
                .events()
                .all(self.tenant, &EventQuery::since(Seq(from - 1), PAGE))
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
                read += 1;
                if read > cap {
                    return Err(Gone::TooFarBehind { head: event.seq.0 });
                }
                self.send(&event).await?;
            }
            match self.next {
                Some(n) if full && n > from => from = n,
                _ => return Ok(()),
            }
        }
    }

    /// Reads the key from the store: a revoked or expired key closes the
    /// stream even if its event never arrived; a role change applies. A
    /// store that cannot answer just now changes nothing.
    async fn recheck_key(&mut self) -> Result<(), Gone> {
        let access = self.services.access();
        match access.key(self.tenant, self.key.id).await {
            Ok(key) if key.is_active(access.now()) => {
                self.key.role = key.role;
                Ok(())
            }
            Ok(_) | Err(booking_core::StoreError::NotFound(_)) => Err(Gone::Revoked),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read a stream's key just now");
                Ok(())
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
        match self.next {
            Some(n) if seq < n => Ok(()),
            // The log could not fill the gap just now (the database is
            // restarting): sending this one would skip the gap for good.
            // It stays unsent; the next live event or heartbeat catches up
            // from the log, this one included.
            Some(n) if seq > n => Ok(()),
            _ => self.send(event).await,
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let _ = self
            .put(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }

    pub(crate) async fn run(mut self, hub: &Arc<Hub>) {
        if let Some(head) = self.resync_at {
            let behind = message::too_far_behind(head, self.limits.max_replay);
            if self.put(Message::Text(behind.into())).await.is_ok() {
                self.close(1013, "too far behind; reload, then stream from seq")
                    .await;
            }
            return;
        }
        match self.stream(hub).await {
            Gone::Away => {}
            Gone::Revoked => self.close(1008, "the API key was revoked").await,
            Gone::TooFarBehind { head } => {
                let behind = message::too_far_behind(head, self.limits.max_replay);
                if self.put(Message::Text(behind.into())).await.is_ok() {
                    self.close(1013, "too far behind; reload, then stream from seq")
                        .await;
                }
            }
        }
    }

    async fn stream(&mut self, hub: &Arc<Hub>) -> Gone {
        let mut live: Subscription = hub.subscribe(self.tenant);
        if let Err(gone) = self.catch_up(None).await {
            return gone;
        }
        let mut heartbeat = tokio::time::interval(self.heartbeat);
        heartbeat.tick().await;
        let mut last_heard = Instant::now();
        let expiry = self.key.expires_at.map_or(std::time::Duration::MAX, |t| {
            (t - self.services.bookings().now())
                .to_std()
                .unwrap_or_default()
        });
        let expired = tokio::time::sleep(expiry);
        tokio::pin!(expired);
        loop {
            let step = tokio::select! {
                event = live.recv() => match event {
                    Some(event) => self.on_live(&event).await,
                    None => {
                        if live.lagged() {
                            let last = self.next.map_or(0, |n| n - 1);
                            let _ = self.put(Message::Text(message::resync(last).into())).await;
                            self.close(1013, "fell behind; reconnect with since").await;
                        }
                        return Gone::Away;
                    }
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > self.heartbeat * 3 {
                        self.close(1001, "no answer to heartbeats").await;
                        return Gone::Away;
                    }
                    if let Err(gone) = self.put(Message::Ping(Vec::new().into())).await {
                        return gone;
                    }
                    if let Err(gone) = self.recheck_key().await {
                        return gone;
                    }
                    // A gap at the tail shows no later event; look.
                    self.catch_up(None).await
                },
                () = &mut expired => {
                    self.close(1008, "the API key expired").await;
                    return Gone::Away;
                },
                incoming = self.socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Gone::Away,
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
            if let Err(gone) = step {
                return gone;
            }
        }
    }
}
