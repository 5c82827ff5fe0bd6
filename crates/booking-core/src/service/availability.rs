//! Availability: the free slots of a branch's resources for a service (or a
//! plain duration) in a window, by the pure rule of [`crate::availability`].

use std::collections::HashMap;

use chrono::Duration;

use crate::availability::{ResourceCalendar, SlotShape, SlotWindow, free_slots};
use crate::{
    BookingService, Branch, BranchId, Entity, Minutes, RangeLimits, ResourceId,
    ResourceNotAtBranch, ServiceId, StoreError, TenantId, TimeRange,
};

/// The widest window one question may cover.
pub const MAX_WINDOW: Duration = Duration::days(31);
/// The most resources one question may name.
pub const MAX_RESOURCES: usize = 100;

/// What to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// A service: its duration and buffers, performed by the resources it
    /// lists (any, if it lists none).
    Service(ServiceId),
    /// A plain duration, without buffers, on any resource.
    Duration(Minutes),
}

/// A question for free slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityRequest {
    /// The tenant asking.
    pub tenant_id: TenantId,
    /// The branch.
    pub branch_id: BranchId,
    /// What the slots are for.
    pub kind: SlotKind,
    /// Only these resources (all that work at the branch if empty); at most
    /// [`MAX_RESOURCES`].
    pub resources: Vec<ResourceId>,
    /// Slots starting in this window (at most [`MAX_WINDOW`]).
    pub window: TimeRange,
    /// The grid in local time (at least a minute).
    pub step: Minutes,
}

/// The free slots of a branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    /// The branch (its time zone is the grid's).
    pub branch: Branch,
    /// The slots, by start, then by resource.
    pub slots: Vec<crate::availability::Slot>,
}

/// Why free slots could not be listed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AvailabilityError {
    /// The branch, service or a named resource is not the tenant's.
    #[error("{0} not found")]
    NotFound(Entity),
    /// A named resource does not work at the branch.
    #[error(transparent)]
    ResourceNotAtBranch(#[from] ResourceNotAtBranch),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AvailabilityError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::NotFound(entity),
            other => Self::Store(other),
        }
    }
}

impl BookingService {
    /// The free slots of a branch's resources in a window: starts on the
    /// step grid in the branch's local time where the slot and its buffers
    /// fit the resource's hours and overlap nothing active of it (at any
    /// branch), no sooner than the tenant's minimum notice and no later
    /// than its horizon. Unexpired holds block like bookings.
    ///
    /// # Errors
    /// [`AvailabilityError`].
    pub async fn availability(
        &self,
        req: &AvailabilityRequest,
    ) -> Result<Availability, AvailabilityError> {
        let store = &self.0.ports.store;
        let now = self.0.ports.clock.now();
        let t = req.tenant_id;
        // The reads the answer starts from do not depend on each other: in
        // parallel (each on its own connection), then checked in order so
        // the refusal names the same record every time.
        let shape_of = async {
            match &req.kind {
                SlotKind::Service(id) => {
                    let (service, performers) =
                        futures::join!(store.service(t, *id), store.service_resources(t, *id));
                    let service = service?;
                    let duration = if service.duration.get() == 0 {
                        // A service without a usual length is booked as a
                        // slot of one grid step.
                        req.step
                    } else {
                        service.duration
                    };
                    let shape = SlotShape {
                        duration,
                        buffer_before: service.buffer_before,
                        buffer_after: service.buffer_after,
                        step: req.step,
                    };
                    Ok::<_, StoreError>((shape, performers?))
                }
                SlotKind::Duration(d) => Ok((
                    SlotShape {
                        duration: *d,
                        buffer_before: Minutes::ZERO,
                        buffer_after: Minutes::ZERO,
                        step: req.step,
                    },
                    Vec::new(),
                )),
            }
        };
        let (branch, shaped, links, settings) = futures::join!(
            store.branch(t, req.branch_id),
            shape_of,
            store.branch_resources(t, req.branch_id),
            store.settings(t)
        );
        let branch = branch?;
        let (shape, performers) = shaped?;
        let mut links = links?;
        let settings = settings?;
        if !req.resources.is_empty() {
            for r in &req.resources {
                if !links.iter().any(|l| l.resource_id == *r) {
                    store.resource(t, *r).await?;
                    return Err(ResourceNotAtBranch {
                        resource_id: *r,
                        branch_id: req.branch_id,
                    }
                    .into());
                }
            }
            links.retain(|l| req.resources.contains(&l.resource_id));
        }
        if !performers.is_empty() {
            links.retain(|l| performers.contains(&l.resource_id));
        }
        let window = SlotWindow {
            from: req.window.start(),
            to: req.window.end(),
            earliest: settings.earliest_start(now),
            latest: settings.latest_start(now),
        };
        let ids: Vec<ResourceId> = links.iter().map(|l| l.resource_id).collect();
        // What any slot may need: from the first start's buffer to the last
        // one's end and buffer.
        let reach = TimeRange::new(
            window.from - shape.buffer_before.duration(),
            window.to + shape.duration.duration() + shape.buffer_after.duration(),
            &RangeLimits::stored(),
        )
        .map_err(|e| StoreError::Internal(format!("availability window: {e}")))?;
        let occupied = if ids.is_empty() {
            Vec::new()
        } else {
            store.occupancy(t, &ids, reach, now).await?
        };
        let mut busy: HashMap<ResourceId, Vec<TimeRange>> = HashMap::with_capacity(ids.len());
        for (r, range) in occupied {
            busy.entry(r).or_default().push(range);
        }
        let calendars: Vec<ResourceCalendar<'_>> = links
            .iter()
            .map(|l| ResourceCalendar {
                resource_id: l.resource_id,
                schedule: &l.schedule,
                busy: busy.remove(&l.resource_id).unwrap_or_default(),
            })
            .collect();
        let slots = tracing::info_span!("availability.compute", resources = ids.len())
            .in_scope(|| free_slots(branch.time_zone, &shape, &window, &calendars));
        Ok(Availability { branch, slots })
    }
}
