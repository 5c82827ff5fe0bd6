use crate::{
    Action, Attribution, BookingService, InvalidInput, LockKey, OutsideWorkingHours, OverrideHours,
    OverrideStart, Reservation, ReservationEventKind, ReservationId, ReservationWrite, ResourceId,
    ResourceNotAtBranch, StaleVersion, Status, TenantId, TimeRange, transition,
};

use tracing::Instrument;

use super::{
    Booked, MoveError, TransitionError, performs, publish, record_place, traced_apply, under_lock,
    within_hours,
};

/// When a hold ran out, if it is one that did (recorded as expired, or
/// still held past its time).
fn ran_out(
    r: &Reservation,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match r.status {
        Status::Expired => Some(r.updated_at),
        Status::Held if r.is_stale_hold(now) => r.hold_expires_at,
        _ => None,
    }
}

/// A request to move a reservation to a new time and/or resource. Branch
/// and products stay as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveReservation {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The reservation.
    pub id: ReservationId,
    /// The new appointment time, if it changes.
    pub range: Option<TimeRange>,
    /// The new resource, if it changes.
    pub resource_id: Option<ResourceId>,
    /// The version the caller last saw (If-Match), if it wants the check.
    pub expected_version: Option<u64>,
    /// Allow a time outside working hours (an override the caller's role
    /// allows).
    pub override_hours: Option<OverrideHours>,
    /// Allow a new start the tenant's settings refuse (administrators).
    pub override_start: Option<OverrideStart>,
    /// Who asks.
    pub by: Attribution,
}

fn check_version(current: &Reservation, expected: Option<u64>) -> Result<(), StaleVersion> {
    match expected {
        Some(v) if v != current.version => Err(StaleVersion {
            expected: v,
            actual: current.version,
        }),
        _ => Ok(()),
    }
}

impl BookingService {
    /// Moves a reservation, re-checking overlap, branch membership and
    /// working hours atomically.
    ///
    /// # Errors
    /// [`MoveError`].
    pub async fn move_reservation(&self, req: MoveReservation) -> Result<Booked, MoveError> {
        let span = tracing::info_span!(
            "booking.move",
            tenant_id = %req.tenant_id,
            reservation_id = %req.id,
            branch_id = tracing::field::Empty,
            resource_id = tracing::field::Empty,
            outcome = tracing::field::Empty,
            conflict = tracing::field::Empty,
        );
        if let Some(r) = req.resource_id {
            span.record("resource_id", tracing::field::display(r));
        }
        let result = self.move_inner(req).instrument(span.clone()).await;
        super::outcome::record(&span, super::outcome::of_move(&result));
        result
    }

    async fn move_inner(&self, req: MoveReservation) -> Result<Booked, MoveError> {
        if req.range.is_none() && req.resource_id.is_none() {
            return Err(InvalidInput::new(
                "range",
                "nothing to change: give a new time and/or a new resource",
            )
            .into());
        }
        let store = &self.0.ports.store;
        let now = self.0.ports.clock.now();
        let t = req.tenant_id;
        let current = store.reservation(t, req.id).await?;
        check_version(&current, req.expected_version)?;
        let status = transition(&current, Action::Move, now)?;

        let resource_id = req.resource_id.unwrap_or(current.resource_id);
        let range = req.range.unwrap_or(current.range);
        record_place(current.branch_id, resource_id);
        if let Some(new) = req.range {
            store
                .settings(t)
                .await?
                .check_start(new.start(), now, req.override_start)?;
        }
        let branch = store.branch(t, current.branch_id).await?;
        if resource_id != current.resource_id {
            store.resource(t, resource_id).await?;
            if let Some(service) = current.service_id {
                performs::<MoveError>(store.as_ref(), t, service, resource_id).await?;
            }
        }
        let link = store
            .resource_branch(t, resource_id, current.branch_id)
            .await?
            .ok_or(ResourceNotAtBranch {
                resource_id,
                branch_id: current.branch_id,
            })?;
        if req.override_hours.is_none() && !within_hours(&link, &branch, &range) {
            return Err(OutsideWorkingHours {
                resource_id,
                branch_id: current.branch_id,
                range,
            }
            .into());
        }

        let after = Reservation {
            resource_id,
            range,
            status,
            updated_at: now,
            ..current.clone()
        };
        let keys = LockKey::resource_time(t, resource_id, &after.occupied());
        let write = ReservationWrite {
            reservation: after,
            expected_version: Some(current.version),
            kind: ReservationEventKind::Moved,
            by: req.by,
            at: now,
            hold_quota: None,
        };
        let (applied, degraded) = under_lock(&self.0, keys, || async {
            traced_apply(&self.0, write).await.map_err(MoveError::from)
        })
        .await?;
        publish(&self.0, &applied.events).await;
        Ok(Booked {
            reservation: applied.reservation,
            events: applied.events,
            degraded,
        })
    }

    /// Turns a hold into a booking.
    ///
    /// # Errors
    /// [`TransitionError`]; an expired hold cannot be confirmed.
    pub async fn confirm(
        &self,
        tenant: TenantId,
        id: ReservationId,
        expected_version: Option<u64>,
        by: Attribution,
    ) -> Result<Booked, TransitionError> {
        self.change_status(tenant, id, expected_version, by, Action::Confirm)
            .await
    }

    /// Cancels a reservation; its slot and stock become free.
    ///
    /// # Errors
    /// [`TransitionError`]; terminal reservations cannot be cancelled.
    pub async fn cancel(
        &self,
        tenant: TenantId,
        id: ReservationId,
        expected_version: Option<u64>,
        by: Attribution,
    ) -> Result<Booked, TransitionError> {
        self.change_status(tenant, id, expected_version, by, Action::Cancel)
            .await
    }

    /// Marks a confirmed reservation as completed.
    ///
    /// # Errors
    /// [`TransitionError`]; only confirmed reservations can be completed.
    pub async fn complete(
        &self,
        tenant: TenantId,
        id: ReservationId,
        expected_version: Option<u64>,
        by: Attribution,
    ) -> Result<Booked, TransitionError> {
        self.change_status(tenant, id, expected_version, by, Action::Complete)
            .await
    }

    /// Gives an unexpired hold the tenant's `hold_minutes` more, from now
    /// (`ReservationExtended`).
    ///
    /// # Errors
    /// [`TransitionError::HoldExpired`] once it ran out;
    /// [`TransitionError::InvalidTransition`] for a reservation that is not
    /// a hold.
    pub async fn extend(
        &self,
        tenant: TenantId,
        id: ReservationId,
        expected_version: Option<u64>,
        by: Attribution,
    ) -> Result<Booked, TransitionError> {
        self.change_status(tenant, id, expected_version, by, Action::Extend)
            .await
    }

    /// Lets a hold go at once: its slot and stock are free again
    /// (`ReservationReleased`). A hold that already ran out or was let go
    /// is left as it is (`Ok(None)`).
    ///
    /// # Errors
    /// [`TransitionError::InvalidTransition`] for a booking (confirmed or
    /// completed): cancel it instead.
    pub async fn release(
        &self,
        tenant: TenantId,
        id: ReservationId,
        by: Attribution,
    ) -> Result<Option<Booked>, TransitionError> {
        match self
            .change_status(tenant, id, None, by, Action::Release)
            .await
        {
            Ok(booked) => Ok(Some(booked)),
            Err(TransitionError::HoldExpired { .. }) => Ok(None),
            Err(TransitionError::InvalidTransition(t)) if t.from == Status::Cancelled => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records the expiry of the holds whose time ran out, `page` at a
    /// time (one sweep of a fresh [`super::HoldSweeper`]; a node keeps
    /// one). Returns how many were expired.
    ///
    /// # Errors
    /// [`crate::StoreError`] if the stale holds cannot be listed.
    pub async fn expire_stale_holds(&self, page: usize) -> Result<usize, crate::StoreError> {
        let swept = super::HoldSweeper::new(self.clone(), page).sweep().await?;
        Ok(swept.expired)
    }

    /// A state change that takes nothing scarce (it frees or keeps what the
    /// reservation has), so it needs no lock: the store's version check
    /// alone serializes changes to one reservation.
    async fn change_status(
        &self,
        tenant: TenantId,
        id: ReservationId,
        expected_version: Option<u64>,
        by: Attribution,
        action: Action,
    ) -> Result<Booked, TransitionError> {
        let name = match action {
            Action::Confirm => "booking.confirm",
            Action::Cancel => "booking.cancel",
            Action::Complete => "booking.complete",
            Action::Extend => "booking.extend",
            Action::Release => "booking.release",
            Action::Move | Action::Expire => "booking.change",
        };
        let span = tracing::info_span!(
            "booking.transition",
            otel.name = name,
            tenant_id = %tenant,
            reservation_id = %id,
            branch_id = tracing::field::Empty,
            resource_id = tracing::field::Empty,
            outcome = tracing::field::Empty,
            conflict = tracing::field::Empty,
        );
        let result = self
            .change_status_inner(tenant, id, expected_version, by, action)
            .instrument(span.clone())
            .await;
        super::outcome::record(&span, super::outcome::of_transition(&result));
        result
    }

    async fn change_status_inner(
        &self,
        tenant: TenantId,
        id: ReservationId,
        expected_version: Option<u64>,
        by: Attribution,
        action: Action,
    ) -> Result<Booked, TransitionError> {
        let store = &self.0.ports.store;
        let now = self.0.ports.clock.now();
        let current = store.reservation(tenant, id).await?;
        record_place(current.branch_id, current.resource_id);
        check_version(&current, expected_version)?;
        if matches!(action, Action::Confirm | Action::Extend | Action::Release)
            && let Some(expired_at) = ran_out(&current, now)
        {
            return Err(TransitionError::HoldExpired {
                reservation: id,
                expired_at,
            });
        }
        let status = transition(&current, action, now)?;
        let kind = match action {
            Action::Confirm => ReservationEventKind::Confirmed,
            Action::Cancel => ReservationEventKind::Cancelled,
            Action::Complete => ReservationEventKind::Completed,
            Action::Expire => ReservationEventKind::Expired,
            Action::Move => ReservationEventKind::Moved,
            Action::Extend => ReservationEventKind::Extended,
            Action::Release => ReservationEventKind::Released,
        };
        let hold_expires_at = match (status, action) {
            (Status::Held, Action::Extend) => Some(now + store.settings(tenant).await?.hold()),
            (Status::Held, _) => current.hold_expires_at,
            _ => None,
        };
        let after = Reservation {
            status,
            hold_expires_at,
            updated_at: now,
            ..current.clone()
        };
        let applied = traced_apply(
            &self.0,
            ReservationWrite {
                reservation: after,
                expected_version: Some(current.version),
                kind,
                by,
                at: now,
                hold_quota: None,
            },
        )
        .await?;
        publish(&self.0, &applied.events).await;
        Ok(Booked {
            reservation: applied.reservation,
            events: applied.events,
            degraded: false,
        })
    }
}
