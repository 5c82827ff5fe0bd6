//! Free slots and the settings that shape them.

use booking_core::availability::Slot;
use booking_core::{Availability, TenantSettings};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A free slot: the appointment's start and end (buffers not included).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotView {
    resource_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

impl From<&Slot> for SlotView {
    fn from(s: &Slot) -> Self {
        Self {
            resource_id: s.resource_id.as_uuid(),
            starts_at: s.range.start(),
            ends_at: s.range.end(),
        }
    }
}

/// A branch's free slots, by start, then by resource; times in UTC. Made
/// from the core's answer without copying it: each slot is written as a
/// [`SlotView`] straight into the response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AvailabilityView<'a> {
    branch_id: Uuid,
    /// The branch's IANA time zone: the grid is in its local time.
    time_zone: &'a str,
    #[serde(serialize_with = "slot_views")]
    #[schema(value_type = Vec<SlotView>)]
    slots: &'a [Slot],
    /// More slots start from here: ask again with `from` set to it (same
    /// `to`). `null` when this answer holds every slot of the window.
    next_from: Option<DateTime<Utc>>,
}

fn slot_views<S: serde::Serializer>(slots: &&[Slot], out: S) -> Result<S::Ok, S::Error> {
    out.collect_seq(slots.iter().map(SlotView::from))
}

impl<'a> From<&'a Availability> for AvailabilityView<'a> {
    fn from(a: &'a Availability) -> Self {
        Self {
            branch_id: a.branch.id.as_uuid(),
            time_zone: a.branch.time_zone.name(),
            slots: &a.slots,
            next_from: a.next_from,
        }
    }
}

/// A tenant's booking settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SettingsView {
    /// How long before its start a booking must be made (0 to 43200).
    min_notice_minutes: u32,
    /// How many days ahead bookings may start (1 to 3650).
    horizon_days: u32,
    /// How long a hold lasts (1 to 1440).
    hold_minutes: u32,
    /// How many unexpired holds one key may keep (1 to 10000).
    max_active_holds_per_key: u32,
}

impl From<&TenantSettings> for SettingsView {
    fn from(s: &TenantSettings) -> Self {
        Self {
            min_notice_minutes: s.min_notice_minutes(),
            horizon_days: s.horizon_days(),
            hold_minutes: s.hold_minutes(),
            max_active_holds_per_key: s.max_active_holds_per_key(),
        }
    }
}
