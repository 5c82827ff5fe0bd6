//! A tenant's booking settings: how soon and how far ahead it can be
//! booked, how long a hold lasts, and how many holds one key may keep.

use chrono::{DateTime, Duration, Utc};

use crate::{InvalidInput, OverrideStart, TenantId};

/// Why a start time is not bookable by the tenant's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartRefused {
    /// It has passed.
    #[error("the start {start} is in the past (now is {now})")]
    InThePast {
        /// The start asked for.
        start: DateTime<Utc>,
        /// Now.
        now: DateTime<Utc>,
    },
    /// It is sooner than the tenant's minimum notice allows.
    #[error("the start {start} is too soon: the earliest bookable start is {earliest}")]
    TooSoon {
        /// The start asked for.
        start: DateTime<Utc>,
        /// The earliest start allowed now.
        earliest: DateTime<Utc>,
    },
    /// It is beyond the tenant's booking horizon.
    #[error(
        "the start {start} is beyond the booking horizon: the latest bookable start is {latest}"
    )]
    BeyondHorizon {
        /// The start asked for.
        start: DateTime<Utc>,
        /// The latest start allowed now.
        latest: DateTime<Utc>,
    },
}

/// A tenant's booking settings, each within its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantSettings {
    tenant_id: TenantId,
    min_notice_minutes: u32,
    horizon_days: u32,
    hold_minutes: u32,
    max_active_holds_per_key: u32,
}

impl TenantSettings {
    /// Longest minimum notice: 30 days.
    pub const MAX_NOTICE_MINUTES: u32 = 30 * 24 * 60;
    /// Farthest horizon: 10 years.
    pub const MAX_HORIZON_DAYS: u32 = 3650;
    /// Longest hold: a day.
    pub const MAX_HOLD_MINUTES: u32 = 24 * 60;
    /// Most holds one key may keep at once.
    pub const MAX_HOLDS_PER_KEY: u32 = 10_000;

    /// What a new tenant gets: no minimum notice, ten years ahead, holds of 5
    /// minutes, 20 holds per key.
    #[must_use]
    pub const fn defaults(tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            min_notice_minutes: 0,
            horizon_days: 3650,
            hold_minutes: 5,
            max_active_holds_per_key: 20,
        }
    }

    /// Settings, each checked against its bounds.
    ///
    /// # Errors
    /// [`InvalidInput`] naming the first value out of bounds.
    pub fn new(
        tenant_id: TenantId,
        min_notice_minutes: u32,
        horizon_days: u32,
        hold_minutes: u32,
        max_active_holds_per_key: u32,
    ) -> Result<Self, InvalidInput> {
        let within = |field: &'static str, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(value)
            } else {
                Err(InvalidInput::new(field, format!("use {min} to {max}")))
            }
        };
        Ok(Self {
            tenant_id,
            min_notice_minutes: within(
                "min_notice_minutes",
                min_notice_minutes,
                0,
                Self::MAX_NOTICE_MINUTES,
            )?,
            horizon_days: within("horizon_days", horizon_days, 1, Self::MAX_HORIZON_DAYS)?,
            hold_minutes: within("hold_minutes", hold_minutes, 1, Self::MAX_HOLD_MINUTES)?,
            max_active_holds_per_key: within(
                "max_active_holds_per_key",
                max_active_holds_per_key,
                1,
                Self::MAX_HOLDS_PER_KEY,
            )?,
        })
    }

    /// The tenant.
    #[must_use]
    pub const fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// How long before its start a booking must at least be made, in
    /// minutes.
    #[must_use]
    pub const fn min_notice_minutes(&self) -> u32 {
        self.min_notice_minutes
    }

    /// How many days ahead bookings may start.
    #[must_use]
    pub const fn horizon_days(&self) -> u32 {
        self.horizon_days
    }

    /// How long a hold lasts, in minutes.
    #[must_use]
    pub const fn hold_minutes(&self) -> u32 {
        self.hold_minutes
    }

    /// How many unexpired holds one key may keep.
    #[must_use]
    pub const fn max_active_holds_per_key(&self) -> u32 {
        self.max_active_holds_per_key
    }

    /// [`Self::min_notice_minutes`] as a duration.
    #[must_use]
    pub fn min_notice(&self) -> Duration {
        Duration::minutes(i64::from(self.min_notice_minutes))
    }

    /// [`Self::horizon_days`] as a duration.
    #[must_use]
    pub fn horizon(&self) -> Duration {
        Duration::days(i64::from(self.horizon_days))
    }

    /// [`Self::hold_minutes`] as a duration.
    #[must_use]
    pub fn hold(&self) -> Duration {
        Duration::minutes(i64::from(self.hold_minutes))
    }

    /// The earliest start bookable at `now`: now plus the minimum notice.
    #[must_use]
    pub fn earliest_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.min_notice()
    }

    /// The latest start bookable at `now`: now plus the horizon.
    #[must_use]
    pub fn latest_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.horizon()
    }

    /// Whether a booking may start at `start`, asked at `now`: not in the
    /// past, not sooner than the minimum notice, not beyond the horizon —
    /// unless the caller may override (administrators book anything, e.g.
    /// an appointment entered after the fact).
    ///
    /// # Errors
    /// [`StartRefused`] saying which bound it breaks.
    pub fn check_start(
        &self,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
        override_start: Option<OverrideStart>,
    ) -> Result<(), StartRefused> {
        if override_start.is_some() {
            return Ok(());
        }
        if start < now {
            return Err(StartRefused::InThePast { start, now });
        }
        let earliest = self.earliest_start(now);
        if start < earliest {
            return Err(StartRefused::TooSoon { start, earliest });
        }
        let latest = self.latest_start(now);
        if start > latest {
            return Err(StartRefused::BeyondHorizon { start, latest });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_outside_their_bounds_are_refused_by_name() {
        let t = TenantId::generate();
        assert!(TenantSettings::new(t, 0, 1, 1, 1).is_ok());
        for (settings, field) in [
            (
                TenantSettings::new(t, 43_201, 30, 5, 20),
                "min_notice_minutes",
            ),
            (TenantSettings::new(t, 0, 0, 5, 20), "horizon_days"),
            (TenantSettings::new(t, 0, 30, 0, 20), "hold_minutes"),
            (TenantSettings::new(t, 0, 30, 1441, 20), "hold_minutes"),
            (
                TenantSettings::new(t, 0, 30, 5, 0),
                "max_active_holds_per_key",
            ),
        ] {
            assert_eq!(settings.unwrap_err().field, field);
        }
    }

    #[test]
    fn a_start_must_be_ahead_by_the_notice_and_within_the_horizon_unless_overridden() {
        let t = TenantId::generate();
        let s = TenantSettings::new(t, 60, 30, 5, 20).unwrap();
        let now = chrono::Utc::now();
        let at = |minutes| now + Duration::minutes(minutes);
        assert!(matches!(
            s.check_start(at(-1), now, None),
            Err(StartRefused::InThePast { .. })
        ));
        assert!(matches!(
            s.check_start(at(59), now, None),
            Err(StartRefused::TooSoon { .. })
        ));
        assert_eq!(s.check_start(at(60), now, None), Ok(()));
        assert_eq!(s.check_start(at(30 * 24 * 60), now, None), Ok(()));
        assert!(matches!(
            s.check_start(at(30 * 24 * 60 + 1), now, None),
            Err(StartRefused::BeyondHorizon { .. })
        ));
        let admin = OverrideStart::for_role(crate::Role::Admin);
        assert!(admin.is_some() && s.check_start(at(-600), now, admin).is_ok());
        assert!(OverrideStart::for_role(crate::Role::Staff).is_none());
    }

    #[test]
    fn defaults_are_within_bounds() {
        let d = TenantSettings::defaults(TenantId::generate());
        assert_eq!(
            TenantSettings::new(
                d.tenant_id(),
                d.min_notice_minutes(),
                d.horizon_days(),
                d.hold_minutes(),
                d.max_active_holds_per_key()
            ),
            Ok(d)
        );
        assert_eq!(d.hold(), Duration::minutes(5));
    }
}
