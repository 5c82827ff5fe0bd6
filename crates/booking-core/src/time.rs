//! Time: the half-open [`TimeRange`] every booking occupies, the limits that
//! make a range sane, and [`Minutes`] for durations and buffers.

use std::fmt;

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};

/// Instants are kept to the microsecond, the precision every store has
/// (PostgreSQL `timestamptz`, SQLite integer microseconds). Finer parts
/// would make a stored row differ from the events that describe it.
#[must_use]
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}
use serde::{Deserialize, Serialize};

/// Why a pair of instants is not an acceptable [`TimeRange`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// The end is not strictly after the start.
    #[error("the end ({end}) must be after the start ({start})")]
    EndNotAfterStart {
        /// The requested start.
        start: DateTime<Utc>,
        /// The requested end.
        end: DateTime<Utc>,
    },
    /// The range is longer than the configured maximum.
    #[error("the range lasts {actual_minutes} minutes; at most {max_minutes} minutes are allowed")]
    TooLong {
        /// The configured maximum, in minutes.
        max_minutes: i64,
        /// The requested length, in minutes.
        actual_minutes: i64,
    },
    /// An instant lies outside the window the system accepts at all.
    #[error("{instant} is outside the accepted window [{earliest}, {latest})")]
    OutOfWindow {
        /// The offending instant.
        instant: DateTime<Utc>,
        /// The earliest accepted instant.
        earliest: DateTime<Utc>,
        /// The first instant no longer accepted.
        latest: DateTime<Utc>,
    },
}

/// The bounds a [`TimeRange`] must respect. The window keeps absurd instants
/// (year 9999, the epoch) out of storage; the maximum length keeps one
/// booking from blocking a resource for months by accident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeLimits {
    /// Longest accepted range.
    pub max_duration: Duration,
    /// Earliest accepted instant (inclusive).
    pub earliest: DateTime<Utc>,
    /// Latest accepted instant (exclusive; a range may end exactly here).
    pub latest: DateTime<Utc>,
}

impl RangeLimits {
    /// The hard window every stored instant lies in: [2000-01-01, 2200-01-01).
    #[must_use]
    pub fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        // Both constants are valid dates; `single()` cannot fail for UTC.
        let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
        let latest = Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).single();
        (
            earliest.unwrap_or(DateTime::<Utc>::MIN_UTC),
            latest.unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// Limits for a booking: at most 24 hours, inside the hard window.
    #[must_use]
    pub fn bookings() -> Self {
        Self::with_max(Duration::hours(24))
    }

    /// Limits for a query window (a calendar view): at most 400 days.
    #[must_use]
    pub fn queries() -> Self {
        Self::with_max(Duration::days(400))
    }

    /// Limits for data read back from storage: only the hard window.
    #[must_use]
    pub fn stored() -> Self {
        let (earliest, latest) = Self::window();
        Self {
            max_duration: latest - earliest,
            earliest,
            latest,
        }
    }

    /// The hard window with a custom maximum length.
    #[must_use]
    pub fn with_max(max_duration: Duration) -> Self {
        let (earliest, latest) = Self::window();
        Self {
            max_duration,
            earliest,
            latest,
        }
    }
}

impl Default for RangeLimits {
    fn default() -> Self {
        Self::bookings()
    }
}

/// A half-open time range `[start, end)` in UTC, with `start < end`, inside
/// the limits it was built with. Touching ranges (`[10,11)` and `[11,12)`) do
/// not overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawRange", into = "RawRange")]
pub struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct RawRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<RawRange> for TimeRange {
    type Error = RangeError;

    fn try_from(raw: RawRange) -> Result<Self, Self::Error> {
        Self::new(raw.start, raw.end, &RangeLimits::stored())
    }
}

impl From<TimeRange> for RawRange {
    fn from(range: TimeRange) -> Self {
        Self {
            start: range.start,
            end: range.end,
        }
    }
}

impl TimeRange {
    /// Builds `[start, end)`, with both ends cut to the microsecond
    /// ([`to_micros`]).
    ///
    /// # Errors
    /// [`RangeError`] if `end <= start`, if the range is longer than
    /// `limits.max_duration`, or if either end lies outside the window.
    pub fn new(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        limits: &RangeLimits,
    ) -> Result<Self, RangeError> {
        let (start, end) = (to_micros(start), to_micros(end));
        for instant in [start, end] {
            // `end == latest` is allowed: the range is half-open.
            if instant < limits.earliest || instant > limits.latest {
                return Err(RangeError::OutOfWindow {
                    instant,
                    earliest: limits.earliest,
                    latest: limits.latest,
                });
            }
        }
        if end <= start {
            return Err(RangeError::EndNotAfterStart { start, end });
        }
        if end - start > limits.max_duration {
            return Err(RangeError::TooLong {
                max_minutes: limits.max_duration.num_minutes(),
                actual_minutes: (end - start).num_minutes(),
            });
        }
        Ok(Self { start, end })
    }

    /// The first instant inside the range.
    #[must_use]
    pub const fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the range.
    #[must_use]
    pub const fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// `end - start`, always positive.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// Whether the two ranges share at least one instant. Touching ranges do
    /// not overlap.
    #[must_use]
    pub fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `other` lies entirely inside `self`.
    #[must_use]
    pub fn contains(&self, other: &Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The range widened by `before` and `after` (service buffers). The
    /// result is used for comparisons only, so it may poke a few hours past
    /// the window without harm.
    #[must_use]
    pub fn widened(&self, before: Minutes, after: Minutes) -> Self {
        Self {
            start: self.start - before.duration(),
            end: self.end + after.duration(),
        }
    }

    /// The same range moved by `offset`, keeping its length.
    ///
    /// # Errors
    /// [`RangeError::OutOfWindow`] if the shifted range leaves the window.
    pub fn shifted(&self, offset: Duration, limits: &RangeLimits) -> Result<Self, RangeError> {
        Self::new(self.start + offset, self.end + offset, limits)
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {})",
            self.start.to_rfc3339(),
            self.end.to_rfc3339()
        )
    }
}

/// A whole number of minutes between 0 and 1440 (one day): service
/// durations and buffers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct Minutes(u16);

/// A number of minutes outside `0..=1440`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} minutes is out of range; use 0 to 1440 (one day)")]
pub struct MinutesError(pub u32);

impl Minutes {
    /// The largest value: one day.
    pub const MAX: u16 = 1440;
    /// Zero minutes.
    pub const ZERO: Self = Self(0);

    /// Builds a number of minutes.
    ///
    /// # Errors
    /// [`MinutesError`] above one day.
    pub fn new(minutes: u32) -> Result<Self, MinutesError> {
        u16::try_from(minutes)
            .ok()
            .filter(|m| *m <= Self::MAX)
            .map(Self)
            .ok_or(MinutesError(minutes))
    }

    /// The value in minutes.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// The value as a duration.
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

impl TryFrom<u32> for Minutes {
    type Error = MinutesError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Minutes> for u32 {
    fn from(value: Minutes) -> Self {
        value.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }

    fn range(a: u32, b: u32) -> TimeRange {
        TimeRange::new(at(a), at(b), &RangeLimits::bookings()).unwrap()
    }

    #[test]
    fn touching_ranges_do_not_overlap() {
        assert!(!range(10, 11).overlaps(&range(11, 12)));
        assert!(!range(11, 12).overlaps(&range(10, 11)));
    }

    #[test]
    fn ranges_sharing_an_instant_overlap() {
        assert!(range(10, 12).overlaps(&range(11, 13)));
        assert!(range(10, 13).overlaps(&range(11, 12)));
        assert!(range(11, 12).overlaps(&range(10, 13)));
        assert!(range(10, 11).overlaps(&range(10, 11)));
    }

    #[test]
    fn end_before_or_at_start_is_refused() {
        let limits = RangeLimits::bookings();
        assert!(matches!(
            TimeRange::new(at(11), at(10), &limits),
            Err(RangeError::EndNotAfterStart { .. })
        ));
        assert!(matches!(
            TimeRange::new(at(10), at(10), &limits),
            Err(RangeError::EndNotAfterStart { .. })
        ));
    }

    #[test]
    fn ranges_longer_than_the_maximum_are_refused() {
        let limits = RangeLimits::with_max(Duration::hours(2));
        assert!(TimeRange::new(at(10), at(12), &limits).is_ok());
        assert_eq!(
            TimeRange::new(at(10), at(13), &limits),
            Err(RangeError::TooLong {
                max_minutes: 120,
                actual_minutes: 180
            })
        );
    }

    #[test]
    fn instants_outside_the_window_are_refused() {
        let limits = RangeLimits::stored();
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        let old = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        assert!(matches!(
            TimeRange::new(at(10), far, &limits),
            Err(RangeError::OutOfWindow { .. })
        ));
        assert!(matches!(
            TimeRange::new(old, at(10), &limits),
            Err(RangeError::OutOfWindow { .. })
        ));
    }

    #[test]
    fn widening_by_buffers_extends_both_ends() {
        let r = range(10, 11).widened(Minutes::new(15).unwrap(), Minutes::new(30).unwrap());
        assert_eq!(r.start(), at(10) - Duration::minutes(15));
        assert_eq!(r.end(), at(11) + Duration::minutes(30));
    }

    #[test]
    fn deserializing_checks_the_order_of_the_ends() {
        let ok: TimeRange = serde_json::from_str(
            r#"{"start":"2026-03-02T10:00:00Z","end":"2026-03-02T11:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(ok, range(10, 11));
        let bad = serde_json::from_str::<TimeRange>(
            r#"{"start":"2026-03-02T11:00:00Z","end":"2026-03-02T10:00:00Z"}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn instants_are_kept_to_the_microsecond() {
        let fine = at(10) + Duration::nanoseconds(1_234_567);
        let r = TimeRange::new(fine, at(11), &RangeLimits::bookings()).unwrap();
        assert_eq!(r.start(), at(10) + Duration::microseconds(1_234));
    }

    #[test]
    fn minutes_above_one_day_are_refused() {
        assert!(Minutes::new(1440).is_ok());
        assert_eq!(Minutes::new(1441), Err(MinutesError(1441)));
    }
}
