//! Availability: the free slots of a branch's resources for a service (or a
//! plain duration) in a window, by the pure rule of [`crate::availability`].

use std::collections::HashMap;

use chrono::Duration;

use crate::availability::{ResourceCalendar, SlotShape, SlotWindow, free_slots_page};
use crate::{
    BookingService, Branch, BranchId, Entity, Minutes, RangeLimits, ResourceId,
    ResourceNotAtBranch, ServiceId, StoreError, TenantId, TimeRange,
};

/// The widest window one question may cover.
pub const MAX_WINDOW: Duration = Duration::days(31);
/// The most resources one question may name, and may count when it names
/// none (a branch with more: name the ones to look at).
pub const MAX_RESOURCES: usize = 100;
/// The finest grid (a finer one only multiplies the answer).
pub const MIN_STEP_MINUTES: u32 = 5;
/// The most slots one answer holds (about a megabyte of JSON): a window
/// with more is answered a page at a time, by time.
pub const MAX_SLOTS: usize = 10_000;

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
    /// The grid in local time (at least [`MIN_STEP_MINUTES`]).
    pub step: Minutes,
    /// The most slots in the answer (1 to [`MAX_SLOTS`]); the rest are
    /// left for a question from the answer's `next_from`.
    pub limit: usize,
}

/// The free slots of a branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    /// The branch (its time zone is the grid's).
    pub branch: Branch,
    /// The slots, by start, then by resource.
    pub slots: Vec<crate::availability::Slot>,
    /// Where the slots left out of this answer begin (ask again with this
    /// as the window's start), or `None` when it holds them all.
    pub next_from: Option<chrono::DateTime<chrono::Utc>>,
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
    /// The question is out of bounds (a grid under [`MIN_STEP_MINUTES`], a
    /// limit outside 1 to [`MAX_SLOTS`]).
    #[error(transparent)]
    Invalid(#[from] crate::InvalidInput),
    /// No resource named, and more than [`MAX_RESOURCES`] at the branch
    /// could serve.
    #[error("{count} resources at the branch could serve; name at most {max}")]
    TooManyResources {
        /// How many could.
        count: usize,
        /// The most one question counts.
        max: usize,
    },
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

impl AvailabilityRequest {
    /// Refuses a question out of bounds: a grid finer than
    /// [`MIN_STEP_MINUTES`], a limit outside 1 to [`MAX_SLOTS`], more than
    /// [`MAX_RESOURCES`] named, a window over [`MAX_WINDOW`].
    ///
    /// # Errors
    /// [`crate::InvalidInput`] naming the parameter.
    pub fn check(&self) -> Result<(), crate::InvalidInput> {
        let invalid = crate::InvalidInput::new;
        if self.step.get() < MIN_STEP_MINUTES {
            return Err(invalid(
                "step_minutes",
                format!("use {MIN_STEP_MINUTES} to 1440 minutes"),
            ));
        }
        if !(1..=MAX_SLOTS).contains(&self.limit) {
            return Err(invalid("limit", format!("use 1 to {MAX_SLOTS}")));
        }
        if self.resources.len() > MAX_RESOURCES {
            return Err(invalid(
                "resource_id",
                format!("at most {MAX_RESOURCES} resources"),
            ));
        }
        if self.window.duration() > MAX_WINDOW {
            return Err(invalid(
                "to",
                format!("at most {} days after from", MAX_WINDOW.num_days()),
            ));
        }
        Ok(())
    }
}

/// What the answer is computed from, read from the store.
struct Inputs {
    branch: Branch,
    shape: SlotShape,
    /// The resources counted, with their hours at the branch.
    links: Vec<crate::ResourceBranch>,
    settings: crate::TenantSettings,
}

impl BookingService {
    /// The free slots of a branch's resources in a window: starts on the
    /// step grid in the branch's local time where the slot and its buffers
    /// fit the resource's hours and overlap nothing active of it (at any
    /// branch), no sooner than the tenant's minimum notice and no later
    /// than its horizon. Unexpired holds block like bookings. At most
    /// `req.limit` slots: the rest start at the answer's `next_from`.
    ///
    /// # Errors
    /// [`AvailabilityError`].
    pub async fn availability(
        &self,
        req: &AvailabilityRequest,
    ) -> Result<Availability, AvailabilityError> {
        req.check()?;
        let now = self.0.ports.clock.now();
        let inputs = self.availability_inputs(req).await?;
        let window = SlotWindow {
            from: req.window.start(),
            to: req.window.end(),
            earliest: inputs.settings.earliest_start(now),
            latest: inputs.settings.latest_start(now),
        };
        let ids: Vec<ResourceId> = inputs.links.iter().map(|l| l.resource_id).collect();
        let occupied = if ids.is_empty() {
            Vec::new()
        } else {
            let reach = reach(&window, &inputs.shape)?;
            self.0
                .ports
                .store
                .occupancy(req.tenant_id, &ids, reach, now)
                .await?
        };
        let mut busy: HashMap<ResourceId, Vec<TimeRange>> = HashMap::with_capacity(ids.len());
        for (r, range) in occupied {
            busy.entry(r).or_default().push(range);
        }
        let calendars: Vec<ResourceCalendar<'_>> = inputs
            .links
            .iter()
            .map(|l| ResourceCalendar {
                resource_id: l.resource_id,
                schedule: &l.schedule,
                busy: busy.remove(&l.resource_id).unwrap_or_default(),
            })
            .collect();
        let tz = inputs.branch.time_zone;
        let page = tracing::info_span!("availability.compute", resources = ids.len())
            .in_scope(|| free_slots_page(tz, &inputs.shape, &window, &calendars, req.limit));
        Ok(Availability {
            branch: inputs.branch,
            slots: page.slots,
            next_from: page.next_from,
        })
    }

    /// Reads the branch, the slot's shape, the resources to count and the
    /// tenant's settings. The reads do not depend on each other: in
    /// parallel (each on its own connection), then checked in order so the
    /// refusal names the same record every time.
    async fn availability_inputs(
        &self,
        req: &AvailabilityRequest,
    ) -> Result<Inputs, AvailabilityError> {
        let store = &self.0.ports.store;
        let t = req.tenant_id;
        let (branch, shaped, links, settings) = futures::join!(
            store.branch(t, req.branch_id),
            self.slot_shape(req),
            store.branch_resources(t, req.branch_id),
            store.settings(t)
        );
        let (branch, (shape, performers)) = (branch?, shaped?);
        let mut links = links?;
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
        if !req.resources.is_empty() {
            links.retain(|l| req.resources.contains(&l.resource_id));
        }
        if !performers.is_empty() {
            links.retain(|l| performers.contains(&l.resource_id));
        }
        if links.len() > MAX_RESOURCES {
            return Err(AvailabilityError::TooManyResources {
                count: links.len(),
                max: MAX_RESOURCES,
            });
        }
        Ok(Inputs {
            branch,
            shape,
            links,
            settings: settings?,
        })
    }

    /// The slot's length and buffers, and the resources that perform the
    /// service (empty: any).
    async fn slot_shape(
        &self,
        req: &AvailabilityRequest,
    ) -> Result<(SlotShape, Vec<ResourceId>), StoreError> {
        let store = &self.0.ports.store;
        let plain = |duration| SlotShape {
            duration,
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::ZERO,
            step: req.step,
        };
        match &req.kind {
            SlotKind::Duration(d) => Ok((plain(*d), Vec::new())),
            SlotKind::Service(id) => {
                let t = req.tenant_id;
                let (service, performers) =
                    futures::join!(store.service(t, *id), store.service_resources(t, *id));
                let service = service?;
                // A service without a usual length is booked as a slot of
                // one grid step.
                let duration = if service.duration.get() == 0 {
                    req.step
                } else {
                    service.duration
                };
                let shape = SlotShape {
                    buffer_before: service.buffer_before,
                    buffer_after: service.buffer_after,
                    ..plain(duration)
                };
                Ok((shape, performers?))
            }
        }
    }
}

/// What any slot of the window may need: from the first start's buffer to
/// the last one's end and buffer, kept inside what the store holds (a
/// window at the edge of the accepted years still has an answer).
fn reach(window: &SlotWindow, shape: &SlotShape) -> Result<TimeRange, AvailabilityError> {
    let limits = RangeLimits::stored();
    let from = (window.from - shape.buffer_before.duration()).max(limits.earliest);
    let to =
        (window.to + shape.duration.duration() + shape.buffer_after.duration()).min(limits.latest);
    TimeRange::new(from, to, &limits)
        .map_err(|e| crate::InvalidInput::new("from", format!("the window {e}")).into())
}
